// The Kubernetes remote-command channel protocol over a WebSocket (k8s.io/apimachinery
// remotecommand + wsstream): binary messages whose first byte is the stream, 0 stdin, 1 stdout,
// 2 stderr, 3 error (a metav1.Status as JSON), 4 resize ({"Width","Height"}). v5 adds
// [255, N], which half-closes stream N: kubectl sends [255, 0] at the end of its stdin.
import { PassThrough } from "node:stream";
import type { WebSocket } from "ws";

export const CHANNEL_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;
export const STDIN = 0, STDOUT = 1, STDERR = 2, ERROR = 3, RESIZE = 4, CLOSE = 255;

export interface TerminalSize { width: number; height: number }

/** One exec/attach session, whatever carries it (WebSocket channels or SPDY streams). */
export interface StreamSession {
  /** What the client sends as stdin; ends when the client closes it. */
  readonly stdin: NodeJS.ReadableStream;
  readonly isClosed: boolean;
  onResize(l: (s: TerminalSize) => void): void;
  /** Called once when the client goes away. */
  onGone(l: () => void): () => void;
  send(stream: number, data: Buffer | string): Promise<void>;
  /** The final status, then the end of the session. */
  finish(status: Record<string, unknown>): Promise<void>;
  close(): void;
}

export class ChannelConnection implements StreamSession {
  /** What the client sends on stream 0; ends at [255, 0] (v5) or when the socket closes. */
  readonly stdin = new PassThrough();
  private resizeListeners: ((s: TerminalSize) => void)[] = [];
  private closed = false;
  private size?: TerminalSize;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary || data.length === 0) return;
      const payload = data.subarray(1);
      switch (data[0]) {
        case STDIN:
          if (!this.stdin.writableEnded && payload.length) this.stdin.write(payload);
          break;
        case RESIZE:
          try {
            const s = JSON.parse(payload.toString("utf8")) as { Width?: number; Height?: number };
            if (s.Width && s.Height) {
              this.size = { width: s.Width, height: s.Height };
              for (const l of this.resizeListeners) l(this.size);
            }
          } catch { /* a bad resize message is ignored, as the kubelet does */ }
          break;
        case CLOSE:
          if (payload[0] === STDIN) this.stdin.end();
          break;
      }
    });
    ws.on("close", () => { this.closed = true; if (!this.stdin.writableEnded) this.stdin.end(); });
    ws.on("error", () => {});
  }

  get isClosed(): boolean { return this.closed || this.ws.readyState !== this.ws.OPEN; }

  /** Calls `l` with every new size, at once with the last one if the client sent one already. */
  onResize(l: (s: TerminalSize) => void): void {
    this.resizeListeners.push(l);
    if (this.size) l(this.size);
  }

  onGone(l: () => void): () => void {
    this.ws.once("close", l);
    return () => this.ws.off("close", l);
  }

  /** Sends data on one stream; resolves when the socket took it (back-pressure for pipes). */
  send(stream: number, data: Buffer | string): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    return new Promise((resolve) => this.ws.send(Buffer.concat([Buffer.of(stream), buf]), { binary: true }, () => resolve()));
  }

  /** The final status on the error stream, then a normal close. */
  async finish(status: Record<string, unknown>): Promise<void> {
    await this.send(ERROR, JSON.stringify(status));
    this.close();
  }

  close(): void {
    if (!this.isClosed) this.ws.close(1000);
    this.closed = true;
  }
}

/** metav1.Status for how a command ended, as kubectl reads it (exit code in an ExitCode cause). */
export function exitStatus(command: string[], exitCode: number | null, signal: number | null): Record<string, unknown> {
  const code = exitCode ?? 128 + (signal ?? 0);
  if (code === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {}, status: "Failure", reason: "NonZeroExitCode",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${code}`,
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  };
}

export function failureStatus(message: string, reason = "InternalError", code = 500): Record<string, unknown> {
  return { metadata: {}, status: "Failure", message, reason, code };
}
