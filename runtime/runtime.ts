// The embedding API: `new Runtime({ root })` runs OCI containers from this Node process, with no
// daemon and no runtime binary forked per container.
//
//   const rt = new Runtime();
//   const c = await rt.run("web", "/path/to/bundle", { stdio: ["ignore", "pipe", "inherit"] });
//   c.stdout!.pipe(process.stdout);
//   const { exitCode } = await rt.wait("web");
//   await rt.delete("web");
import { closeSync, openSync } from "node:fs";
import { Socket } from "node:net";
import { PassThrough, type Readable, type Writable } from "node:stream";
import { native, type CloneMode } from "../native/index.js";
import type { LinuxResources, LinuxSeccomp, Process } from "../oci/runtime-spec.js";
import { detectCgroupDriver, type CgroupDriver, type CgroupStats } from "./cgroups/index.js";
import type { LiveProcess, RuntimeContext } from "./context.js";
import { StateDir, DEFAULT_ROOT } from "./state.js";
import { compileSeccompPlan } from "./seccomp/index.js";
import { create, type CreateOptions } from "./verbs/create.js";
import { start } from "./verbs/start.js";
import { kill } from "./verbs/kill.js";
import { del } from "./verbs/delete.js";
import { state, list, type ContainerState } from "./verbs/state.js";
import { exec, type ExecProcess } from "./verbs/exec.js";
import { pause, resume, update, stats, wait, type WaitResult } from "./verbs/control.js";

export interface RuntimeOptions {
  /** State directory (default /run/keel). */
  root?: string;
  /**
   * "vm" (default: CLONE_VM on a private stack, no page tables copied, about 3x faster from a
   * Node process; see bench/container-start) or "fork" (clone3; also chosen by itself for a
   * container with a new time namespace, which needs clone3).
   */
  cloneMode?: CloneMode;
  /** Defaults to the driver detected for this machine (cgroup v2, or v1/hybrid). */
  cgroupDriver?: CgroupDriver;
  /** Compiles linux.seccomp; defaults to runtime/seccomp's compiler. */
  compileSeccomp?: (profile: LinuxSeccomp) => { filter: Buffer; flags: number };
}

/** One stdio slot: inherit ours, a pipe exposed as a stream, /dev/null, or a file descriptor. */
export type StdioSlot = "inherit" | "pipe" | "ignore" | number;

export interface StdioOptions {
  stdio?: StdioSlot | [StdioSlot, StdioSlot, StdioSlot];
}

export interface ContainerHandle {
  id: string;
  pid: number;
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
}

interface OpenedStdio {
  childFds: [number, number, number];
  /** Our ends, as streams, for the "pipe" slots. */
  streams: { stdin?: Writable; stdout?: Readable; stderr?: Readable };
  /** The child's ends, closed in this process once the child has them. */
  closeAfterSpawn: number[];
}

function openStdio(opt: StdioOptions["stdio"]): OpenedStdio {
  const slots: StdioSlot[] = Array.isArray(opt) ? opt : [opt ?? "inherit", opt ?? "inherit", opt ?? "inherit"];
  const out: OpenedStdio = { childFds: [-1, -1, -1], streams: {}, closeAfterSpawn: [] };
  slots.forEach((slot, i) => {
    if (slot === "inherit") return;
    if (typeof slot === "number") {
      out.childFds[i] = slot;
      return;
    }
    if (slot === "ignore") {
      const fd = openSync("/dev/null", i === 0 ? "r" : "w");
      out.childFds[i] = fd;
      out.closeAfterSpawn.push(fd);
      return;
    }
    const [r, w] = native.pipe();
    if (i === 0) {
      out.childFds[0] = r;
      out.closeAfterSpawn.push(r);
      out.streams.stdin = new Socket({ fd: w, readable: false, writable: true });
    } else {
      out.childFds[i] = w;
      out.closeAfterSpawn.push(w);
      // A PassThrough holds data and 'end' until the caller reads: a bare socket on an empty
      // pipe emits 'end' at EOF by itself, before a caller that awaited start() has listened.
      const stream = new Socket({ fd: r, readable: true, writable: false }).pipe(new PassThrough());
      if (i === 1) out.streams.stdout = stream;
      else out.streams.stderr = stream;
    }
  });
  return out;
}

// Most containers share one profile (the default): compile each distinct profile once.
const compiled = new Map<string, { filter: Buffer; flags: number }>();
function cachedCompileSeccomp(profile: LinuxSeccomp): { filter: Buffer; flags: number } {
  const key = JSON.stringify(profile);
  let c = compiled.get(key);
  if (!c) {
    c = compileSeccompPlan(profile);
    if (compiled.size > 64) compiled.clear();
    compiled.set(key, c);
  }
  return c;
}

export class Runtime {
  readonly root: string;
  private readonly ctx: RuntimeContext;

  constructor(opts: RuntimeOptions = {}) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.ctx = {
      state: new StateDir(this.root),
      cgroups: opts.cgroupDriver ?? detectCgroupDriver(),
      mode: opts.cloneMode ?? "vm",
      compileSeccomp: opts.compileSeccomp ?? cachedCompileSeccomp,
      live: new Map<string, LiveProcess>(),
    };
  }

  /** Sets up the container from bundle/config.json; its process waits for start(). */
  async create(id: string, bundle: string, opts: Omit<CreateOptions, "stdio"> & StdioOptions = {}): Promise<ContainerHandle> {
    const io = openStdio(opts.stdio);
    try {
      const rec = await create(this.ctx, id, bundle, { ...opts, stdio: io.childFds });
      return { id, pid: rec.pid, ...io.streams };
    } catch (e) {
      for (const s of Object.values(io.streams)) s?.destroy();
      throw e;
    } finally {
      for (const fd of io.closeAfterSpawn) closeSync(fd);
    }
  }

  start(id: string): Promise<void> {
    return start(this.ctx, id);
  }

  /** create + start. */
  async run(id: string, bundle: string, opts: Omit<CreateOptions, "stdio"> & StdioOptions = {}): Promise<ContainerHandle> {
    const handle = await this.create(id, bundle, opts);
    try {
      await this.start(id);
    } catch (e) {
      await this.delete(id, { force: true }).catch(() => {});
      throw e;
    }
    return handle;
  }

  /** The exit of the container's first process; exact for containers this Runtime created. */
  wait(id: string): Promise<WaitResult> {
    return wait(this.ctx, id);
  }

  kill(id: string, signal: string | number = "SIGTERM", opts: { all?: boolean } = {}): Promise<void> {
    return kill(this.ctx, id, signal, opts);
  }

  delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    return del(this.ctx, id, opts);
  }

  state(id: string): ContainerState {
    return state(this.ctx, id);
  }

  list(): ContainerState[] {
    return list(this.ctx);
  }

  /** Another process inside a running container. */
  async exec(id: string, proc: Process, opts: StdioOptions & { preserveFds?: number; consoleSocket?: string } = {}): Promise<ExecProcess & ContainerHandle> {
    const io = openStdio(opts.stdio);
    try {
      const p = await exec(this.ctx, id, proc, { stdio: io.childFds, preserveFds: opts.preserveFds, consoleSocket: opts.consoleSocket });
      return { ...p, id, ...io.streams };
    } catch (e) {
      for (const s of Object.values(io.streams)) s?.destroy();
      throw e;
    } finally {
      for (const fd of io.closeAfterSpawn) closeSync(fd);
    }
  }

  stats(id: string): Promise<CgroupStats> {
    return stats(this.ctx, id);
  }

  pause(id: string): Promise<void> {
    return pause(this.ctx, id);
  }

  resume(id: string): Promise<void> {
    return resume(this.ctx, id);
  }

  update(id: string, resources: LinuxResources): Promise<void> {
    return update(this.ctx, id, resources);
  }
}
