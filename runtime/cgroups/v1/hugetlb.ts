// v1 hugetlb: hugetlb.<size>.limit_in_bytes, and the reservation limit beside it when the
// kernel has one (so a reserved-but-unfaulted mapping cannot exceed the limit either).
import type { LinuxHugepageLimit, LinuxResources } from "../../../oci/runtime-spec.js";
import type { HugetlbStats } from "../driver.js";
import { CgroupUnsupportedError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import { hugePageSizes } from "../shared.js";
import type { V1Controller } from "./controller.js";

export function applyHugetlb(dir: CgroupDir, limits: LinuxHugepageLimit[]): void {
  for (const l of limits) {
    const file = `hugetlb.${l.pageSize}.limit_in_bytes`;
    if (!dir.has(file))
      throw new CgroupUnsupportedError("linux.resources.hugepageLimits", `no huge page size ${JSON.stringify(l.pageSize)} here (sizes: ${hugePageSizes(dir, "limit_in_bytes").join(", ") || "none"})`, { path: dir.path, file });
    dir.write(file, l.limit);
    const rsvd = `hugetlb.${l.pageSize}.rsvd.limit_in_bytes`;
    if (dir.has(rsvd)) dir.write(rsvd, l.limit);
  }
}

export const hugetlb: V1Controller = {
  name: "hugetlb",
  field: "linux.resources.hugepageLimits",
  wants: (r: LinuxResources) => (r.hugepageLimits?.length ?? 0) > 0,
  apply: (dir, r) => applyHugetlb(dir, r.hugepageLimits ?? []),
};

export function hugetlbStatsV1(dir: CgroupDir | undefined): Record<string, HugetlbStats> {
  const out: Record<string, HugetlbStats> = {};
  if (!dir) return out;
  for (const size of hugePageSizes(dir, "usage_in_bytes")) {
    const limit = dir.readNumber(`hugetlb.${size}.limit_in_bytes`);
    out[size] = {
      current: dir.readNumber(`hugetlb.${size}.usage_in_bytes`) ?? 0,
      limit: limit === undefined || !Number.isFinite(limit) ? undefined : limit,
      failures: dir.readNumber(`hugetlb.${size}.failcnt`) ?? 0,
    };
  }
  return out;
}
