// create: a container's first process set up and waiting, before execve, on the exec FIFO.
// Nothing is left behind on failure: the child, the cgroup and the state directory go.
import { closeSync, readFileSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { native, NativeError, type ExitStatus, type SpawnPlan } from "../../native/index.js";
import type { LinuxDeviceCgroup, Spec } from "../../oci/runtime-spec.js";
import { SpecValidationError, validateSpec } from "../../oci/validate.js";
import { defaultCgroupPath, type RuntimeContext } from "../context.js";
import { RuntimeError } from "../errors.js";
import { runHooks } from "../hooks.js";
import { planFromSpec, type PlanCgroup } from "../spec-to-plan.js";
import { checkId, pidStartTime, type ContainerRecord } from "../state.js";
import { ociState } from "./state.js";

export interface CreateOptions {
  /** Parent fds that become the container's stdin, stdout, stderr (-1: inherit). */
  stdio?: [number, number, number];
  noPivot?: boolean;
  preserveFds?: number;
  /** Do not keep this Node process alive for the container (a CLI that exits after create). */
  detach?: boolean;
  /** runc's --console-socket: where the terminal's master goes (process.terminal). */
  consoleSocket?: string;
  /** Use this spec instead of reading bundle/config.json. */
  spec?: Spec;
  /**
   * Who clones the first process; by default this process, through the addon. A pod's
   * supervisor (runtime/pod-supervisor.ts) passes its own: the process is then the supervisor's
   * child, so there is no pidfd or exec watch here (the supervisor reports the exec).
   */
  spawn?: (plan: SpawnPlan) => Promise<{ pid: number }>;
}

const DEFAULT_DEVICE_RULES: LinuxDeviceCgroup[] = [
  ...[3, 5, 7, 8, 9].map((minor) => ({ allow: true, type: "c" as const, major: 1, minor, access: "rwm" })),
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
  { allow: true, type: "c", major: 136, minor: null, access: "rwm" },
];

export function readBundleSpec(bundle: string): Spec {
  const file = join(bundle, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new RuntimeError("EBUNDLE", `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new SpecValidationError([{ field: "(json)", reason: `${file} is not valid JSON: ${(e as Error).message}` }]);
  }
  validateSpec(spec);
  return spec;
}

// Hooks that the spec places between set-up and start. keel runs them all here, after the
// child is set up, in the runtime's namespaces (see README: hooks).
async function runCreateHooks(rec: ContainerRecord): Promise<void> {
  const state = ociState(rec, "created");
  await runHooks("prestart", rec.spec.hooks, state);
  await runHooks("createRuntime", rec.spec.hooks, state);
  await runHooks("createContainer", rec.spec.hooks, state);
}

export async function create(ctx: RuntimeContext, id: string, bundleDir: string, opts: CreateOptions = {}): Promise<ContainerRecord> {
  checkId(id);
  const bundle = resolve(bundleDir);
  const spec = opts.spec ?? readBundleSpec(bundle);
  if (opts.spec) validateSpec(spec);
  ctx.state.claim(id);
  const fifo = ctx.state.fifo(id);
  const cgroupPath = spec.linux?.cgroupsPath || defaultCgroupPath(id);
  const rec: ContainerRecord = {
    id, bundle, rootfs: resolve(bundle, spec.root!.path), pid: 0, pidStartTime: "", created: new Date().toISOString(),
    cgroupPath, cgroupVersion: ctx.cgroups.version, paused: false, started: false, spec, annotations: spec.annotations,
  };
  let pidfd = -1;
  let cgroupMade = false;
  try {
    // Recorded before anything is made, so delete --force finds it all after a crash.
    ctx.state.write(rec);
    native.mkfifo(fifo, 0o600);
    // Device rules wait until the child has made its /dev nodes (mknod is a device access the
    // rules may deny), as runc applies them; everything else applies from the first instruction.
    const { devices, ...early } = spec.linux?.resources ?? {};
    await ctx.cgroups.create(cgroupPath, early);
    cgroupMade = true;
    const cgroup: PlanCgroup = ctx.cgroups.placement(cgroupPath);
    const plan = planFromSpec(spec, { bundle, startFifo: fifo, cgroup, mode: ctx.mode, noPivot: opts.noPivot, stdio: opts.stdio, preserveFds: opts.preserveFds, consoleSocket: opts.consoleSocket, compileSeccomp: ctx.compileSeccomp });
    // Cloned by the caller's spawner (the kubelet's pod supervisor, which then owns the child)
    // or by the addon, when this process keeps it: its pidfd, exec result and exit.
    if (opts.spawn) {
      rec.pid = (await opts.spawn(plan)).pid;
    } else {
      const child = await native.spawn(plan);
      pidfd = child.pidfd;
      rec.pid = child.pid;
      if (opts.detach) native.execUnref(child.pid);
      child.exec.catch(() => {}); // observed by start
      let exit: Promise<ExitStatus> | undefined;
      ctx.live.set(id, { pid: child.pid, pidfd, exec: child.exec, get exit() { return (exit ??= native.waitPidfd(child.pidfd)); } });
    }
    rec.pidStartTime = pidStartTime(rec.pid);
    // As runc does, the default devices (and the container's own ptys) stay usable whatever
    // the spec's rules deny: /dev/null, zero, full, random, urandom, tty, ptmx, pts/*.
    if (devices?.length) await ctx.cgroups.update(cgroupPath, { devices: [...devices, ...DEFAULT_DEVICE_RULES] });
    ctx.state.write(rec);
    await runCreateHooks(rec);
    return rec;
  } catch (err) {
    const live = ctx.live.get(id);
    ctx.live.delete(id);
    if (opts.spawn && rec.pid) {
      try { process.kill(rec.pid, 9); } catch { /* gone */ }
    }
    if (pidfd >= 0) {
      try {
        native.pidfdSignal(pidfd, 9);
        await (live?.exit ?? native.waitPidfd(pidfd));
      } catch { /* already gone */ }
      closeSync(pidfd);
    }
    if (cgroupMade) await ctx.cgroups.destroy(cgroupPath).catch(() => {});
    try { unlinkSync(fifo); } catch { /* not made */ }
    ctx.state.remove(id);
    if (err instanceof NativeError) throw new RuntimeError(err.code, `create ${id}: ${err.message}`, { cause: err });
    throw err;
  }
}
