// The conversions from OCI's cgroup-v1-shaped numbers to cgroup v2 values, with runc's and
// crun's formulas so that the same spec means the same thing under keel, runc and crun.
import { CgroupError } from "../errors.js";

/**
 * cpu.shares (2..262144, default 1024) → cpu.weight (1..10000, default 100): the linear map of
 * runc's ConvertCPUSharesToCgroupV2Value and crun 1.8 (2 → 1, 262144 → 10000, 1024 → 39).
 * 0 means "not set".
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  const s = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** blkio weight (10..1000) → io.weight (1..10000): runc's ConvertBlkIOToIOWeightValue. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI quota/period (µs) → cpu.max "$QUOTA $PERIOD" (runc's ConvertCPUQuotaCPUPeriodToCgroupV2Value):
 * no quota is "max"; a period of 0 is the kernel's default 100000. undefined: nothing to write.
 */
export function cpuMaxValue(quota: number | undefined, period: number | undefined): string | undefined {
  const q = quota ?? 0;
  const p = period ?? 0;
  if (q <= 0 && p === 0) {
    // quota -1 alone means "remove the limit"; quota unset and period unset: nothing.
    return quota === -1 ? "max" : undefined;
  }
  const per = p === 0 ? 100000 : p;
  return q <= 0 ? `max ${per}` : `${q} ${per}`;
}

/** memory.max / memory.low / memory.swap.max value: -1 → "max". */
export const memoryValue = (n: number): string => (n === -1 ? "max" : String(n));

/**
 * OCI swap is a memory+swap total (v1's memsw); memory.swap.max is swap alone. runc's
 * ConvertMemorySwapToCgroupV2Value: returns the swap-only value, -1 for "max", 0 for unset.
 */
export function swapToV2(swap: number | undefined, limit: number | undefined, where: { path: string }): number {
  const s = swap ?? 0;
  const m = limit ?? 0;
  // memory unlimited and swap unset: treat as "memory and swap both unlimited" (v1 compatible).
  if (m === -1 && s === 0) return -1;
  if (s === -1 || s === 0) return s;
  const bad = (why: string) =>
    new CgroupError(`linux.resources.memory.swap: ${why}`, { path: where.path, file: "memory.swap.max", value: String(s), code: "EINVAL", errno: 22 });
  if (m === 0 || m === -1) throw bad("a swap limit needs a memory limit (OCI swap is memory+swap)");
  if (m < 0) throw bad(`invalid memory limit ${m}`);
  if (s < m) throw bad(`memory+swap ${s} is below the memory limit ${m}`);
  return s - m;
}
