// v1 cpu: shares, CFS quota/period/burst, realtime runtime/period, idle.
import type { LinuxCPU, LinuxResources } from "../../../oci/runtime-spec.js";
import { CgroupError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import type { V1Controller } from "./controller.js";

const set = (n: number | undefined | null): n is number => n !== undefined && n !== null && n !== 0;

export function applyCpu(dir: CgroupDir, c: LinuxCPU): void {
  if (set(c.shares)) {
    dir.write("cpu.shares", c.shares);
    // The kernel clamps shares to [2, 262144] silently; say so instead of running with another value.
    const got = dir.readNumber("cpu.shares");
    if (got !== undefined && got !== c.shares)
      throw new CgroupError(`linux.resources.cpu.shares: ${c.shares} is outside what the kernel allows (it set ${got}; range 2..262144)`, {
        path: dir.path,
        file: "cpu.shares",
        value: String(c.shares),
        code: "EINVAL",
        errno: 22,
      });
  }

  // A shorter period can be refused (EINVAL) while the old quota/new period would exceed the
  // parent's bandwidth; then write the quota first and the period again (runc's order).
  let periodPending = false;
  if (set(c.period)) {
    try {
      dir.write("cpu.cfs_period_us", c.period);
    } catch (err) {
      if ((err as CgroupError).code !== "EINVAL" || !set(c.quota)) throw err;
      periodPending = true;
    }
  }
  if (set(c.quota)) {
    dir.write("cpu.cfs_quota_us", c.quota);
    if (periodPending) dir.write("cpu.cfs_period_us", c.period!);
  }
  if (c.burst !== undefined && c.burst !== null) dir.write("cpu.cfs_burst_us", c.burst);

  // Realtime: the period first, so the runtime fits in it.
  if (set(c.realtimePeriod)) dir.write("cpu.rt_period_us", c.realtimePeriod);
  if (set(c.realtimeRuntime)) dir.write("cpu.rt_runtime_us", c.realtimeRuntime);
  if (c.idle !== undefined && c.idle !== null) dir.write("cpu.idle", c.idle);
}

export const cpu: V1Controller = {
  name: "cpu",
  field: "linux.resources.cpu",
  wants: (r: LinuxResources) => {
    const c = r.cpu;
    return !!c && [c.shares, c.quota, c.period, c.burst, c.realtimePeriod, c.realtimeRuntime, c.idle].some((v) => v !== undefined && v !== null);
  },
  apply: (dir, r) => r.cpu && applyCpu(dir, r.cpu),
};
