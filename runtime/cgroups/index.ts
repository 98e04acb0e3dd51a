// keel's cgroup drivers: one CgroupDriver interface, a v1 and a v2 implementation, and the
// detection that picks one for this machine.
import { detectCgroupLayout, type DetectSources } from "./detect.js";
import type { CgroupDriver } from "./driver.js";
import { V1Driver, type V1DriverOptions } from "./v1/driver.js";
import { V2Driver, type V2DriverOptions } from "./v2/driver.js";

export type { CgroupDriver, CgroupPlacement, CgroupStats, CpuStats, MemoryStats, PidsStats, IoDeviceStats, HugetlbStats } from "./driver.js";
export { CgroupError, CgroupUnsupportedError, CgroupDelegationError, CgroupPathError } from "./errors.js";
export { detectCgroupLayout, parseProcCgroup, parseCgroupMounts, isCgroup2Root, type CgroupLayout, type V1Hierarchy, type DetectSources } from "./detect.js";
export { V1Driver, type V1DriverOptions } from "./v1/driver.js";
export { V2Driver, type V2DriverOptions } from "./v2/driver.js";
export { isDefaultDeviceRules } from "./v2/devices.js";
export { sharesToWeight, blkioWeightToIoWeight, cpuMaxValue, swapToV2 } from "./v2/convert.js";

/**
 * The driver for this machine: v2 when /sys/fs/cgroup is cgroup2, else v1 (hybrid included).
 * Relative cgroup paths go under the cgroup of this process in each hierarchy.
 */
export function detectCgroupDriver(opts: DetectSources & V1DriverOptions & V2DriverOptions = {}): CgroupDriver {
  const layout = detectCgroupLayout(opts);
  if (layout.version === 2) return new V2Driver(layout.unified!.mountpoint, layout.unified!.ownDir, opts);
  return new V1Driver(layout.hierarchies, { unifiedMountpoint: layout.unified?.mountpoint, ...opts });
}
export { FakeCgroupDriver, type FakeCgroupCall } from "./fake.js";
