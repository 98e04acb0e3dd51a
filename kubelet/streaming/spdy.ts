// The server side of SPDY/3.1 as Kubernetes' streaming uses it (moby/spdystream): the client
// opens streams with SYN_STREAM whose headers say what each one is; the server answers each with
// SYN_REPLY, then both sides send DATA frames and half-close with FLAG_FIN. No flow control is
// enforced by spdystream, so WINDOW_UPDATE and SETTINGS are read and ignored; PINGs are echoed.
// Header blocks are zlib streams primed with the SPDY/3 dictionary, one per direction.
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";
import { SPDY3_DICTIONARY } from "./spdy-dictionary.js";

const SYN_STREAM = 1, SYN_REPLY = 2, RST_STREAM = 3, PING = 6, GOAWAY = 7, HEADERS = 8;
const FLAG_FIN = 1;
const VERSION = 3;

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(`SPDY: ${message}`);
    this.name = "SpdyProtocolError";
  }
}

export class SpdyStreamsTimeoutError extends Error {
  constructor(readonly missing: string[]) {
    super(`timed out waiting for the client to create streams: ${missing.join(", ")}`);
    this.name = "SpdyStreamsTimeoutError";
  }
}

/** Runs zlib over one block at a time, keeping the stream's state between blocks. */
class HeaderCodec {
  private out: Buffer[] = [];
  constructor(private readonly z: Inflate | Deflate) {
    z.on("data", (d: Buffer) => this.out.push(d));
    z.on("error", () => {});
  }
  run(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(new SpdyProtocolError(`header block: ${e.message}`));
      this.z.once("error", onError);
      this.z.write(block);
      this.z.flush(constants.Z_SYNC_FLUSH, () => {
        this.z.off("error", onError);
        const b = Buffer.concat(this.out);
        this.out = [];
        resolve(b);
      });
    });
  }
  close(): void { this.z.destroy(); }
}

function decodeHeaders(b: Buffer): Record<string, string> {
  const h: Record<string, string> = {};
  let o = 0;
  const n = b.readUInt32BE(o); o += 4;
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32BE(o); o += 4;
    const k = b.subarray(o, o + kl).toString("latin1"); o += kl;
    const vl = b.readUInt32BE(o); o += 4;
    h[k.toLowerCase()] = b.subarray(o, o + vl).toString("latin1").split("\0")[0]; o += vl;
  }
  return h;
}

function encodeHeaders(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(Object.keys(h).length);
  parts.push(n);
  for (const [k, v] of Object.entries(h)) {
    for (const s of [k.toLowerCase(), v]) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(Buffer.byteLength(s));
      parts.push(len, Buffer.from(s, "latin1"));
    }
  }
  return Buffer.concat(parts);
}

function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(body.length, 4);
  h[4] = flags;
  return Buffer.concat([h, body]);
}

function dataFrame(id: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id & 0x7fffffff, 0);
  h.writeUInt32BE(data.length, 4);
  h[4] = flags;
  return Buffer.concat([h, data]);
}

/** One SPDY stream: readable is what the peer sends, writable goes to the peer. */
export class SpdyStream extends Duplex {
  constructor(readonly id: number, readonly headers: Record<string, string>, private readonly conn: SpdyServerConnection) {
    super({ allowHalfOpen: true });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    // Frames of at most 32 KiB, as spdystream writes them.
    for (let o = 0; o < chunk.length; o += 32768) this.conn.sendFrame(dataFrame(this.id, 0, chunk.subarray(o, o + 32768)));
    cb();
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.conn.sendFrame(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    cb();
  }
  /** The peer's data or FIN. */
  receive(data: Buffer, fin: boolean): void {
    if (data.length) this.push(data);
    if (fin) this.push(null);
  }
}

export interface SpdyServerConnection {
  on(event: "stream", l: (s: SpdyStream) => void): this;
  on(event: "close", l: () => void): this;
  on(event: "error", l: (e: Error) => void): this;
}

/**
 * A SPDY/3.1 server connection over any byte transport: feed it the peer's bytes with
 * `receive`; it writes through `write`. Emits "stream" for each stream the peer opens (after
 * the SYN_REPLY is queued) and "close" when the peer says GOAWAY or the transport ends.
 */
export class SpdyServerConnection extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private readonly inflate = new HeaderCodec(createInflate({ dictionary: SPDY3_DICTIONARY }));
  private readonly deflate = new HeaderCodec(createDeflate({ dictionary: SPDY3_DICTIONARY }));
  /** Incoming frames are handled one after another (header blocks inflate asynchronously). */
  private incoming: Promise<void> = Promise.resolve();
  /** Outgoing frames keep their order (a SYN_REPLY's block deflates asynchronously). */
  private outgoing: Promise<void> = Promise.resolve();
  private readonly streams = new Map<number, SpdyStream>();
  private closed = false;

  constructor(private readonly write: (b: Buffer) => void) {
    super();
  }

  receive(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.incoming = this.incoming.then(() => this.handle(frame)).catch((e) => this.fail(e as Error));
    }
  }

  sendFrame(frame: Buffer): void {
    this.outgoing = this.outgoing.then(() => { if (!this.closed) this.write(frame); });
  }

  private reply(id: number): void {
    const block = this.deflate.run(encodeHeaders({}));
    this.outgoing = this.outgoing.then(async () => {
      const body = Buffer.alloc(4);
      body.writeUInt32BE(id);
      const b = await block;
      if (!this.closed) this.write(controlFrame(SYN_REPLY, 0, Buffer.concat([body, b])));
    });
  }

  private async handle(f: Buffer): Promise<void> {
    const flags = f[4];
    const body = f.subarray(8);
    if (!(f[0] & 0x80)) {
      const s = this.streams.get(f.readUInt32BE(0) & 0x7fffffff);
      s?.receive(body, (flags & FLAG_FIN) !== 0);
      return;
    }
    const type = f.readUInt16BE(2);
    switch (type) {
      case SYN_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaders(await this.inflate.run(body.subarray(10)));
        const s = new SpdyStream(id, headers, this);
        this.streams.set(id, s);
        s.on("close", () => this.streams.delete(id));
        this.reply(id);
        if (flags & FLAG_FIN) s.receive(Buffer.alloc(0), true);
        this.emit("stream", s);
        break;
      }
      case HEADERS:
        await this.inflate.run(body.subarray(4)); // keeps the zlib stream in step; nothing to act on
        break;
      case RST_STREAM: {
        const s = this.streams.get(body.readUInt32BE(0) & 0x7fffffff);
        s?.destroy();
        break;
      }
      case PING:
        this.sendFrame(controlFrame(PING, 0, body));
        break;
      case GOAWAY:
        this.close();
        break;
      default: // SETTINGS, WINDOW_UPDATE, CREDENTIAL: nothing to do
    }
  }

  private fail(e: Error): void {
    this.emit("error", e);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.destroy();
    this.inflate.close();
    this.deflate.close();
    this.emit("close");
  }
}
