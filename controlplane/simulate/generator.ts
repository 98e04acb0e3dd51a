// Borg-like workload traces and cells, reproducible from a seed. The distributions follow what
// the public Google cluster-trace analyses and the Borg papers document; the exact numbers are
// our approximations, named here so they can be argued with:
//  - machine shapes: the 2011 trace's normalized (cpu, memory) platforms (Reiss et al., SoCC
//    2012, table 1): 0.5/0.5 on 53 % of machines, 0.5/0.25 on 31 %, 0.5/0.75 on 8 %, 1/1 on 6 %,
//    0.25/0.25 on 2 %; with 1.0 = 64 cores / 256 GiB;
//  - jobs of many identical tasks, tasks per job heavy-tailed (Pareto, most jobs small, a few
//    with hundreds of tasks);
//  - requests heavy-tailed: log-normal cpu per task (median 0.5 core batch, 1 core prod, capped
//    at 8 cores), and a log-normal memory-per-core ratio (median 4 GiB/core, capped at 32 GiB a
//    task), so some tasks are cpu-heavy and some memory-heavy, which is what makes stranding matter;
//  - priorities: prod (1000) about a quarter of jobs but the larger tasks (the Borg paper: prod
//    holds ~70 % of allocated cpu), batch (100), and a best-effort "free" tier (0);
//  - Poisson arrivals; batch tasks run minutes to hours (log-normal), prod runs indefinitely.
import { seededRng, type Rng } from "../scheduler/random.js";
import { simNodes, type MachineShape } from "./nodes.js";
import type { TraceRecord } from "./trace.js";
import type { NodeLike } from "../scheduler/types.js";

const GI = 2 ** 30, MI = 2 ** 20;

/**
 * The largest task: a quarter of the common 32-core / 128 GiB machine. Borg tasks are small
 * next to their machines (the trace's requests are mostly under a few percent of a machine);
 * without a cap the log-normal tail makes a few jobs of machine-sized tasks that turn packing
 * into a different problem.
 */
export const MAX_TASK_CPU = 8;
export const MAX_TASK_MEMORY = 32 * GI;

export const PRIORITY_PROD = 1000;
export const PRIORITY_BATCH = 100;
export const PRIORITY_FREE = 0;

export const BORG_SHAPES: ReadonlyArray<{ weight: number; shape: MachineShape }> = [
  { weight: 53, shape: { cpu: 32, memory: 128 * GI } },
  { weight: 31, shape: { cpu: 32, memory: 64 * GI } },
  { weight: 8, shape: { cpu: 32, memory: 192 * GI } },
  { weight: 6, shape: { cpu: 64, memory: 256 * GI } },
  { weight: 2, shape: { cpu: 16, memory: 64 * GI } },
];

function normal(rng: Rng): number {
  // Box–Muller; 1 - rng() avoids log(0).
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}
function logNormal(rng: Rng, median: number, sigma: number): number { return median * Math.exp(sigma * normal(rng)); }
function pareto(rng: Rng, min: number, alpha: number): number { return min / Math.pow(1 - rng(), 1 / alpha); }
function clamp(x: number, lo: number, hi: number): number { return Math.min(hi, Math.max(lo, x)); }

export interface TraceOptions {
  tasks: number;
  seed: number;
  /** Mean task arrivals per second (Borg cells: over 10,000 per minute). */
  arrivalsPerSecond?: number;
  /** Fraction of jobs that carry a placement constraint (a node selector on a machine label). */
  constrainedFraction?: number;
}

export function generateTrace(o: TraceOptions): TraceRecord[] {
  const rng = seededRng(o.seed);
  const rate = o.arrivalsPerSecond ?? 200;
  const constrained = o.constrainedFraction ?? 0;
  const out: TraceRecord[] = [];
  let t = 0, job = 0;
  while (out.length < o.tasks) {
    const u = rng();
    const tier = u < 0.25 ? "prod" : u < 0.9 ? "batch" : "free";
    const priority = tier === "prod" ? PRIORITY_PROD : tier === "batch" ? PRIORITY_BATCH : PRIORITY_FREE;
    const tasks = Math.min(o.tasks - out.length, Math.floor(clamp(pareto(rng, 1, 1.1), 1, 400)));
    const cpu = Math.ceil(clamp(logNormal(rng, tier === "prod" ? 1 : 0.5, 1.0), 0.05, MAX_TASK_CPU) * 100) / 100; // cores, 10m steps
    const perCore = clamp(logNormal(rng, 4 * GI, 0.6), 512 * MI, 16 * GI);
    const memory = Math.ceil(clamp(cpu * perCore, 64 * MI, MAX_TASK_MEMORY) / MI) * MI;
    const duration = tier === "prod" ? undefined : Math.round(clamp(logNormal(rng, 600, 1.5), 10, 86_400));
    const constraints = rng() < constrained ? { nodeSelector: { "keel.dev/platform": rng() < 0.5 ? "a" : "b" } } : undefined;
    const owner = `job${job++}`;
    for (let i = 0; i < tasks; i++) {
      t += -Math.log(1 - rng()) / rate;
      out.push({ arrival: Math.round(t * 1000) / 1000, name: `${owner}-${i}`, priority, cpu, memory, owner, duration, constraints });
    }
  }
  return out;
}

export interface CellOptions {
  machines: number;
  seed: number;
  zones?: number;
  /** Label half the machines keel.dev/platform=a and half =b (for constrained traces). */
  platforms?: boolean;
}

/** A cell of machines drawn from the Borg-like shapes. */
export function generateCell(o: CellOptions): NodeLike[] {
  const rng = seededRng(o.seed ^ 0x5eed);
  const total = BORG_SHAPES.reduce((a, s) => a + s.weight, 0);
  const groups = [];
  for (let i = 0; i < o.machines; i++) {
    let x = rng() * total, s = BORG_SHAPES[0]!;
    for (const c of BORG_SHAPES) { if ((x -= c.weight) < 0) { s = c; break; } }
    const labels = o.platforms ? { "keel.dev/platform": rng() < 0.5 ? "a" : "b" } : undefined;
    groups.push({ count: 1, shape: { ...s.shape, labels } });
  }
  return simNodes(groups, { zones: o.zones ?? 3 });
}

/** Mean machine of the Borg-like shapes, to size a cell for a trace. */
export function meanShape(): { cpu: number; memory: number } {
  const total = BORG_SHAPES.reduce((a, s) => a + s.weight, 0);
  return {
    cpu: BORG_SHAPES.reduce((a, s) => a + s.weight * s.shape.cpu, 0) / total,
    memory: BORG_SHAPES.reduce((a, s) => a + s.weight * s.shape.memory, 0) / total,
  };
}

/** How many Borg-like machines hold the trace's requests at the given fill (0..1). */
export function machinesFor(trace: readonly TraceRecord[], fill = 0.75): number {
  let cpu = 0, mem = 0;
  for (const r of trace) { cpu += typeof r.cpu === "number" ? r.cpu : 0; mem += typeof r.memory === "number" ? r.memory : 0; }
  const m = meanShape();
  return Math.max(1, Math.ceil(Math.max(cpu / m.cpu, mem / m.memory) / fill));
}
