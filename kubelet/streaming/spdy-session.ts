// exec and attach over SPDY/3.1, what kubectl falls back to when a WebSocket upgrade fails (and
// what KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false asks for): the client opens one SPDY stream per
// channel, named by its "streamtype" header (error, stdin, stdout, stderr, resize); the server
// waits for the ones the request's flags promise, then runs the command as over WebSocket.
import { PassThrough, type Readable } from "node:stream";
import type { StreamFlags } from "./exec.js";
import { ERROR, STDERR, STDOUT, type StreamSession, type TerminalSize } from "./channel.js";
import { SpdyStreamsTimeoutError, type SpdyServerConnection, type SpdyStream } from "./spdy.js";

export const SPDY_CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export class SpdyExecSession implements StreamSession {
  readonly stdin: Readable;
  private closed = false;
  private size?: TerminalSize;
  private resizeListeners: ((s: TerminalSize) => void)[] = [];
  private goneListeners = new Set<() => void>();

  private constructor(private readonly spdy: SpdyServerConnection, private readonly streams: Map<string, SpdyStream>, private readonly hangUp: () => void) {
    const stdin = streams.get("stdin");
    if (stdin) this.stdin = stdin;
    else { const empty = new PassThrough(); empty.end(); this.stdin = empty; }
    for (const s of ["stdout", "stderr", "error"]) streams.get(s)?.resume(); // nothing comes from the client there
    const resize = streams.get("resize");
    if (resize) {
      // A stream of JSON objects, one per resize (Go's json.Encoder: newline after each).
      let buf = "";
      resize.on("data", (d: Buffer) => {
        buf += d.toString("utf8");
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          try {
            const s = JSON.parse(line) as { Width?: number; Height?: number };
            if (s.Width && s.Height) { this.size = { width: s.Width, height: s.Height }; for (const l of this.resizeListeners) l(this.size); }
          } catch { /* ignored, as the kubelet does */ }
        }
      });
    }
    spdy.on("close", () => { this.closed = true; for (const l of this.goneListeners) l(); });
  }

  /** Waits (up to timeoutMs) for the streams the request's flags promise. */
  static accept(spdy: SpdyServerConnection, f: StreamFlags, hangUp: () => void, timeoutMs = 30_000): Promise<SpdyExecSession> {
    const want = new Set(["error"]);
    if (f.stdin) want.add("stdin");
    if (f.stdout) want.add("stdout");
    if (f.stderr && !f.tty) want.add("stderr");
    if (f.tty) want.add("resize");
    const got = new Map<string, SpdyStream>();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new SpdyStreamsTimeoutError([...want].filter((w) => !got.has(w)))), timeoutMs);
      spdy.on("stream", (s) => {
        s.on("error", () => {});
        got.set(s.headers.streamtype ?? "", s);
        if ([...want].every((w) => got.has(w))) { clearTimeout(timer); resolve(new SpdyExecSession(spdy, got, hangUp)); }
      });
    });
  }

  get isClosed(): boolean { return this.closed; }

  onResize(l: (s: TerminalSize) => void): void {
    this.resizeListeners.push(l);
    if (this.size) l(this.size);
  }

  onGone(l: () => void): () => void {
    this.goneListeners.add(l);
    return () => this.goneListeners.delete(l);
  }

  send(stream: number, data: Buffer | string): Promise<void> {
    const s = this.streams.get(stream === STDOUT ? "stdout" : stream === STDERR ? "stderr" : stream === ERROR ? "error" : "");
    if (!s || this.closed || s.writableEnded) return Promise.resolve();
    return new Promise((resolve) => s.write(data, () => resolve()));
  }

  async finish(status: Record<string, unknown>): Promise<void> {
    if (status.status !== "Success") await this.send(ERROR, JSON.stringify(status));
    for (const s of this.streams.values()) if (!s.writableEnded) s.end();
    // The client closes the connection once it has read every stream to its end.
    const t = setTimeout(() => this.close(), 5000);
    this.onGone(() => clearTimeout(t));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.spdy.close();
    this.hangUp();
  }
}
