// v2 io: weights and throttles from OCI blockIO (runc's setIo). With the BFQ scheduler's
// io.bfq.weight present the v1-range weight is written there as is (BFQ's range is v1's);
// otherwise io.weight with the range converted. Throttles go to io.max, one device per write.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { IoDeviceStats } from "../driver.js";
import { CgroupUnsupportedError } from "../errors.js";
import { parseNestedKeyed, type CgroupDir } from "../files.js";
import { devNo } from "../shared.js";
import { blkioWeightToIoWeight } from "./convert.js";
import type { V2Controller } from "./controller.js";

const THROTTLES = [
  ["throttleReadBpsDevice", "rbps"],
  ["throttleWriteBpsDevice", "wbps"],
  ["throttleReadIOPSDevice", "riops"],
  ["throttleWriteIOPSDevice", "wiops"],
] as const;

export const io: V2Controller = {
  name: "io",
  field: "linux.resources.blockIO",
  wants: (r: LinuxResources) => {
    const b = r.blockIO;
    return !!b && (!!b.weight || (b.weightDevice?.length ?? 0) > 0 || THROTTLES.some(([f]) => (b[f]?.length ?? 0) > 0));
  },
  check: (r) => {
    if (r.blockIO?.leafWeight !== undefined || r.blockIO?.weightDevice?.some((d) => d.leafWeight !== undefined))
      throw new CgroupUnsupportedError("linux.resources.blockIO.leafWeight", "leaf weights exist only in cgroup v1 (CFQ)");
  },
  apply: (dir, r) => {
    const b = r.blockIO!;
    const bfq = dir.has("io.bfq.weight");
    if (b.weight) {
      if (bfq) dir.write("io.bfq.weight", b.weight);
      else dir.write("io.weight", blkioWeightToIoWeight(b.weight));
    }
    for (const wd of b.weightDevice ?? []) {
      if (wd.weight === undefined) continue;
      if (bfq) dir.write("io.bfq.weight", `${devNo(wd)} ${wd.weight}`);
      else dir.write("io.weight", `${devNo(wd)} ${blkioWeightToIoWeight(wd.weight)}`);
    }
    // A rate of 0 means "no limit" in OCI and v1; io.max spells that "max".
    for (const [field, key] of THROTTLES) for (const t of b[field] ?? []) dir.write("io.max", `${devNo(t)} ${key}=${t.rate === 0 ? "max" : t.rate}`);
  },
};

export function ioStatsV2(dir: CgroupDir): { devices: IoDeviceStats[] } {
  const stat = parseNestedKeyed(dir.tryRead("io.stat") ?? "");
  return {
    devices: Object.entries(stat).map(([dev, s]) => {
      const [major, minor] = dev.split(":").map(Number);
      return { major, minor, readBytes: s.rbytes ?? 0, writeBytes: s.wbytes ?? 0, readOps: s.rios ?? 0, writeOps: s.wios ?? 0 };
    }),
  };
}
