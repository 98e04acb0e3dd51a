// Borg's cell compaction (EuroSys 2015, §5.1) on generated Borg-like traces: the fewest
// machines on which every task fits, found by binary search over machines removed at random,
// repeated over 11 seeds, 90th percentile reported. Profiles compared: keel's default,
// least-allocated (kube-scheduler's default spreading), most-allocated (best fit), the
// stranding-aware hybrid, and the lower bound. Plus Borg's two what-ifs: prod and non-prod in
// separate cells, and requests rounded up to power-of-two buckets.
import { builtinProfile } from "../controlplane/scheduler/profile.js";
import { compactCell, type CompactionResult } from "../controlplane/simulate/compaction.js";
import { generateCell, generateTrace, machinesFor, PRIORITY_PROD } from "../controlplane/simulate/generator.js";
import type { TraceRecord } from "../controlplane/simulate/trace.js";
import { writeReport, type Row } from "./lib/report.js";

const GI = 2 ** 30;

/** Borg's bucketing what-if: round up to the next power of two, from 0.5 core and 1 GiB. */
function bucketed(trace: readonly TraceRecord[]): TraceRecord[] {
  const up = (x: number, min: number) => { let b = min; while (b < x) b *= 2; return b; };
  return trace.map((r) => ({ ...r, cpu: up(Number(r.cpu), 0.5), memory: up(Number(r.memory), GI) }));
}

export async function main({ quick, argv }: { quick: boolean; argv: string[] }): Promise<void> {
  const tasksArg = argv.find((a) => a.startsWith("--tasks="));
  const tasks = tasksArg ? Number(tasksArg.slice(8)) : quick ? 1500 : 6000;
  const seeds = 11;
  const trace = generateTrace({ tasks, seed: 42 });
  // A cell with room to spare (the workload fills 70 % of it); compaction then shrinks it.
  const machines = machinesFor(trace, 0.7);
  const nodes = generateCell({ machines, seed: 42 });
  const t0 = performance.now();
  const results: Record<string, CompactionResult> = {};
  for (const name of ["default", "least-allocated", "most-allocated", "hybrid"]) {
    const t = performance.now();
    results[name] = compactCell(trace, { profile: builtinProfile(name), nodes, seeds });
    console.error(`packing: ${name}: p90 ${results[name]!.p90} machines (lower bound ${results[name]!.lowerBoundP90}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const def = results.default!;
  const lb = def.lowerBoundP90;
  const rows: Row[] = [];
  for (const [name, r] of Object.entries(results)) {
    const perSeedOver = r.perSeed.reduce((a, m, i) => a + m / r.lowerBoundPerSeed[i]! - 1, 0) / r.perSeed.length;
    rows.push({ subject: name, machines_p90: r.p90, vs_lower_bound: r.p90 / lb - 1, mean_over_seed_bound: perSeedOver, per_seed: r.perSeed.join(" "), runs: r.runs });
  }
  rows.push({ subject: "lower bound", machines_p90: lb, vs_lower_bound: 0, mean_over_seed_bound: 0, per_seed: def.lowerBoundPerSeed.join(" "), runs: 0 });

  // What-if 1: prod and non-prod in separate cells (each compacted on its own).
  const prod = trace.filter((r) => r.priority >= PRIORITY_PROD), rest = trace.filter((r) => r.priority < PRIORITY_PROD);
  const cp = compactCell(prod, { profile: builtinProfile("default"), nodes, seeds });
  const cr = compactCell(rest, { profile: builtinProfile("default"), nodes, seeds });
  const segregated = cp.p90 + cr.p90;
  rows.push({ subject: "what-if: prod and non-prod in separate cells (default)", machines_p90: segregated, vs_lower_bound: segregated / lb - 1, mean_over_seed_bound: null, per_seed: `prod ${cp.p90} + non-prod ${cr.p90}`, runs: cp.runs + cr.runs });
  // What-if 2: requests rounded up to power-of-two buckets.
  const bnodes = generateCell({ machines: Math.ceil(machines * 2.5), seed: 42 });
  const cb = compactCell(bucketed(trace), { profile: builtinProfile("default"), nodes: bnodes, seeds });
  rows.push({ subject: "what-if: requests in power-of-two buckets (default)", machines_p90: cb.p90, vs_lower_bound: cb.p90 / lb - 1, mean_over_seed_bound: null, per_seed: cb.perSeed.join(" "), runs: cb.runs });

  const least = results["least-allocated"]!.p90;
  const ratios: Record<string, number> = {
    "default / lower bound": def.p90 / lb,
    "default / least-allocated": def.p90 / least,
    "hybrid / most-allocated": results.hybrid!.p90 / results["most-allocated"]!.p90,
    "segregated / combined": segregated / def.p90,
    "bucketed / exact": cb.p90 / def.p90,
  };
  const notes = [
    `Targets: default within 2 % of the lower bound (measured ${((def.p90 / lb - 1) * 100).toFixed(1)} %), and at least 15 % fewer machines than least-allocated (measured ${((1 - def.p90 / least) * 100).toFixed(1)} % fewer; least-allocated needs ${((least / def.p90 - 1) * 100).toFixed(1)} % more than default).`,
    `The second target is bounded by the first: on this workload even the lower bound is only ${((1 - lb / least) * 100).toFixed(1)} % fewer machines than least-allocated, so no profile can be 15 % fewer unless least-allocated packed worse than it does.`,
    "keel's default is the hybrid weighing stranding against the cell's resource mix (controlplane/scheduler/scores.ts): a node is kept on the line where its cpu and memory fractions follow the cell's, so the cell's scarcer resource fills everywhere before the other strands it. The node-shape hybrid it replaced needed 2.8 % over the bound here.",
    "Borg's figures for comparison: segregating prod and non-prod costs 20-30 % more machines; power-of-two buckets cost 30-50 % more resources; the hybrid packs 3-5 % better than best fit.",
    "mean_over_seed_bound: the mean over seeds of (machines needed / that seed's own lower bound) - 1; p90s of different seeds need not come from the same seed.",
    "Segregation here costs only fragmentation: the simulation has no usage-based reclamation (Borg's non-prod tasks run in resources prod reserved but does not use), which is where most of Borg's 20-30 % comes from.",
    "Lower bound: with machines in the same random order as each compaction run, the fewest whose summed capacity covers the summed requests in cpu and memory.",
    `Workload: ${tasks} generated Borg-like tasks (seed 42) on a cell of ${machines} machines of the 2011 trace's shapes; all tasks present at once.`,
  ];
  const out = writeReport({
    name: "packing", title: "Cell compaction (Borg method, 11 seeds, p90)",
    params: { tasks, seeds, cellMachines: machines, quick, seconds: Math.round((performance.now() - t0) / 1000) },
    rows, ratios, chart: { figure: "machines_p90", unit: "machines" }, notes,
  });
  console.log(rows.map((r) => `${r.subject}: ${r.machines_p90}`).join("\n"));
  console.log(Object.entries(ratios).map(([k, v]) => `${k}: ${v.toFixed(3)}`).join("\n"));
  console.log(`wrote ${out.md}`);
}
