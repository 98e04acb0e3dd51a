// The receiving end of runc's console-socket protocol: a container process with
// `process.terminal` gets a pty made inside the container, and the runtime's child sends the
// master over a unix socket with SCM_RIGHTS. Node cannot receive a file descriptor, so the
// socket is Node's (paused, so Node never reads the message) and the receive is the addon's
// recvFd. Used by `keel run -t` and by the kubelet's `kubectl exec -t`.
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../native/index.js";

export class ConsoleSocketError extends Error {
  readonly code = "ECONSOLE";
  constructor(readonly path: string, message: string) {
    super(`console socket ${path}: ${message}`);
    this.name = "ConsoleSocketError";
  }
}

/** Sets a terminal's window size (TIOCSWINSZ on its master). */
export function resizeTerminal(master: number, cols: number, rows: number): void {
  native.setWinsize(master, rows, cols);
}

/** A listening unix socket that receives one terminal master. */
export class ConsoleSocket {
  private conn?: Socket;

  private constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly server: Server,
    private readonly connected: Promise<Socket>,
  ) {}

  /**
   * A new socket in a private temporary directory: a socket path must fit in 108 bytes, which
   * paths under a container's own directory (named by a 64-character id) do not.
   */
  static async open(): Promise<ConsoleSocket> {
    const dir = mkdtempSync(join(tmpdir(), "keel-console-"));
    const path = join(dir, "sock");
    // pauseOnConnect: Node must not read the connection, or the message carrying the fd is
    // consumed (and the fd dropped) before recvFd sees it.
    const server = createServer({ pauseOnConnect: true });
    const connected = new Promise<Socket>((resolve) => server.once("connection", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => resolve());
      });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw new ConsoleSocketError(path, `cannot listen: ${(e as Error).message}`);
    }
    return new ConsoleSocket(path, dir, server, connected);
  }

  /**
   * The master the container's process sent (close-on-exec; the caller owns it). The child
   * connects and sends before it execs; this waits for it, or gives up when `gone()` says the
   * process has already ended, or after `timeoutMs`.
   */
  async receive(gone: () => boolean = () => false, timeoutMs = 10_000): Promise<number> {
    const until = Date.now() + timeoutMs;
    const timedOut = () => gone() || Date.now() > until;
    while (!this.conn) {
      const c = await Promise.race([this.connected, new Promise<undefined>((r) => setTimeout(r, 20))]);
      if (c) this.conn = c;
      else if (timedOut()) throw new ConsoleSocketError(this.path, "no terminal arrived from the container's process");
    }
    const fd = (this.conn as unknown as { _handle: { fd: number } })._handle.fd;
    for (;;) {
      try {
        return native.recvFd(fd);
      } catch (e) {
        // The socket is non-blocking: EAGAIN until the child has sent.
        if ((e as { code?: string }).code !== "EAGAIN") throw new ConsoleSocketError(this.path, `recvmsg: ${(e as Error).message}`);
        if (timedOut()) throw new ConsoleSocketError(this.path, "no terminal arrived from the container's process");
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  }

  close(): void {
    this.conn?.destroy();
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
