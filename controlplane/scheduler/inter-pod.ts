// Filters and scores that depend on pods on *other* nodes: required pod affinity and
// anti-affinity (the incoming pod's terms and existing pods' anti-affinity against it),
// topology spread constraints (topology-spread.ts) and preferred pod affinity. Like
// kube-scheduler's PreFilter/PreScore, the cluster-wide counts are computed once per scheduling
// attempt; the per-node check is then a map look-up. These results are never cached across
// pods, because any placement anywhere in the domain can change them.
import type { SchedulerCache } from "./cache.js";
import type { NodeInfo } from "./node-info.js";
import type { AffinityTerm, PodInfo } from "./pod-info.js";
import { countHardSpread, type SpreadCounts, type SpreadScoring } from "./topology-spread.js";

interface TermCounts { term: AffinityTerm; counts: Map<string, number> }

export interface InterPodState {
  affinity: TermCounts[];
  /** No pod anywhere matches the affinity terms, but the pod matches them itself: the first of its group. */
  affinityBootstrap: boolean;
  anti: TermCounts[];
  existingAnti: Map<string, Set<string>>;
  hardSpread: SpreadCounts[];
  /** Soft spreading (the pod's ScheduleAnyway constraints or the profile's defaults), scored in the algorithm's second pass. */
  spreadScoring: SpreadScoring | null;
  preferred: TermCounts[];
  preferredAnti: TermCounts[];
  preferredNorm: number;
}

function termMatches(t: AffinityTerm, target: PodInfo): boolean {
  return (t.namespaces === null || t.namespaces.has(target.namespace)) && t.matches(target.labels);
}

function countTerms(terms: readonly AffinityTerm[], cache: SchedulerCache, skip?: ReadonlySet<string>): TermCounts[] {
  const out = terms.map((term) => ({ term, counts: new Map<string, number>() }));
  if (out.length === 0) return out;
  for (const { info, node } of cache.allPods()) {
    if (skip?.has(info.uid)) continue;
    for (const tc of out) {
      const v = node.labels[tc.term.topologyKey];
      if (v !== undefined && termMatches(tc.term, info)) tc.counts.set(v, (tc.counts.get(v) ?? 0) + 1);
    }
  }
  return out;
}

/** Whether this pod needs the inter-pod pass at all on this cluster. */
export function needsInterPod(p: PodInfo, cache: SchedulerCache): boolean {
  return p.interPod || cache.antiAffinityPods.size > 0;
}

/** `skip`: pods to treat as already gone (preemption victims). */
export function prepareInterPod(p: PodInfo, cache: SchedulerCache, skip?: ReadonlySet<string>, spreadScoring: SpreadScoring | null = null): InterPodState {
  const existingAnti = new Map<string, Set<string>>();
  for (const { info, node } of cache.antiAffinityPods.values()) {
    if (info.uid === p.uid || skip?.has(info.uid)) continue;
    for (const t of info.antiAffinity) {
      const v = node.labels[t.topologyKey];
      if (v === undefined || !termMatches(t, p)) continue;
      let s = existingAnti.get(t.topologyKey);
      if (!s) existingAnti.set(t.topologyKey, (s = new Set()));
      s.add(v);
    }
  }
  const affinity = countTerms(p.affinity, cache, skip);
  const affinityBootstrap = affinity.length > 0 && affinity.every((a) => a.counts.size === 0) && p.affinity.every((t) => termMatches(t, p));
  const preferred = countTerms(p.preferredAffinity, cache, skip);
  const preferredAnti = countTerms(p.preferredAntiAffinity, cache, skip);
  let preferredNorm = 0;
  for (const tc of [...preferred, ...preferredAnti]) preferredNorm += tc.term.weight * Math.max(0, ...tc.counts.values());
  return {
    affinity, affinityBootstrap, anti: countTerms(p.antiAffinity, cache, skip), existingAnti,
    hardSpread: countHardSpread(p, cache, skip), spreadScoring,
    preferred, preferredAnti, preferredNorm,
  };
}

export function interPodAffinityFilter(s: InterPodState, n: NodeInfo): string | null {
  for (const [key, values] of s.existingAnti) {
    const v = n.labels[key];
    if (v !== undefined && values.has(v)) return "node(s) didn't satisfy existing pods anti-affinity rules";
  }
  for (const tc of s.anti) {
    const v = n.labels[tc.term.topologyKey];
    if (v !== undefined && (tc.counts.get(v) ?? 0) > 0) return "node(s) didn't match pod anti-affinity rules";
  }
  if (!s.affinityBootstrap) for (const tc of s.affinity) {
    const v = n.labels[tc.term.topologyKey];
    if (v === undefined || (tc.counts.get(v) ?? 0) === 0) return "node(s) didn't match pod affinity rules";
  }
  return null;
}

/** Preferred pod affinity minus preferred anti-affinity, mapped onto 0..100 (50 = indifferent). */
export function interPodAffinityScore(s: InterPodState, n: NodeInfo): number {
  if (s.preferredNorm === 0) return 50;
  let raw = 0;
  for (const tc of s.preferred) { const v = n.labels[tc.term.topologyKey]; if (v !== undefined) raw += tc.term.weight * (tc.counts.get(v) ?? 0); }
  for (const tc of s.preferredAnti) { const v = n.labels[tc.term.topologyKey]; if (v !== undefined) raw -= tc.term.weight * (tc.counts.get(v) ?? 0); }
  return 50 + (50 * raw) / s.preferredNorm;
}
