// v2 cpu: cpu.weight (from OCI shares), cpu.max (quota/period), cpu.max.burst, cpu.idle.
// Realtime runtime/period has no v2 file (the kernel's rt group scheduling is v1 only).
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { CpuStats } from "../driver.js";
import { CgroupUnsupportedError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import { cpuMaxValue, sharesToWeight } from "./convert.js";
import type { V2Controller } from "./controller.js";

const given = (n: number | undefined | null): n is number => n !== undefined && n !== null;

export const cpu: V2Controller = {
  name: "cpu",
  field: "linux.resources.cpu",
  wants: (r: LinuxResources) => {
    const c = r.cpu;
    return !!c && ((given(c.shares) && c.shares !== 0) || cpuMaxValue(c.quota, c.period) !== undefined || given(c.burst) || given(c.idle));
  },
  check: (r) => {
    if ((r.cpu?.realtimeRuntime ?? 0) !== 0 || (r.cpu?.realtimePeriod ?? 0) !== 0)
      throw new CgroupUnsupportedError("linux.resources.cpu.realtimeRuntime", "realtime CPU scheduling limits exist only in cgroup v1");
  },
  apply: (dir, r) => {
    const c = r.cpu!;
    if (given(c.shares) && c.shares !== 0) dir.write("cpu.weight", sharesToWeight(c.shares));
    const max = cpuMaxValue(c.quota, c.period);
    if (max !== undefined) dir.write("cpu.max", max);
    if (given(c.burst)) dir.write("cpu.max.burst", c.burst);
    if (given(c.idle)) dir.write("cpu.idle", c.idle);
  },
};

export function cpuStatsV2(dir: CgroupDir): CpuStats {
  const st = dir.readFlat("cpu.stat");
  return {
    usageNs: (st.usage_usec ?? 0) * 1000,
    userNs: (st.user_usec ?? 0) * 1000,
    systemNs: (st.system_usec ?? 0) * 1000,
    periods: st.nr_periods ?? 0,
    throttledPeriods: st.nr_throttled ?? 0,
    throttledNs: (st.throttled_usec ?? 0) * 1000,
  };
}
