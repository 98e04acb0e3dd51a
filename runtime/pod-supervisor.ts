// A pod's supervisor (keel-supervisor in pod mode, native/supervisor/pod_main.cc) seen from
// TypeScript. One small native process per pod: TypeScript builds each container's spawn plan
// (runtime/spec-to-plan) and hands it over the supervisor's unix socket; the supervisor clones
// the container with the addon's own spawn code, so the container is its child, not ours. It
// copies the container's output to a CRI log, reaps it and writes its exit record, and carries on
// when this process exits: a later process connects to the same socket.
//
// With the runtime's create verb (`spawn` option) the state directory, exec FIFO, cgroup and
// hooks stay the runtime's own, so `keel-runc state/kill/delete` and the Runtime API see these
// containers like any other:
//
//   const sup = await PodSupervisor.launch("/run/x/supervisor.sock");
//   await runtime.create(id, bundle, { spawn: (plan) => sup.spawn(id, plan, { logFile, exitFile }) });
//   await runtime.start(id);
//   await sup.waitExec(id);
import { closeSync, createReadStream } from "node:fs";
import { connect, type Socket } from "node:net";
import { NativeError, native, nativeBinary, serializePlan, type SpawnPlan } from "../native/index.js";
import { RuntimeError } from "./errors.js";

/** The supervisor could not be started or reached, or it went away mid-request. */
export class PodSupervisorError extends RuntimeError {
  constructor(readonly socket: string, message: string, options?: { cause?: unknown }) {
    super("ESUPERVISOR", `pod supervisor ${socket}: ${message}`, options);
    this.name = "PodSupervisorError";
  }
}

export interface ContainerOutput {
  /** CRI log: "<RFC3339Nano> stdout|stderr F|P <text>" per line (appended to). */
  logFile: string;
  /** {"exitCode":N|null,"signal":S|null,"finishedAt":"..."} once the container has exited. */
  exitFile: string;
}

export interface SupervisorInfo {
  pid: number;
  containers: { id: string; pid: number; running: boolean }[];
}

interface WireError {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  step?: string;
  message?: string;
}

interface Reply {
  id: number;
  ok: boolean;
  error?: WireError;
  [k: string]: unknown;
}

/** A supervisor's error, shaped as the addon's (NativeError: code, errno, syscall, path, step). */
function nativeErrorOf(e: WireError): NativeError {
  let msg = `${e.code}, ${e.syscall}`;
  if (e.path) msg += ` '${e.path}'`;
  if (e.step) msg += ` (container set-up step ${e.step})`;
  if (e.message) msg += `: ${e.message}`;
  return new NativeError(msg, { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, step: e.step });
}

export class PodSupervisor {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  private input = "";
  private closedBy?: Error;

  /** The supervisor's pid, when this process launched it (info() tells it otherwise). */
  pid?: number;

  private constructor(readonly socketPath: string, private readonly sock: Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.onData(d));
    const fail = (e?: Error) => {
      this.closedBy ??= new PodSupervisorError(socketPath, e ? e.message : "connection closed", { cause: e });
      for (const p of this.pending.values()) p.reject(this.closedBy);
      this.pending.clear();
    };
    sock.on("error", fail);
    sock.on("close", () => fail());
    // Idle, the connection must not keep the caller's process alive.
    sock.unref();
  }

  /**
   * Starts a new supervisor serving `socketPath` (in a session of its own) and connects to it. It
   * is spawned by the addon (posix_spawn: no copy of this process's memory, which in `keel
   * cluster up` holds a whole control plane) and reaped through its pidfd when it exits.
   */
  static async launch(socketPath: string): Promise<PodSupervisor> {
    const [rd, wr] = native.pipe();
    let child: { pid: number; pidfd: number };
    try {
      child = native.spawnDaemon(nativeBinary("keel-supervisor"), ["keel-supervisor", "pod", "--socket", socketPath, "--status-fd", "3"], wr);
    } catch (e) {
      closeSync(rd);
      throw new PodSupervisorError(socketPath, `did not start: ${(e as Error).message}`, { cause: e });
    } finally {
      closeSync(wr);
    }
    // Reaped whenever it exits; the watch must not keep this process alive.
    void native.waitPidfd(child.pidfd, false).finally(() => closeSync(child.pidfd));
    // "ok PID\n" once it serves the socket; end of file if it failed (its reason on the same line).
    const status = await new Promise<string>((resolve, reject) => {
      let text = "";
      const pipe = createReadStream("", { fd: rd, encoding: "utf8" });
      pipe.on("data", (d) => (text += d));
      pipe.on("end", () => resolve(text));
      pipe.on("error", (e) => reject(new PodSupervisorError(socketPath, `did not start: ${e.message}`, { cause: e })));
    });
    if (!status.startsWith("ok ")) throw new PodSupervisorError(socketPath, `did not start: ${status.trim() || "it exited"}`);
    const sup = await PodSupervisor.connect(socketPath);
    sup.pid = Number(status.slice(3));
    return sup;
  }

  /** Connects to a running supervisor (one a previous process started). */
  static connect(socketPath: string): Promise<PodSupervisor> {
    return new Promise((resolve, reject) => {
      const sock = connect(socketPath);
      const onError = (e: Error) => reject(new PodSupervisorError(socketPath, `cannot connect: ${e.message}`, { cause: e }));
      sock.once("error", onError);
      sock.once("connect", () => {
        sock.off("error", onError);
        resolve(new PodSupervisor(socketPath, sock));
      });
    });
  }

  /** False once the connection is gone (the supervisor exited or was killed). */
  get connected(): boolean {
    return !this.closedBy && !this.sock.destroyed;
  }

  private onData(d: string): void {
    this.input += d;
    let nl: number;
    while ((nl = this.input.indexOf("\n")) >= 0) {
      const line = this.input.slice(0, nl);
      this.input = this.input.slice(nl + 1);
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        continue;
      }
      const p = this.pending.get(reply.id);
      if (!p) continue;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.sock.unref();
      if (reply.ok) p.resolve(reply);
      else p.reject(reply.error ? nativeErrorOf(reply.error) : new PodSupervisorError(this.socketPath, "request failed"));
    }
  }

  private request(op: string, fields: Record<string, unknown> = {}): Promise<Reply> {
    if (this.closedBy || this.sock.destroyed) return Promise.reject(this.closedBy ?? new PodSupervisorError(this.socketPath, "connection closed"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.ref();
      this.sock.write(JSON.stringify({ id, op, ...fields }) + "\n");
    });
  }

  /**
   * Clones a container from `plan` as the supervisor's child (its stdio: /dev/null in, output
   * to the log). Resolves with its pid once it is set up (waiting on its exec FIFO, if the plan
   * has one); rejects with a NativeError naming the failed step, as the addon's spawn does.
   */
  async spawn(id: string, plan: SpawnPlan, out: ContainerOutput): Promise<{ pid: number }> {
    const r = await this.request("create", { container: id, plan: serializePlan(plan), logFile: out.logFile, exitFile: out.exitFile });
    return { pid: r.pid as number };
  }

  /** Resolves once the container's execve has happened; rejects with the step that failed. */
  async waitExec(id: string): Promise<void> {
    await this.request("exec-wait", { container: id });
  }

  async info(): Promise<SupervisorInfo> {
    const r = await this.request("info");
    return { pid: r.pid as number, containers: r.containers as SupervisorInfo["containers"] };
  }

  /** The supervisor exits once none of its containers runs (at once if none does). */
  async shutdown(): Promise<void> {
    await this.request("shutdown").catch((e) => {
      if (!(e instanceof PodSupervisorError)) throw e;
    });
  }

  /** Closes this connection; the supervisor and its containers carry on. */
  close(): void {
    this.sock.destroy();
  }
}
