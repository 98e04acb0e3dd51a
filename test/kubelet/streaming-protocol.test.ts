// The streaming protocols' pieces without a kubelet: CRI log parsing, log query parameters, the
// exit status kubectl reads, and the SPDY/3.1 server connection driven by a minimal client that
// frames and compresses as moby/spdystream does.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { constants, createDeflate, createInflate } from "node:zlib";
import { exitStatus } from "../../kubelet/streaming/channel.js";
import { parseLogOptions } from "../../kubelet/streaming/logs.js";
import { CriLogParser } from "../../runtime/cri-log.js";
import { SpdyServerConnection, type SpdyStream } from "../../kubelet/streaming/spdy.js";
import { SPDY3_DICTIONARY } from "../../kubelet/streaming/spdy-dictionary.js";
import { StreamingError } from "../../kubelet/streaming/target.js";

describe("CRI log parsing", () => {
  it("joins partial lines per stream and keeps an unfinished line for the next chunk", () => {
    const p = new CriLogParser();
    const a = p.push("2026-01-01T00:00:00.1Z stdout P hel\n2026-01-01T00:00:00.2Z stderr F oops\n2026-01-01T00:00:00.3Z stdout F lo\n2026-01-01T00:00");
    assert.deepEqual(a.map((e) => [e.stream, e.text]), [["stderr", "oops"], ["stdout", "hello"]]);
    assert.equal(a[1].time, "2026-01-01T00:00:00.3Z");
    const b = p.push(":00.4Z stdout F next line\n");
    assert.deepEqual(b.map((e) => e.text), ["next line"]);
  });

  it("reads the kubelet's log parameters and refuses bad ones with a 400", () => {
    const o = parseLogOptions(new URLSearchParams("follow=true&tailLines=5&timestamps=1&sinceSeconds=10"));
    assert.deepEqual({ f: o.follow, t: o.tailLines, ts: o.timestamps, s: o.sinceSeconds, p: o.previous }, { f: true, t: 5, ts: true, s: 10, p: false });
    assert.throws(() => parseLogOptions(new URLSearchParams("tailLines=x")), (e: unknown) => e instanceof StreamingError && e.code === 400 && /tailLines/.test(e.message));
    assert.throws(() => parseLogOptions(new URLSearchParams("sinceTime=yesterday")), /sinceTime/);
  });
});

describe("exec status", () => {
  it("is Success for 0 and NonZeroExitCode with an ExitCode cause otherwise (a signal is 128+n)", () => {
    assert.deepEqual(exitStatus(["true"], 0, null), { metadata: {}, status: "Success" });
    const s = exitStatus(["sh", "-c", "exit 3"], 3, null) as { reason: string; details: { causes: { reason: string; message: string }[] } };
    assert.equal(s.reason, "NonZeroExitCode");
    assert.deepEqual(s.details.causes, [{ reason: "ExitCode", message: "3" }]);
    assert.equal((exitStatus(["sleep", "9"], null, 9) as { details: { causes: { message: string }[] } }).details.causes[0].message, "137");
  });
});

/** The client half of SPDY/3 framing, enough to drive the server. */
class TestClient {
  private deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  private inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  received: Buffer[] = [];

  private run(z: ReturnType<typeof createDeflate> | ReturnType<typeof createInflate>, b: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      const out: Buffer[] = [];
      const on = (d: Buffer) => out.push(d);
      z.on("data", on);
      z.write(b);
      z.flush(constants.Z_SYNC_FLUSH, () => { z.off("data", on); resolve(Buffer.concat(out)); });
    });
  }

  async synStream(id: number, headers: Record<string, string>, fin = false): Promise<Buffer> {
    const kv: Buffer[] = [u32(Object.keys(headers).length)];
    for (const [k, v] of Object.entries(headers)) kv.push(u32(k.length), Buffer.from(k), u32(v.length), Buffer.from(v));
    const block = await this.run(this.deflate, Buffer.concat(kv));
    return control(1, fin ? 1 : 0, Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block]));
  }

  async decodeReplyHeaders(frame: Buffer): Promise<number> {
    const raw = await this.run(this.inflate, frame.subarray(12));
    return raw.readUInt32BE(0);
  }
}

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
function control(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(body.length, 4);
  h[4] = flags;
  return Buffer.concat([h, body]);
}
function data(id: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id, 0);
  h.writeUInt32BE(payload.length, 4);
  h[4] = flags;
  return Buffer.concat([h, payload]);
}
/** Splits a byte string into frames. */
function frames(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  while (b.length >= 8) { const n = 8 + (b.readUInt32BE(4) & 0xffffff); out.push(b.subarray(0, n)); b = b.subarray(n); }
  return out;
}
const settle = () => new Promise((r) => setTimeout(r, 50));

describe("SPDY/3.1 server connection", () => {
  it("announces streams with their headers, replies, carries data both ways with FIN, echoes PING", async () => {
    const written: Buffer[] = [];
    const conn = new SpdyServerConnection((b) => written.push(b));
    const streams: SpdyStream[] = [];
    conn.on("stream", (s) => streams.push(s));
    const c = new TestClient();
    // Delivered byte by byte: the parser must reassemble frames.
    const bytes = Buffer.concat([await c.synStream(1, { streamtype: "error", port: "80", requestid: "0" }, true), await c.synStream(3, { streamtype: "data", port: "80", requestid: "0" }), data(3, 0, Buffer.from("ping?")), data(3, 1, Buffer.alloc(0)), control(6, 0, u32(1))]);
    for (const byte of bytes) conn.receive(Buffer.from([byte]));
    await settle();
    assert.deepEqual(streams.map((s) => [s.id, s.headers.streamtype, s.headers.port, s.headers.requestid]), [[1, "error", "80", "0"], [3, "data", "80", "0"]]);
    let got = "";
    streams[1].on("data", (d: Buffer) => (got += d));
    await new Promise((r) => streams[1].on("end", r));
    assert.equal(got, "ping?");
    streams[1].end("pong!");
    await settle();
    const out = frames(Buffer.concat(written));
    const replies = out.filter((f) => f[0] & 0x80 && f.readUInt16BE(2) === 2);
    assert.deepEqual(replies.map((f) => f.readUInt32BE(8)), [1, 3]);
    for (const r of replies) assert.equal(await c.decodeReplyHeaders(r), 0);
    const ping = out.find((f) => f[0] & 0x80 && f.readUInt16BE(2) === 6);
    assert.equal(ping?.readUInt32BE(8), 1);
    const dataFrames = out.filter((f) => !(f[0] & 0x80));
    assert.equal(Buffer.concat(dataFrames.map((f) => f.subarray(8))).toString(), "pong!");
    assert.equal(dataFrames.at(-1)![4] & 1, 1, "the last data frame carries FIN");
    conn.close();
  });
});
