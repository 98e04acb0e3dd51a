// kill: a signal to the container's first process, or with `all` to every process in its cgroup.
import { constants } from "node:os";
import { native } from "../../native/index.js";
import type { RuntimeContext } from "../context.js";
import { InvalidStateError, RuntimeError } from "../errors.js";
import { statusOf } from "./state.js";

export function signalNumber(signal: string | number): number {
  if (typeof signal === "number") return signal;
  const s = signal.toUpperCase();
  if (/^\d+$/.test(s)) return Number(s);
  const name = (s.startsWith("SIG") ? s : `SIG${s}`) as keyof typeof constants.signals;
  const n = constants.signals[name];
  if (n === undefined) throw new RuntimeError("EINVAL", `unknown signal '${signal}'`);
  return n;
}

export async function kill(ctx: RuntimeContext, id: string, signal: string | number = "SIGTERM", opts: { all?: boolean } = {}): Promise<void> {
  const rec = ctx.state.read(id);
  const status = statusOf(ctx, rec);
  const sig = signalNumber(signal);
  if (opts.all) {
    if (status === "creating") throw new InvalidStateError(id, status, "kill");
    await ctx.cgroups.killAll(rec.cgroupPath, sig);
    return;
  }
  if (status === "stopped" || status === "creating") throw new InvalidStateError(id, status, "kill");
  const live = ctx.live.get(id);
  try {
    // Our own child: its pidfd cannot name a process that reused the pid.
    if (live) native.pidfdSignal(live.pidfd, sig);
    else process.kill(rec.pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}
