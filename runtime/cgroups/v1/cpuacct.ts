// v1 cpuacct has nothing to set; it is where CPU usage is read (with cpu.stat for throttling).
import type { CpuStats } from "../driver.js";
import type { CgroupDir } from "../files.js";

/** USER_HZ: the unit of cpuacct.stat, 100 on every Linux ABI keel runs on. */
const NS_PER_TICK = 1e9 / 100;

export function cpuStatsV1(cpuacct: CgroupDir | undefined, cpu: CgroupDir | undefined): CpuStats {
  const out: CpuStats = { usageNs: 0, userNs: 0, systemNs: 0, periods: 0, throttledPeriods: 0, throttledNs: 0 };
  if (cpuacct) {
    out.usageNs = cpuacct.readNumber("cpuacct.usage") ?? 0;
    const user = cpuacct.readNumber("cpuacct.usage_user");
    const sys = cpuacct.readNumber("cpuacct.usage_sys");
    if (user !== undefined && sys !== undefined) {
      out.userNs = user;
      out.systemNs = sys;
    } else {
      const st = cpuacct.readFlat("cpuacct.stat");
      out.userNs = (st.user ?? 0) * NS_PER_TICK;
      out.systemNs = (st.system ?? 0) * NS_PER_TICK;
    }
  }
  if (cpu) {
    const st = cpu.readFlat("cpu.stat");
    out.periods = st.nr_periods ?? 0;
    out.throttledPeriods = st.nr_throttled ?? 0;
    out.throttledNs = st.throttled_time ?? 0;
  }
  return out;
}
