// pause, resume, update, stats, wait: verbs that act on a container's cgroup or first process.
import { closeSync } from "node:fs";
import { native, type ExitStatus } from "../../native/index.js";
import type { LinuxResources } from "../../oci/runtime-spec.js";
import type { CgroupStats } from "../cgroups/index.js";
import type { RuntimeContext } from "../context.js";
import { InvalidStateError } from "../errors.js";
import { statusOf } from "./state.js";

export async function pause(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = ctx.state.read(id);
  const status = statusOf(ctx, rec);
  if (status !== "running" && status !== "created") throw new InvalidStateError(id, status, "pause");
  await ctx.cgroups.freeze(rec.cgroupPath);
  rec.paused = true;
  ctx.state.write(rec);
}

export async function resume(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = ctx.state.read(id);
  const status = statusOf(ctx, rec);
  if (status !== "paused") throw new InvalidStateError(id, status, "resume");
  await ctx.cgroups.thaw(rec.cgroupPath);
  rec.paused = false;
  ctx.state.write(rec);
}

export async function update(ctx: RuntimeContext, id: string, resources: LinuxResources): Promise<void> {
  const rec = ctx.state.read(id);
  const status = statusOf(ctx, rec);
  if (status === "stopped") throw new InvalidStateError(id, status, "update");
  await ctx.cgroups.update(rec.cgroupPath, resources);
  rec.spec.linux = { ...rec.spec.linux, resources: { ...rec.spec.linux?.resources, ...resources } };
  ctx.state.write(rec);
}

export async function stats(ctx: RuntimeContext, id: string): Promise<CgroupStats> {
  const rec = ctx.state.read(id);
  return ctx.cgroups.stats(rec.cgroupPath);
}

export interface WaitResult extends ExitStatus {
  /** The kernel's OOM killer killed a process of this container. */
  oomKilled: boolean;
}

/**
 * The exit of a container's first process. Exact for containers this process created; for
 * others (created by another process) the exit is observed but its status is unknown (null).
 */
export async function wait(ctx: RuntimeContext, id: string): Promise<WaitResult> {
  const rec = ctx.state.read(id);
  const live = ctx.live.get(id);
  let status: ExitStatus;
  if (live) status = await live.exit;
  else if (statusOf(ctx, rec) === "stopped") status = { exitCode: null, signal: null };
  else {
    const fd = native.pidfdOpen(rec.pid);
    try {
      status = await native.waitPidfd(fd);
    } finally {
      closeSync(fd);
    }
  }
  const oomKilled = await ctx.cgroups.oomKilled(rec.cgroupPath).catch(() => false);
  return { ...status, oomKilled };
}
