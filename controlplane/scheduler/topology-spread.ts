// Pod topology spreading, as kube-scheduler's PodTopologySpread plugin does it:
//  - the filter: a pod's DoNotSchedule constraints keep the skew between domains within maxSkew;
//  - the score: its ScheduleAnyway constraints, or, for a pod with no constraints of its own,
//    the profile's default constraints over the pod's default selector (default-selector.ts).
//    kube's system defaults spread a Service's or controller's pods over nodes (maxSkew 3) and
//    zones (maxSkew 5); a pod nothing selects or controls (a Job's) is not spread.
// Counts come from the cache's live selector counters, so a scheduling attempt costs a pass
// over the nodes (the filter's domains) or over the nodes holding matching pods (the score),
// never over every pod.
// The score follows kube's scoring.go to the number: per node, over the constraints whose key it
// carries, count × log(domains + 2) + maxSkew − 1 (the domains among the feasible nodes; for
// the hostname key, the feasible nodes), rounded; then normalized over the feasible nodes so
// the emptiest scores 100: 100 × (max + min − s) / max. The log weight keeps a key with few
// domains (zones) from drowning one with many (hosts); the maxSkew − 1 makes a larger maxSkew
// tolerate more before the score moves. Unlike keel's node-local scores this one is relative
// to the other feasible nodes, so the algorithm adds it in a second pass over them.
import type { SchedulerCache, SelectorCounter } from "./cache.js";
import { nodeAffinity } from "./filters.js";
import { ZONE_LABEL, type NodeInfo } from "./node-info.js";
import type { PodInfo, SpreadConstraint } from "./pod-info.js";
import type { LabelsLike } from "./types.js";

export const HOSTNAME_LABEL = "kubernetes.io/hostname";

/** A default constraint: no selector of its own (the pod's default selector is used). */
export interface DefaultConstraint { readonly maxSkew: number; readonly topologyKey: string; readonly whenUnsatisfiable: "ScheduleAnyway" }

/** kube-scheduler's system default constraints (PodTopologySpreadArgs defaultingType: System). */
export const SYSTEM_DEFAULT_CONSTRAINTS: readonly DefaultConstraint[] = Object.freeze([
  { maxSkew: 3, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: "ScheduleAnyway" },
  { maxSkew: 5, topologyKey: ZONE_LABEL, whenUnsatisfiable: "ScheduleAnyway" },
]);

/** A hard constraint's matching-pod counts per domain, for the filter. */
export interface SpreadCounts { c: SpreadConstraint; counts: Map<string, number>; min: number; max: number; self: number }

/** Whether the node is one the pod could select, so that it counts as a domain (nodeAffinityPolicy: Honor): the node affinity filter's test. */
const eligible = (p: PodInfo, n: NodeInfo): boolean => nodeAffinity(p, n) === null;

function counterFor(p: PodInfo, c: SpreadConstraint, cache: SchedulerCache): SelectorCounter {
  return cache.selectorCounter(p.namespace, c.selectorKey, c.matches, c.requiredLabel);
}

/** Matching pods among `skip` (preemption victims, treated as gone), per node. */
function skipped(p: PodInfo, c: SpreadConstraint, cache: SchedulerCache, skip: ReadonlySet<string> | undefined): Map<NodeInfo, number> | null {
  if (!skip?.size) return null;
  const out = new Map<NodeInfo, number>();
  for (const uid of skip) {
    const e = cache.podEntry(uid);
    if (e && e.info.namespace === p.namespace && c.matches(e.info.labels)) out.set(e.node, (out.get(e.node) ?? 0) + 1);
  }
  return out;
}

/** The filter's counts for the pod's DoNotSchedule constraints; `skip`: pods to treat as gone. */
export function countHardSpread(p: PodInfo, cache: SchedulerCache, skip?: ReadonlySet<string>): SpreadCounts[] {
  const out: SpreadCounts[] = [];
  for (const c of p.spread) {
    if (!c.hard) continue;
    const byNode = counterFor(p, c, cache).byNode, gone = skipped(p, c, cache, skip);
    const counts = new Map<string, number>();
    for (const n of cache.list) {
      const v = n.labels[c.topologyKey];
      if (v === undefined || !eligible(p, n)) continue;
      counts.set(v, (counts.get(v) ?? 0) + (byNode.get(n) ?? 0) - (gone?.get(n) ?? 0));
    }
    let min = Infinity, max = 0;
    for (const k of counts.values()) { if (k < min) min = k; if (k > max) max = k; }
    if (counts.size < c.minDomains || min === Infinity) min = 0;
    out.push({ c, counts, min, max, self: c.matches(p.labels) ? 1 : 0 });
  }
  return out;
}

export function podTopologySpreadFilter(hard: readonly SpreadCounts[], n: NodeInfo): string | null {
  for (const sc of hard) {
    const v = n.labels[sc.c.topologyKey];
    if (v === undefined) return "node(s) didn't match pod topology spread constraints (missing required label)";
    if ((sc.counts.get(v) ?? 0) + sc.self - sc.min > sc.c.maxSkew) return "node(s) didn't match pod topology spread constraints";
  }
  return null;
}

interface ScoredConstraint {
  maxSkew: number;
  key: string;
  hostname: boolean;
  counter: SelectorCounter;
  /** Matching pods per domain over the eligible nodes carrying every constraint's key (not for the hostname key: counted per node). */
  domains: Map<string, number>;
}

/** What the score needs for one attempt (kube's preScoreState, less the parts that depend on the feasible nodes). */
export interface SpreadScoring {
  constraints: ScoredConstraint[];
  /** Nodes missing a constraint's key score 0 (the pod's own constraints), or are scored on the keys they have (defaults). */
  requireAllKeys: boolean;
  /** Whether the constraints are the profile's defaults (for tests and explanations). */
  defaulted: boolean;
}

function hasAllKeys(labels: LabelsLike, cs: readonly { key: string }[]): boolean {
  for (const c of cs) if (labels[c.key] === undefined) return false;
  return true;
}

/**
 * The pod's soft spreading for this attempt: its own ScheduleAnyway constraints, or, when it has
 * no constraints at all, `defaults` over its default selector; null when there is nothing to spread.
 */
export function prepareSpreadScoring(p: PodInfo, defaults: readonly DefaultConstraint[], cache: SchedulerCache): SpreadScoring | null {
  const cs: ScoredConstraint[] = [];
  const defaulted = p.spread.length === 0;
  if (!defaulted) {
    for (const c of p.spread) if (!c.hard) cs.push({ maxSkew: c.maxSkew, key: c.topologyKey, hostname: c.topologyKey === HOSTNAME_LABEL, counter: counterFor(p, c, cache), domains: new Map() });
  } else if (defaults.length) {
    const sel = cache.workloads.selectorFor(p);
    if (sel === null) return null;
    const counter = cache.selectorCounter(p.namespace, sel.key, sel.matches, sel.requiredLabel);
    for (const d of defaults) cs.push({ maxSkew: d.maxSkew, key: d.topologyKey, hostname: d.topologyKey === HOSTNAME_LABEL, counter, domains: new Map() });
  }
  if (cs.length === 0) return null;
  for (const c of cs) {
    if (c.hostname) continue;
    for (const [n, k] of c.counter.byNode) {
      if (n.index < 0 || !hasAllKeys(n.labels, cs) || !eligible(p, n)) continue;
      const v = n.labels[c.key]!;
      c.domains.set(v, (c.domains.get(v) ?? 0) + k);
    }
  }
  return { constraints: cs, requireAllKeys: !defaulted, defaulted };
}

/** The normalized spreading score (0..100) of each of the feasible nodes, in their order. */
export function spreadScores(s: SpreadScoring, nodes: readonly NodeInfo[]): Float64Array {
  const m = nodes.length, cs = s.constraints;
  const ignored = new Uint8Array(m);
  const domainSets = cs.map(() => new Set<string>());
  let kept = 0;
  for (let j = 0; j < m; j++) {
    const labels = nodes[j]!.labels;
    if (s.requireAllKeys && !hasAllKeys(labels, cs)) { ignored[j] = 1; continue; }
    kept++;
    for (let i = 0; i < cs.length; i++) if (!cs[i]!.hostname) domainSets[i]!.add(labels[cs[i]!.key] ?? "");
  }
  const weights = cs.map((c, i) => Math.log((c.hostname ? kept : domainSets[i]!.size) + 2));
  const raw = new Float64Array(m);
  let min = Infinity, max = 0;
  for (let j = 0; j < m; j++) {
    if (ignored[j]) continue;
    const n = nodes[j]!;
    let sc = 0;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!, v = n.labels[c.key];
      if (v === undefined) continue;
      const cnt = c.hostname ? c.counter.byNode.get(n) ?? 0 : c.domains.get(v) ?? 0;
      sc += cnt * weights[i]! + c.maxSkew - 1;
    }
    const r = Math.round(sc);
    raw[j] = r;
    if (r < min) min = r;
    if (r > max) max = r;
  }
  const out = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    if (ignored[j]) continue;
    out[j] = max === 0 ? 100 : Math.floor((100 * (max + min - raw[j]!)) / max);
  }
  return out;
}
