// v2 hugetlb: hugetlb.<size>.max, and hugetlb.<size>.rsvd.max beside it when present.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { HugetlbStats } from "../driver.js";
import { CgroupUnsupportedError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import { hugePageSizes } from "../shared.js";
import type { V2Controller } from "./controller.js";

export const hugetlb: V2Controller = {
  name: "hugetlb",
  field: "linux.resources.hugepageLimits",
  wants: (r: LinuxResources) => (r.hugepageLimits?.length ?? 0) > 0,
  apply: (dir, r) => {
    for (const l of r.hugepageLimits ?? []) {
      const file = `hugetlb.${l.pageSize}.max`;
      if (!dir.has(file))
        throw new CgroupUnsupportedError("linux.resources.hugepageLimits", `no huge page size ${JSON.stringify(l.pageSize)} here (sizes: ${hugePageSizes(dir, "max").join(", ") || "none"})`, { path: dir.path, file });
      dir.write(file, l.limit);
      const rsvd = `hugetlb.${l.pageSize}.rsvd.max`;
      if (dir.has(rsvd)) dir.write(rsvd, l.limit);
    }
  },
};

export function hugetlbStatsV2(dir: CgroupDir): Record<string, HugetlbStats> {
  const out: Record<string, HugetlbStats> = {};
  for (const size of hugePageSizes(dir, "current")) {
    const limit = dir.readNumber(`hugetlb.${size}.max`);
    out[size] = {
      current: dir.readNumber(`hugetlb.${size}.current`) ?? 0,
      limit: limit === undefined || !Number.isFinite(limit) ? undefined : limit,
      failures: dir.readFlat(`hugetlb.${size}.events`).max ?? 0,
    };
  }
  return out;
}
