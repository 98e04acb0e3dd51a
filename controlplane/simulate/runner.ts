// The trace runner: feeds a trace's tasks to the real scheduler core on simulated nodes, with
// a virtual clock, and reports placement, utilization per resource and pending pods. It is the
// scheduler's adapter for simulation: bindings always succeed, preemption victims are deleted
// at once and come back as new pending pods (as a controller would recreate them).
import { Scheduler, type Decision } from "../scheduler/core.js";
import { compilePod, type PodInfo } from "../scheduler/pod-info.js";
import type { Profile } from "../scheduler/profile.js";
import type { NodeLike } from "../scheduler/types.js";
import { recordToPod, type TraceRecord } from "./trace.js";

export interface RunOptions {
  profile: Profile;
  nodes: readonly NodeLike[];
  /**
   * true: every task arrives at time 0 and never leaves (a cell's steady state, as cell
   * compaction uses it). false: arrivals and durations are honoured on the virtual clock.
   */
  allAtOnce?: boolean;
  /** Record per-pod scheduling latency (wall time of each attempt), for benchmarks. */
  timings?: boolean;
}

export interface PendingTask { name: string; priority: number; reason: string }

export interface RunResult {
  tasks: number;
  /** Tasks placed at least once. */
  placed: number;
  /** Tasks running at the end (placed and neither departed nor evicted). */
  running: number;
  pending: PendingTask[];
  preemptions: number;
  evictions: number;
  /** Allocated / allocatable over the cell, per resource, at the end. */
  utilization: { cpu: number; memory: number; pods: number };
  /** Nodes with at least one pod at the end. */
  nodesUsed: number;
  /** task name → node, for tasks running at the end. */
  placements: Map<string, string>;
  attempts: number;
  /** Wall time spent inside the scheduler, ms. */
  schedulingMs: number;
  /** Per-attempt wall times (ms) when timings was requested. */
  latencies?: number[];
}

export function runTrace(trace: readonly TraceRecord[], o: RunOptions): RunResult {
  let clock = 0;
  const s = new Scheduler({ profile: o.profile, now: () => clock * 1000 });
  for (const n of o.nodes) s.onNodeAdd(n);
  const byUid = new Map<string, { rec: TraceRecord; info: PodInfo }>();
  const lastReason = new Map<string, string>();
  const everPlaced = new Set<string>();
  const departures: { at: number; uid: string }[] = [];
  const latencies: number[] | undefined = o.timings ? [] : undefined;
  let preemptions = 0, evictions = 0, attempts = 0, schedulingMs = 0, generation = 0;

  const handle = (d: Decision): void => {
    if (d.kind === "bind") {
      s.bindDone(d.pod.uid, true);
      s.onPodAdd(withNode(d.pod, d.node)); // the "watch event" confirming the binding
      lastReason.delete(d.pod.uid);
      const rec = byUid.get(d.pod.uid)!.rec;
      everPlaced.add(rec.name);
      if (!o.allAtOnce && rec.duration !== undefined) insertSorted(departures, { at: clock + rec.duration, uid: d.pod.uid });
    } else if (d.kind === "preempt") {
      preemptions++;
      for (const v of d.victims) {
        evictions++;
        s.onPodDelete(v);
        // The owner recreates the evicted task as a new pending pod.
        const entry = byUid.get(v.uid)!;
        const again = compilePod({ ...entry.info.pod, metadata: { ...entry.info.pod.metadata, uid: `${v.uid}#${++generation}` } });
        byUid.delete(v.uid);
        byUid.set(again.uid, { rec: entry.rec, info: again });
        s.onPodAdd(again);
      }
      lastReason.set(d.pod.uid, `preempting on ${d.node}`);
    } else lastReason.set(d.pod.uid, d.message);
  };

  const drain = (): void => {
    for (;;) {
      const t0 = performance.now();
      const d = s.scheduleOne();
      const dt = performance.now() - t0;
      if (!d) break;
      attempts++;
      schedulingMs += dt;
      latencies?.push(dt);
      handle(d);
    }
  };

  const order = o.allAtOnce ? [...trace] : [...trace].sort((a, b) => a.arrival - b.arrival);
  let i = 0;
  for (;;) {
    // Next event: an arrival, a departure, or a backoff expiring.
    const nextArrival = i < order.length ? (o.allAtOnce ? clock : order[i]!.arrival) : Infinity;
    const nextDeparture = departures.length ? departures[0]!.at : Infinity;
    const backoff = s.queue.nextReadyIn();
    const nextBackoff = backoff === undefined ? Infinity : clock + backoff / 1000;
    const next = Math.min(nextArrival, nextDeparture, nextBackoff);
    if (next === Infinity) break;
    clock = Math.max(clock, next);
    while (departures.length && departures[0]!.at <= clock) {
      const uid = departures.shift()!.uid;
      const e = byUid.get(uid);
      if (e) { s.onPodDelete(e.info); byUid.delete(uid); }
    }
    while (i < order.length && (o.allAtOnce || order[i]!.arrival <= clock)) {
      const rec = order[i++]!;
      const info = compilePod(recordToPod(rec));
      byUid.set(info.uid, { rec, info });
      s.onPodAdd(info);
    }
    drain();
  }

  // Report.
  const placements = new Map<string, string>();
  for (const [uid, e] of byUid) { const n = s.cache.podNode(uid); if (n !== undefined) placements.set(e.rec.name, n); }
  const pending = s.queue.pending().map((p) => ({ name: byUid.get(p.uid)?.rec.name ?? p.key, priority: p.priority, reason: lastReason.get(p.uid) ?? "not yet attempted" }));
  let aCpu = 0, aMem = 0, aPods = 0, rCpu = 0, rMem = 0, rPods = 0, used = 0;
  for (const n of s.cache.list) {
    aCpu += n.allocCpu; aMem += n.allocMemory; aPods += n.allocPods;
    rCpu += n.reqCpu; rMem += n.reqMemory; rPods += n.pods.size;
    if (n.pods.size) used++;
  }
  return {
    tasks: trace.length, placed: everPlaced.size, running: placements.size, pending, preemptions, evictions,
    utilization: { cpu: aCpu ? rCpu / aCpu : 0, memory: aMem ? rMem / aMem : 0, pods: aPods ? rPods / aPods : 0 },
    nodesUsed: used, placements, attempts, schedulingMs, latencies,
  };
}

function insertSorted(xs: { at: number; uid: string }[], x: { at: number; uid: string }): void {
  let lo = 0, hi = xs.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid]!.at <= x.at) lo = mid + 1; else hi = mid; }
  xs.splice(lo, 0, x);
}

function withNode(p: PodInfo, node: string): PodInfo {
  return { ...p, nodeName: node };
}
