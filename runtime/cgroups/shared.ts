// Values and files that are the same in cgroup v1 and v2.
import type { LinuxResources } from "../../oci/runtime-spec.js";
import type { PidsStats } from "./driver.js";
import type { CgroupDir } from "./files.js";

/** pids.max: OCI's 0 or -1 means unlimited. */
export const pidsMaxValue = (limit: number): string => (limit > 0 ? String(limit) : "max");

/** pids.current and pids.max read the same in v1 and v2. */
export function pidsStats(dir: CgroupDir | undefined): PidsStats {
  if (!dir) return { current: 0, failures: 0 };
  const limit = dir.readNumber("pids.max");
  return {
    current: dir.readNumber("pids.current") ?? 0,
    limit: limit === undefined || !Number.isFinite(limit) ? undefined : limit,
    failures: dir.readFlat("pids.events").max ?? 0,
  };
}

/** rdma.max lines: "mlx5_0 hca_handle=2 hca_object=2000" (the same format in v1 and v2). */
export function rdmaMaxLines(rdma: NonNullable<LinuxResources["rdma"]>): string[] {
  const out: string[] = [];
  for (const [device, l] of Object.entries(rdma)) {
    const parts = [device];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
    if (parts.length > 1) out.push(parts.join(" "));
  }
  return out;
}

/** "major:minor" as cgroup files spell a block device. */
export const devNo = (d: { major: number; minor: number }): string => `${d.major}:${d.minor}`;

/** Huge page sizes the kernel offers, from the hugetlb files present in a cgroup ("2MB", "1GB"). */
export function hugePageSizes(dir: CgroupDir, suffix: string): string[] {
  const re = new RegExp(`^hugetlb\\.([0-9]+[KMG]B)\\.${suffix.replace(/\./g, "\\.")}$`);
  return dir.list().flatMap((f) => re.exec(f)?.[1] ?? []);
}
