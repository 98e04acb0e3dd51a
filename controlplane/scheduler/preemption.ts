// Preemption: for a pod that fits nowhere, find one node where evicting pods of strictly
// lower priority makes it fit, evicting as little as possible. As in Borg ("kills lower-
// priority tasks, from lowest to highest priority") and kube-scheduler: on each candidate node
// remove every lower-priority pod, check the pod fits, then give back ("reprieve") victims
// from the highest priority down while it still fits. Among candidate nodes prefer the lowest
// highest-victim priority, then the fewest victims, then the lowest sum of priorities.
import type { SchedulingAlgorithm } from "./algorithm.js";
import { RESOLVABLE_BY_EVICTION } from "./filters.js";
import { needsInterPod } from "./inter-pod.js";
import type { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";

export interface Preemption {
  node: string;
  victims: PodInfo[];
}

export function findPreemption(alg: SchedulingAlgorithm, p: PodInfo): Preemption | null {
  if (!p.preemptionAllowed || !alg.profile.preemption) return null;
  const inter = (alg.profile.filters.includes("InterPodAffinity") || alg.profile.filters.includes("PodTopologySpread")) && needsInterPod(p, alg.cache);
  let best: { node: NodeInfo; victims: PodInfo[]; maxPrio: number; sum: number } | null = null;
  for (const n of alg.cache.list) {
    const v = alg.localVerdict(p, n);
    if (v !== 0 && !RESOLVABLE_BY_EVICTION.has(alg.localReason(p, n, v).filter)) continue;
    const lower = [...n.pods.values()].filter((q) => q.priority < p.priority);
    if (lower.length === 0) continue;
    const sim = n.clone();
    for (const q of lower) sim.removePod(q);
    const fits = () => {
      if (alg.localVerdict(p, sim) !== 0) return false;
      if (!inter) return true;
      const gone = new Set(lower.filter((q) => !sim.pods.has(q.uid)).map((q) => q.uid));
      const st = alg.interPodState(p, gone);
      return st === null || alg.interFilter(st, n) === null;
    };
    if (!fits()) continue;
    // Reprieve from the highest priority down (ties: the most recently listed last).
    lower.sort((a, b) => b.priority - a.priority);
    const victims: PodInfo[] = [];
    for (const q of lower) {
      sim.addPod(q);
      if (!fits()) { sim.removePod(q); victims.push(q); }
    }
    const maxPrio = Math.max(...victims.map((q) => q.priority));
    const sum = victims.reduce((a, q) => a + q.priority, 0);
    if (!best || maxPrio < best.maxPrio || (maxPrio === best.maxPrio && (victims.length < best.victims.length || (victims.length === best.victims.length && sum < best.sum)))) {
      best = { node: n, victims, maxPrio, sum };
    }
  }
  return best ? { node: best.node.name, victims: best.victims } : null;
}
