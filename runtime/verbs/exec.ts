// exec: another process in a running container: its namespaces, its cgroup, its root.
import { closeSync, existsSync, readlinkSync } from "node:fs";
import { native, CLONE, type ExitStatus } from "../../native/index.js";
import type { Process } from "../../oci/runtime-spec.js";
import type { RuntimeContext } from "../context.js";
import { InvalidStateError, RuntimeError } from "../errors.js";
import { processPlan } from "../spec-to-plan.js";
import { statusOf } from "./state.js";

export interface ExecOptions {
  stdio?: [number, number, number];
  consoleSocket?: string;
  preserveFds?: number;
}

export interface ExecProcess {
  pid: number;
  /** Exit status of the exec'd process (we are its parent). */
  wait(): Promise<ExitStatus>;
}

const NAMESPACE_FILES: [string, number][] = [
  ["user", CLONE.NEWUSER], ["ipc", CLONE.NEWIPC], ["uts", CLONE.NEWUTS], ["net", CLONE.NEWNET],
  ["cgroup", CLONE.NEWCGROUP], ["mnt", CLONE.NEWNS], ["time", CLONE.NEWTIME],
];

export async function exec(ctx: RuntimeContext, id: string, proc: Process, opts: ExecOptions = {}): Promise<ExecProcess> {
  const rec = ctx.state.read(id);
  const status = statusOf(ctx, rec);
  if (status !== "running") throw new InvalidStateError(id, status, "exec into");
  const pid = rec.pid;
  // Join only the namespaces that differ from ours: setns into our own user namespace fails.
  const joinNamespaces: { type: number; path: string }[] = [];
  for (const [name, type] of NAMESPACE_FILES) {
    const path = `/proc/${pid}/ns/${name}`;
    if (!existsSync(path)) continue;
    if (readlinkSync(path) !== readlinkSync(`/proc/self/ns/${name}`)) joinNamespaces.push({ type, path });
  }
  const pidNs = `/proc/${pid}/ns/pid`;
  const procsFiles = await ctx.cgroups.procsFiles(rec.cgroupPath);
  let child;
  try {
    child = await native.spawn({
      mode: ctx.mode,
      cloneFlags: 0,
      joinNamespaces,
      pidNsPath: readlinkSync(pidNs) !== readlinkSync("/proc/self/ns/pid") ? pidNs : undefined,
      cgroupProcs: procsFiles,
      stdio: opts.stdio ?? [-1, -1, -1],
      preserveFds: opts.preserveFds ?? 0,
      setsid: true,
      ...processPlan(proc, rec.spec, { bundle: rec.bundle, compileSeccomp: ctx.compileSeccomp, consoleSocket: opts.consoleSocket }),
    });
  } catch (e) {
    throw new RuntimeError((e as { code?: string }).code ?? "EEXEC", `exec in ${id}: ${(e as Error).message}`, { cause: e });
  }
  const pidfd = child.pidfd;
  let exit: Promise<ExitStatus> | undefined;
  return {
    pid: child.pid,
    wait: () => (exit ??= native.waitPidfd(pidfd).finally(() => closeSync(pidfd))),
  };
}
