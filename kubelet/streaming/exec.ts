// exec and attach over a stream session (WebSocket channels, or SPDY streams). exec runs the
// command in the container through the runtime (its namespaces, cgroup and process settings, as
// exec probes do) with stdin, stdout and stderr on channels 0-2 and the exit status on channel 3;
// with tty, on a pty made in the container instead, resized from channel 4. attach follows the
// container's own output from its CRI log (the supervisor owns the main process's stdio, so
// there is no stdin to attach to).
import { readFileSync, statSync, write } from "node:fs";
import { Writable } from "node:stream";
import { ReadStream } from "node:tty";
import { join } from "node:path";
import type { Process, Spec } from "../../oci/runtime-spec.js";
import type { KubeletCore } from "../kubelet.js";
import { restartCount } from "../pod-state.js";
import { exitStatus, failureStatus, STDERR, STDOUT, type StreamSession } from "./channel.js";
import { ConsoleSocket, resizeTerminal } from "../../runtime/console-socket.js";
import { CriLogParser, readCriLogFrom } from "../../runtime/cri-log.js";
import { runningContainer, StreamingError } from "./target.js";

export interface StreamFlags { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }

const on = (q: URLSearchParams, name: string) => q.get(name) === "true" || q.get(name) === "1";

export function streamFlags(q: URLSearchParams): StreamFlags {
  return { stdin: on(q, "stdin"), stdout: on(q, "stdout"), stderr: on(q, "stderr"), tty: on(q, "tty") };
}

function statusOf(e: unknown): Record<string, unknown> {
  if (e instanceof StreamingError) return failureStatus(e.message, e.reason, e.code);
  return failureStatus((e as Error).message);
}

/** Sends a stream's data on a channel, waiting for the socket before reading more. */
function forward(src: NodeJS.ReadableStream | undefined, conn: StreamSession, channel: number): Promise<void> {
  if (!src) return Promise.resolve();
  return new Promise((resolve) => {
    src.on("data", (d: Buffer) => {
      src.pause();
      void conn.send(channel, d).then(() => src.resume());
    });
    src.on("end", resolve);
    src.on("error", () => resolve());
  });
}

export async function runExec(core: KubeletCore, ns: string, pod: string, container: string, command: string[], f: StreamFlags, conn: StreamSession): Promise<void> {
  let p;
  try {
    if (command.length === 0) throw new StreamingError(400, "BadRequest", "you must specify at least one command for the container");
    const t = runningContainer(core, ns, pod, container);
    const spec = JSON.parse(readFileSync(join(t.bundle, "config.json"), "utf8")) as Spec;
    const proc: Process = { ...spec.process!, args: command, terminal: false };
    if (f.tty) return await runInTerminal(core, t.runtimeId, proc, command, f, conn);
    p = await core.runtime.exec(t.runtimeId, proc, { stdio: [f.stdin ? "pipe" : "ignore", f.stdout ? "pipe" : "ignore", f.stderr ? "pipe" : "ignore"] });
  } catch (e) {
    await conn.finish(statusOf(e));
    return;
  }
  if (p.stdin) {
    conn.stdin.pipe(p.stdin);
    p.stdin.on("error", () => {});
  }
  // The client went away: the command gets SIGHUP, as a session whose terminal hung up.
  const pid = p.pid;
  const hangup = () => { try { process.kill(pid, "SIGHUP"); } catch { /* already gone */ } };
  const unwatch = conn.onGone(hangup);
  const outputs = Promise.all([forward(p.stdout, conn, STDOUT), forward(p.stderr, conn, STDERR)]);
  const st = await p.wait();
  await outputs;
  unwatch();
  await conn.finish(exitStatus(command, st.exitCode, st.signal));
}

/** Writes all of buf to a non-blocking fd, waiting out EAGAIN. */
function writeAll(fd: number, buf: Buffer, cb: (e?: Error | null) => void): void {
  write(fd, buf, (err, n) => {
    if ((err as NodeJS.ErrnoException | null)?.code === "EAGAIN") return void setTimeout(() => writeAll(fd, buf, cb), 10);
    if (err) return cb(err);
    if (n < buf.length) return writeAll(fd, buf.subarray(n), cb);
    cb();
  });
}

/**
 * exec -t: the process gets a pty made in the container (controlling terminal, its devpts), the
 * master comes back over a console socket; the terminal's output is stdout, resizes apply to it.
 */
async function runInTerminal(core: KubeletCore, runtimeId: string, base: Process, command: string[], f: StreamFlags, conn: StreamSession): Promise<void> {
  const env = base.env ?? [];
  const proc: Process = { ...base, terminal: true, env: env.some((e) => e.startsWith("TERM=")) ? env : [...env, "TERM=xterm"] };
  const cs = await ConsoleSocket.open();
  let master: number;
  let wait: Promise<{ exitCode: number | null; signal: number | null }>;
  try {
    const p = await core.runtime.exec(runtimeId, proc, { stdio: ["ignore", "ignore", "ignore"], consoleSocket: cs.path });
    let exited = false;
    wait = p.wait().then((st) => { exited = true; return st; });
    master = await cs.receive(() => exited);
  } finally {
    cs.close();
  }
  // Node's sockets refuse a tty fd: read it as a tty stream, write it with fs.write.
  const term = new ReadStream(master);
  const input = new Writable({ write: (chunk: Buffer, _e, cb) => writeAll(master, chunk, cb) });
  // Reading a master whose slave has closed fails with EIO: that is the terminal's end.
  const output = new Promise<void>((resolve) => { term.on("close", () => resolve()); term.on("error", () => resolve()); term.on("end", () => resolve()); });
  term.on("data", (d: Buffer) => { if (f.stdout) { term.pause(); void conn.send(STDOUT, d).then(() => term.resume()); } });
  conn.onResize((s) => {
    try {
      resizeTerminal(master, s.width, s.height);
    } catch { /* the terminal is gone */ }
  });
  // stdin's end is not the terminal's: a shell leaves when it reads ^D or exits.
  if (f.stdin) conn.stdin.pipe(input, { end: false });
  const unwatch = conn.onGone(() => term.destroy());
  const st = await wait;
  // What the process wrote last is still in the pty; background processes may hold it open.
  await Promise.race([output, new Promise((r) => setTimeout(r, 1000))]);
  unwatch();
  conn.stdin.unpipe(input);
  term.destroy();
  await conn.finish(exitStatus(command, st.exitCode, st.signal));
}

/** Follows the container's output from now on, until it stops or the client goes. */
export async function runAttach(core: KubeletCore, ns: string, pod: string, container: string, f: StreamFlags, conn: StreamSession): Promise<void> {
  let file: string, restart: number, uid: string;
  try {
    if (f.stdin) throw new StreamingError(400, "BadRequest", `container ${container} in pod ${pod} has no stdin to attach to: keel's supervisor owns the main process's stdio (use exec)`);
    const t = runningContainer(core, ns, pod, container);
    restart = restartCount(t.record);
    uid = t.worker.uid;
    file = core.paths.containerLog(t.worker.pod, container, restart);
  } catch (e) {
    await conn.finish(statusOf(e));
    return;
  }
  let offset = 0;
  try { offset = statSync(file).size; } catch { /* not written yet */ }
  const parser = new CriLogParser();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (conn.isClosed) { clearInterval(timer); resolve(); return; }
      const got = readCriLogFrom(file, offset);
      offset = got.offset;
      for (const e of parser.push(got.text)) {
        const ch = e.stream === "stderr" && !f.tty ? STDERR : STDOUT;
        if ((ch === STDOUT && f.stdout) || (ch === STDERR && f.stderr)) void conn.send(ch, e.text + "\n");
      }
      const live = core.workers.get(uid)?.record.containers[container];
      if (!live || live.state !== "running" || restartCount(live) !== restart) { clearInterval(timer); resolve(); }
    }, 100);
  });
  await conn.finish({ metadata: {}, status: "Success" });
}
