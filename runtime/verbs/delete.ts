import { closeSync } from "node:fs";
// delete: remove everything a container made (its processes with --force, its cgroup, its
// state directory), also for a create that crashed halfway.
import { defaultCgroupPath, type RuntimeContext } from "../context.js";
import { InvalidStateError } from "../errors.js";
import { runHooks } from "../hooks.js";
import { checkId, processAlive, type ContainerRecord } from "../state.js";
import { ociState, statusOf } from "./state.js";

async function waitGone(rec: ContainerRecord, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (processAlive(rec)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

export async function del(ctx: RuntimeContext, id: string, opts: { force?: boolean } = {}): Promise<void> {
  checkId(id);
  let rec: ContainerRecord;
  try {
    rec = ctx.state.read(id);
  } catch (e) {
    if (!ctx.state.exists(id)) throw e;
    // State directory without a readable state file: a create that died before writing it.
    await ctx.cgroups.destroy(defaultCgroupPath(id)).catch(() => {});
    ctx.state.remove(id);
    return;
  }
  const status = statusOf(ctx, rec);
  if ((status === "running" || status === "paused") && !opts.force) throw new InvalidStateError(id, status, "delete (use force)");
  if (status !== "stopped") {
    // A created container is deleted without force, as runc does: its waiting process is killed.
    if (status === "paused") await ctx.cgroups.thaw(rec.cgroupPath).catch(() => {});
    await ctx.cgroups.killAll(rec.cgroupPath, 9).catch(() => {});
    try {
      if (rec.pid) process.kill(rec.pid, 9);
    } catch { /* gone */ }
  }
  const live = ctx.live.get(id);
  if (live) {
    await live.exit.catch(() => {});
    closeSync(live.pidfd);
  }
  await waitGone(rec, 5000);
  // Other processes of the container (exec'd ones) may take a moment to leave the cgroup.
  await ctx.cgroups.destroy(rec.cgroupPath);
  ctx.live.delete(id);
  ctx.state.remove(id);
  try {
    await runHooks("poststop", rec.spec.hooks, ociState(rec, "stopped"));
  } catch (e) {
    process.emitWarning(`container ${id}: ${(e as Error).message}`);
  }
}
