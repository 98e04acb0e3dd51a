// Cell compaction, the Borg paper's way of comparing packing policies (Verma et al., EuroSys
// 2015, section 5.1): given a workload, find the fewest machines on which it all fits, by
// removing machines at random and binary-searching the cell size; repeat over 11 seeds and
// report the 90th percentile. The lower bound uses the same random machine order: the fewest
// machines whose summed capacity covers the summed requests in every resource.
import { percentile } from "./stats.js";
import { seededRng, shuffle } from "../scheduler/random.js";
import type { Profile } from "../scheduler/profile.js";
import type { NodeLike } from "../scheduler/types.js";
import { capacityOf } from "./nodes.js";
import { runTrace } from "./runner.js";
import { recordToPod, type TraceRecord } from "./trace.js";
import { compilePod } from "../scheduler/pod-info.js";

export interface CompactionOptions {
  profile: Profile;
  nodes: readonly NodeLike[];
  seeds?: number;
  /** Seed of the first repetition; repetition k uses firstSeed + k. */
  firstSeed?: number;
}

export interface CompactionResult {
  /** Machines needed per seed (Infinity when the workload does not fit even the whole cell). */
  perSeed: number[];
  lowerBoundPerSeed: number[];
  p90: number;
  lowerBoundP90: number;
  /** Scheduling runs performed (each places the whole trace). */
  runs: number;
}

/** Σ requests of a trace, cpu in millicores and memory in bytes. */
export function traceDemand(trace: readonly TraceRecord[]): { cpu: number; memory: number } {
  let cpu = 0, memory = 0;
  for (const r of trace) { const p = compilePod(recordToPod(r)); cpu += p.cpu; memory += p.memory; }
  return { cpu, memory };
}

/** The fewest machines, taken in this order, whose capacity covers the demand in every resource. */
export function lowerBound(order: readonly NodeLike[], demand: { cpu: number; memory: number }): number {
  let cpu = 0, memory = 0;
  for (let k = 0; k < order.length; k++) {
    const c = capacityOf(order[k]!);
    cpu += c.cpu; memory += c.memory;
    if (cpu >= demand.cpu && memory >= demand.memory) return k + 1;
  }
  return Infinity;
}

export function compactCell(trace: readonly TraceRecord[], o: CompactionOptions): CompactionResult {
  const seeds = o.seeds ?? 11, first = o.firstSeed ?? 1;
  const demand = traceDemand(trace);
  const perSeed: number[] = [], lbs: number[] = [];
  let runs = 0;
  for (let k = 0; k < seeds; k++) {
    const seed = first + k;
    const order = shuffle([...o.nodes], seededRng(seed * 7919 + 17));
    const profile: Profile = { ...o.profile, seed };
    const fits = (m: number): boolean => {
      runs++;
      return runTrace(trace, { profile, nodes: order.slice(0, m), allAtOnce: true }).pending.length === 0;
    };
    const lb = lowerBound(order, demand);
    lbs.push(lb);
    if (lb === Infinity || !fits(order.length)) { perSeed.push(Infinity); continue; }
    // Smallest m in [lb, n] that fits, assuming fitting is monotone in m (it nearly is).
    let lo = lb, hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fits(mid)) hi = mid; else lo = mid + 1;
    }
    perSeed.push(lo);
  }
  return { perSeed, lowerBoundPerSeed: lbs, p90: percentile(perSeed, 90), lowerBoundP90: percentile(lbs, 90), runs };
}
