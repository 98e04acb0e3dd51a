// Filters and scores that depend on pods on *other* nodes: required pod affinity and
// anti-affinity (the incoming pod's terms and existing pods' anti-affinity against it),
// topology spread constraints, preferred pod affinity, and soft spreading of an owner's pods
// across zones. Like kube-scheduler's PreFilter/PreScore, the cluster-wide counts are computed
// once per scheduling attempt; the per-node check is then a map look-up. These results are
// never cached across pods, because any placement anywhere in the domain can change them.
import type { SchedulerCache } from "./cache.js";
import type { NodeInfo } from "./node-info.js";
import type { AffinityTerm, PodInfo, SpreadConstraint } from "./pod-info.js";

interface TermCounts { term: AffinityTerm; counts: Map<string, number> }
interface SpreadCounts { c: SpreadConstraint; counts: Map<string, number>; min: number; max: number; self: number }

export interface InterPodState {
  affinity: TermCounts[];
  /** No pod anywhere matches the affinity terms, but the pod matches them itself: the first of its group. */
  affinityBootstrap: boolean;
  anti: TermCounts[];
  existingAnti: Map<string, Set<string>>;
  hardSpread: SpreadCounts[];
  softSpread: SpreadCounts[];
  preferred: TermCounts[];
  preferredAnti: TermCounts[];
  preferredNorm: number;
  /** Default spreading of the pod's owner across zones, when it has no explicit constraints. */
  ownerZones: Map<string, number> | null;
  ownerZoneMax: number;
  /** The owner-spreading score per zone id (cache.zoneIndex), when that is the only global score input. */
  ownerZoneScore: Float64Array | null;
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

function countSpread(p: PodInfo, cs: readonly SpreadConstraint[], cache: SchedulerCache, skip?: ReadonlySet<string>): SpreadCounts[] {
  return cs.map((c) => {
    const counts = new Map<string, number>();
    for (const n of cache.list) {
      const v = n.labels[c.topologyKey];
      if (v === undefined) continue;
      // Only nodes the pod could select count as domains (nodeAffinityPolicy: Honor).
      if (p.nodeSelector.some(([k, want]) => n.labels[k] !== want)) continue;
      if (p.requiredNodeAffinity && !p.requiredNodeAffinity(n.labels, n.name)) continue;
      let k = counts.get(v) ?? 0;
      for (const q of n.pods.values()) if (q.namespace === p.namespace && !skip?.has(q.uid) && c.matches(q.labels)) k++;
      counts.set(v, k);
    }
    let min = Infinity, max = 0;
    for (const k of counts.values()) { if (k < min) min = k; if (k > max) max = k; }
    if (counts.size < c.minDomains || min === Infinity) min = 0;
    return { c, counts, min, max, self: c.matches(p.labels) ? 1 : 0 };
  });
}

/** Whether this pod needs the inter-pod pass at all on this cluster. */
export function needsInterPod(p: PodInfo, cache: SchedulerCache): boolean {
  return p.interPod || cache.antiAffinityPods.size > 0;
}

/** `skip`: pods to treat as already gone (preemption victims). */
export function prepareInterPod(p: PodInfo, cache: SchedulerCache, skip?: ReadonlySet<string>): InterPodState {
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
  const spread = countSpread(p, p.spread, cache, skip);
  const preferred = countTerms(p.preferredAffinity, cache, skip);
  const preferredAnti = countTerms(p.preferredAntiAffinity, cache, skip);
  let preferredNorm = 0;
  for (const tc of [...preferred, ...preferredAnti]) preferredNorm += tc.term.weight * Math.max(0, ...tc.counts.values());
  let ownerZones: Map<string, number> | null = null, ownerZoneMax = 0;
  if (p.spread.length === 0 && p.owner) {
    ownerZones = cache.owners.get(p.owner)?.byZone ?? new Map();
    for (const v of ownerZones.values()) if (v > ownerZoneMax) ownerZoneMax = v;
  }
  const state: InterPodState = {
    affinity, affinityBootstrap, anti: countTerms(p.antiAffinity, cache, skip), existingAnti,
    hardSpread: spread.filter((s) => s.c.hard), softSpread: spread.filter((s) => !s.c.hard),
    preferred, preferredAnti, preferredNorm, ownerZones, ownerZoneMax, ownerZoneScore: null,
  };
  if (ownerZones && state.softSpread.length === 0) {
    const z = new Float64Array(cache.zoneIndex.size);
    for (const [name, id] of cache.zoneIndex) z[id] = 100 * (1 - (ownerZones.get(name) ?? 0) / (ownerZoneMax + 1));
    state.ownerZoneScore = z;
  }
  return state;
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

export function podTopologySpreadFilter(s: InterPodState, n: NodeInfo): string | null {
  for (const sc of s.hardSpread) {
    const v = n.labels[sc.c.topologyKey];
    if (v === undefined) return "node(s) didn't match pod topology spread constraints (missing required label)";
    if ((sc.counts.get(v) ?? 0) + sc.self - sc.min > sc.c.maxSkew) return "node(s) didn't match pod topology spread constraints";
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

/**
 * Soft spreading: ScheduleAnyway constraints if the pod has any, otherwise its owner's pods
 * across zones (topology.kubernetes.io/zone). 100 for the emptiest domain, falling with count.
 */
export function spreadScore(s: InterPodState, n: NodeInfo): number {
  if (s.softSpread.length) {
    let sum = 0;
    for (const sc of s.softSpread) {
      const v = n.labels[sc.c.topologyKey];
      if (v !== undefined) sum += 1 - (sc.counts.get(v) ?? 0) / (sc.max + 1);
    }
    return (100 * sum) / s.softSpread.length;
  }
  if (s.ownerZones && n.zone !== undefined) return 100 * (1 - (s.ownerZones.get(n.zone) ?? 0) / (s.ownerZoneMax + 1));
  return 50;
}
