// `keel run -t`: the container's own terminal, shown on the user's. The container's pty master
// arrives over a console socket (runtime/console-socket.ts); keel copies the user's keystrokes
// to it in raw mode (with -i) and its output to stdout, and keeps its window size in step with
// the user's terminal.
import { ReadStream } from "node:tty";
import { ConsoleSocket, resizeTerminal } from "../../runtime/console-socket.js";

export interface TerminalSize {
  rows: number;
  cols: number;
}

/** The user's terminal size, or the usual 24x80 when stdout is not a terminal. */
export function userTerminalSize(): TerminalSize {
  return process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : { rows: 24, cols: 80 };
}

export class ConsoleRelay {
  private restoreRaw = false;

  private constructor(private readonly socket: ConsoleSocket) {}

  static async listen(): Promise<ConsoleRelay> {
    return new ConsoleRelay(await ConsoleSocket.open());
  }

  /** Where the runtime sends the master (runc's --console-socket). */
  get path(): string {
    return this.socket.path;
  }

  /** Receives the master and relays until the container's side of the terminal is closed. */
  async relay(opts: { stdin: boolean; size: TerminalSize }): Promise<void> {
    const masterFd = await this.socket.receive();
    resizeTerminal(masterFd, opts.size.cols, opts.size.rows);
    const master = new ReadStream(masterFd);
    const onResize = () => {
      try {
        resizeTerminal(masterFd, process.stdout.columns, process.stdout.rows);
      } catch { /* the terminal is gone */ }
    };
    if (process.stdout.isTTY) process.stdout.on("resize", onResize);
    const input = (d: Buffer) => master.write(d);
    if (opts.stdin) {
      if (process.stdin.isTTY) {
        process.stdin.setRawMode(true);
        this.restoreRaw = true;
      }
      process.stdin.on("data", input);
      process.stdin.resume();
    }
    try {
      await new Promise<void>((resolve) => {
        master.on("data", (d: Buffer) => process.stdout.write(d));
        // EIO on read is how a pty master says every holder of the slave has closed it.
        master.once("error", () => resolve());
        master.once("end", () => resolve());
        master.once("close", () => resolve());
      });
    } finally {
      process.stdout.off("resize", onResize);
      if (opts.stdin) {
        process.stdin.off("data", input);
        process.stdin.pause();
      }
      master.destroy(); // closes the master
    }
  }

  close(): void {
    if (this.restoreRaw) process.stdin.setRawMode(false);
    this.restoreRaw = false;
    this.socket.close();
  }
}
