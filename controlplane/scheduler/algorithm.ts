// One scheduling attempt: filter the nodes, score the feasible ones, pick the best.
// Borg's three techniques live here, each switchable in the profile:
//  - equivalence classes: the node-local filter verdict for a class (pods with identical
//    requirements) is kept per node and reused while that node's generation is unchanged;
//  - score caching: the same for the node-local score sum;
//  - relaxed randomization: nodes are visited in a random order and the search stops once
//    max(minFeasibleNodes, feasiblePercent % of the nodes) feasible nodes have been seen.
//    The next pod of the same class starts where the last one did, so the first two techniques
//    keep paying off under the third.
// Inter-pod filters and scores (affinity, spread) are always evaluated fresh. A class's caches
// are created on its second pod, so jobs of one task cost nothing extra. The loop reads node
// generations from a flat array (cache.gens) and touches a NodeInfo object only when something
// must be computed. Topology spreading scores a node relative to the other feasible ones (as
// kube normalizes it), so when a pod spreads, the loop notes the feasible nodes and their other
// scores, and the choice is made in a second pass over them.
import type { SchedulerCache } from "./cache.js";
import { LOCAL_FILTERS, type LocalFilter } from "./filters.js";
import { interPodAffinityFilter, interPodAffinityScore, needsInterPod, prepareInterPod, type InterPodState } from "./inter-pod.js";
import type { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";
import { defaultSpreadConstraints, type Profile } from "./profile.js";
import { seededRng, shuffle, type Rng } from "./random.js";
import { cellMix, LOCAL_SCORES, type LocalScore, type ScoreContext } from "./scores.js";
import { podTopologySpreadFilter, prepareSpreadScoring, spreadScores, type DefaultConstraint, type SpreadScoring } from "./topology-spread.js";

export interface ScheduleResult {
  /** The chosen node, or undefined when no node is feasible. */
  node: string | undefined;
  /** Why nodes were rejected: reason → number of nodes. */
  reasons: Map<string, number>;
  /** Filter plugin names that rejected at least one node (for re-queue hints). */
  failedFilters: Set<string>;
  evaluated: number;
  feasible: number;
  score: number;
}

/**
 * Per equivalence class: the node-local verdict and score per node slot, valid while the
 * node's generation equals gen[slot]. 18 bytes per node.
 */
class ClassEntry {
  gen: Float64Array;
  verdict: Uint8Array; // 0 feasible, else 1 + index of the failing local filter
  scoreOk: Uint8Array;
  score: Float64Array;
  /** The algorithm's score epoch the cached scores belong to (the cell's mix changed: scores are stale). */
  scoreEpoch = 0;
  /** Where this class's last relaxed scan started: the next pod of the class re-examines the same window, so its cached verdicts and scores hit. */
  start = -1;
  constructor(size: number, public epoch: number) {
    this.gen = new Float64Array(size).fill(-1);
    this.verdict = new Uint8Array(size);
    this.scoreOk = new Uint8Array(size);
    this.score = new Float64Array(size);
  }
}

/** Reservations of pods nominated to a node by preemption, honoured for lower-priority pods. */
export type Nominations = ReadonlyMap<string, readonly PodInfo[]>;

const MAX_CLASSES = 512;
/** The cell's mix moves in steps of 2^(1/32) (about 2 %): finer changes keep cached scores. */
const MIX_STEP = 1 / 32;
const VISIT_BLOCK = 64;

export class SchedulingAlgorithm {
  readonly profile: Profile;
  private readonly filters: { name: string; fn: LocalFilter }[];
  private readonly scores: { fn: LocalScore; w: number }[];
  private readonly interAffinityFilter: boolean;
  private readonly spreadFilter: boolean;
  private readonly wInterPod: number;
  private readonly wSpread: number;
  private readonly spreadDefaults: readonly DefaultConstraint[];
  private readonly rng: Rng;
  private readonly classes = new Map<string, ClassEntry>();
  private readonly seenOnce = new Set<string>();
  private perm: Int32Array = new Int32Array(0);
  private permEpoch = -1;
  private nodeEpoch = 0;
  private lastStructure = -1;
  private lastImageCount = -1;
  /** Whether a score reads the cell's mix, its current (stepped) value, and the epoch of cached scores. */
  private readonly usesMix: boolean;
  private mix = 1;
  private scoreEpoch = 0;

  constructor(readonly cache: SchedulerCache, profile: Profile) {
    this.profile = profile;
    this.filters = profile.filters.filter((f) => f in LOCAL_FILTERS).map((name) => ({ name, fn: LOCAL_FILTERS[name]! }));
    this.scores = Object.entries(profile.scores).filter(([k, w]) => k in LOCAL_SCORES && w > 0).map(([k, w]) => ({ fn: LOCAL_SCORES[k]!, w }));
    this.interAffinityFilter = profile.filters.includes("InterPodAffinity");
    this.spreadFilter = profile.filters.includes("PodTopologySpread");
    this.wInterPod = profile.scores.InterPodAffinity ?? 0;
    this.wSpread = profile.scores.PodTopologySpread ?? 0;
    this.spreadDefaults = defaultSpreadConstraints(profile);
    this.rng = seededRng(profile.seed);
    this.usesMix = (profile.scores.Hybrid ?? 0) > 0;
  }

  /** Follow the cell's mix (for the hybrid score) in steps, invalidating cached scores when it moves. */
  private updateMix(): void {
    const c = this.cache;
    const raw = cellMix(c.allocCpuTotal, c.allocMemoryTotal, c.scoreCpuTotal, c.scoreMemoryTotal);
    if (Math.abs(Math.log2(raw) - Math.log2(this.mix)) <= MIX_STEP) return;
    this.mix = raw;
    this.scoreEpoch++;
  }

  /** Node-local filters in order; returns 0 if all pass, else 1 + the failing filter's index. */
  localVerdict(p: PodInfo, n: NodeInfo): number {
    const fs = this.filters;
    for (let i = 0; i < fs.length; i++) if (fs[i]!.fn(p, n) !== null) return i + 1;
    return 0;
  }

  localReason(p: PodInfo, n: NodeInfo, verdict: number): { filter: string; reason: string } {
    const f = this.filters[verdict - 1]!;
    return { filter: f.name, reason: f.fn(p, n) ?? f.name };
  }

  localFilterNames(): string[] { return this.filters.map((f) => f.name); }

  localScore(p: PodInfo, n: NodeInfo, ctx: ScoreContext): number {
    let s = 0;
    for (const sc of this.scores) s += sc.w * sc.fn(p, n, ctx);
    return s;
  }

  interFilter(s: InterPodState, n: NodeInfo): { filter: string; reason: string } | null {
    if (this.interAffinityFilter) { const r = interPodAffinityFilter(s, n); if (r) return { filter: "InterPodAffinity", reason: r }; }
    if (this.spreadFilter) { const r = podTopologySpreadFilter(s.hardSpread, n); if (r) return { filter: "PodTopologySpread", reason: r }; }
    return null;
  }

  /** The preferred pod affinity score, when the pod has preferred terms that match something. */
  private affinityScoring(s: InterPodState | null): InterPodState | null {
    return s !== null && this.wInterPod > 0 && s.preferredNorm !== 0 ? s : null;
  }

  /** Whether this attempt needs the inter-pod filters (pod affinity, spread, existing anti-affinity). */
  needsInterFilter(p: PodInfo): boolean {
    return (this.interAffinityFilter || this.spreadFilter) && needsInterPod(p, this.cache);
  }

  /**
   * The cluster-wide counts for the inter-pod filters and scores, or null when neither applies.
   * With `skip` (preemption's "what if these pods were gone") only the filters are needed.
   */
  interPodState(p: PodInfo, skip?: ReadonlySet<string>): InterPodState | null {
    const filters = this.needsInterFilter(p);
    const affinity = this.wInterPod > 0 && (p.preferredAffinity.length > 0 || p.preferredAntiAffinity.length > 0);
    const spread = this.wSpread > 0 && skip === undefined ? this.spreadScoring(p) : null;
    return filters || affinity || spread ? prepareInterPod(p, this.cache, skip, spread) : null;
  }

  /** The pod's soft topology spreading for this attempt (its ScheduleAnyway constraints or the profile's defaults). */
  spreadScoring(p: PodInfo): SpreadScoring | null {
    return prepareSpreadScoring(p, this.spreadDefaults, this.cache);
  }

  /**
   * The class's cache entry, created on the class's second pod: a class seen once (a job of
   * one task) would only pay for the arrays.
   */
  private classEntry(p: PodInfo): ClassEntry | null {
    const size = this.cache.list.length;
    let e = this.classes.get(p.classKey);
    if (!e && !this.seenOnce.has(p.classKey)) {
      if (this.seenOnce.size >= 8 * MAX_CLASSES) this.seenOnce.clear();
      this.seenOnce.add(p.classKey);
      return null;
    }
    if (e) {
      this.classes.delete(p.classKey); // re-insert: Map order is the LRU order
      if (e.epoch !== this.nodeEpoch || e.gen.length < size) e = new ClassEntry(Math.max(size, 16), this.nodeEpoch);
    } else {
      e = new ClassEntry(Math.max(size, 16), this.nodeEpoch);
      if (this.classes.size >= MAX_CLASSES) this.classes.delete(this.classes.keys().next().value!);
    }
    if (e.scoreEpoch !== this.scoreEpoch) { e.scoreOk.fill(0); e.scoreEpoch = this.scoreEpoch; }
    this.classes.set(p.classKey, e);
    return e;
  }

  /**
   * A random visiting order made of shuffled blocks of VISIT_BLOCK consecutive slots. A fully
   * random order measured 8x slower per node at 5,000 nodes (every node a cache miss); blocks
   * keep the memory locality of the dense node list and still randomize which nodes are seen.
   */
  private visitOrder(n: number): Int32Array {
    if (this.permEpoch !== this.nodeEpoch || this.perm.length !== n) {
      const blocks = shuffle(Array.from({ length: Math.ceil(n / VISIT_BLOCK) }, (_, i) => i), this.rng);
      const perm = new Int32Array(n);
      let k = 0;
      for (const b of blocks) for (let i = b * VISIT_BLOCK; i < Math.min(n, (b + 1) * VISIT_BLOCK); i++) perm[k++] = i;
      this.perm = perm;
      this.permEpoch = this.nodeEpoch;
    }
    return this.perm;
  }

  schedule(p: PodInfo, nominations?: Nominations): ScheduleResult {
    const cache = this.cache, list = cache.list, N = list.length, t = this.profile.techniques;
    // Node additions/removals or image changes invalidate slot-indexed caches wholesale.
    if (cache.structureVersion !== this.lastStructure || cache.imageNodes.size !== this.lastImageCount) { this.nodeEpoch++; this.lastStructure = cache.structureVersion; this.lastImageCount = cache.imageNodes.size; }
    const reasons = new Map<string, number>();
    const failedFilters = new Set<string>();
    const res: ScheduleResult = { node: undefined, reasons, failedFilters, evaluated: 0, feasible: 0, score: -Infinity };
    if (N === 0) { reasons.set("no nodes available", 0); return res; }
    if (this.usesMix) this.updateMix();
    const entry = t.equivalenceClasses || t.scoreCaching ? this.classEntry(p) : null;
    const eq = t.equivalenceClasses && entry !== null;
    const sc = t.scoreCaching && entry !== null;
    const inter = this.interPodState(p);
    const interFilter = inter !== null && this.needsInterFilter(p) ? inter : null;
    const affinity = this.affinityScoring(inter);
    const spread = inter?.spreadScoring ?? null;
    // With spreading, the feasible nodes' slots and scores so far, for the second pass.
    const candSlots: number[] = [], candScores: number[] = [];
    const gens = cache.gens;
    const ctx: ScoreContext = { imageNodes: cache.imageNodes, nodeCount: N, mix: this.mix };
    const want = t.relaxedRandomization ? Math.min(N, Math.max(t.minFeasibleNodes, Math.ceil((N * t.feasiblePercent) / 100))) : N;
    const order = t.relaxedRandomization ? this.visitOrder(N) : null;
    let start = 0;
    if (order) {
      if (entry !== null && entry.start >= 0 && entry.start < N) start = entry.start;
      else { start = Math.floor(this.rng() * N); if (entry !== null) entry.start = start; }
    }
    const verdictCounts = new Int32Array(this.filters.length + 1);
    const hasNominations = nominations !== undefined && nominations.size > 0;
    let best = -Infinity, bestSlot = -1, ties = 0, feasible = 0, k = 0;
    for (; k < N && feasible < want; k++) {
      let i = start + k;
      if (i >= N) i -= N;
      if (order) i = order[i]!;
      const g = gens[i]!;
      let v: number;
      const hit = entry !== null && entry.gen[i] === g;
      if (eq && hit) v = entry!.verdict[i]!;
      else {
        v = this.localVerdict(p, list[i]!);
        if (entry !== null) {
          if (!hit) { entry.gen[i] = g; entry.scoreOk[i] = 0; }
          entry.verdict[i] = v;
        }
      }
      if (v !== 0) { verdictCounts[v]!++; continue; }
      if (hasNominations && !this.fitsWithNominated(p, list[i]!, nominations!)) { inc(reasons, "Insufficient resources (reserved for a nominated pod)"); failedFilters.add("NodeResourcesFit"); continue; }
      if (interFilter) {
        const r = this.interFilter(interFilter, list[i]!);
        if (r) { inc(reasons, r.reason); failedFilters.add(r.filter); continue; }
      }
      feasible++;
      let s: number;
      if (sc && entry!.scoreOk[i] === 1) s = entry!.score[i]!;
      else {
        s = this.localScore(p, list[i]!, ctx);
        if (entry !== null) { entry.score[i] = s; entry.scoreOk[i] = 1; }
      }
      if (affinity) s += this.wInterPod * interPodAffinityScore(affinity, list[i]!);
      if (spread) { candSlots.push(i); candScores.push(s); continue; }
      if (s > best) { best = s; bestSlot = i; ties = 1; }
      else if (s === best && this.rng() * ++ties < 1) bestSlot = i; // reservoir sampling among ties
    }
    if (spread && candSlots.length) {
      const norm = spreadScores(spread, candSlots.map((i) => list[i]!));
      for (let j = 0; j < candSlots.length; j++) {
        const s = candScores[j]! + this.wSpread * norm[j]!;
        if (s > best) { best = s; bestSlot = candSlots[j]!; ties = 1; }
        else if (s === best && this.rng() * ++ties < 1) bestSlot = candSlots[j]!;
      }
    }
    const bestNode = bestSlot >= 0 ? list[bestSlot] : undefined;
    if (!bestNode) {
      // Only an unschedulable pod needs the reasons: recompute them per node (cheap, and exact
      // even where one filter has several reasons, like NodeResourcesFit).
      for (let v = 1; v < verdictCounts.length; v++) {
        if (!verdictCounts[v]) continue;
        failedFilters.add(this.filters[v - 1]!.name);
        for (const n of list) {
          const r = this.filters[v - 1]!.fn(p, n);
          if (r !== null && this.localVerdict(p, n) === v) inc(reasons, r);
        }
      }
    }
    res.evaluated = k;
    res.feasible = feasible;
    res.node = bestNode?.name;
    res.score = best;
    return res;
  }

  /** Pods nominated to this node with priority ≥ p's keep their room (kube's two-pass check, reduced to resources). */
  private fitsWithNominated(p: PodInfo, n: NodeInfo, nominations: Nominations): boolean {
    const noms = nominations.get(n.name);
    if (!noms) return true;
    let cpu = 0, mem = 0, pods = 0;
    for (const q of noms) if (q.uid !== p.uid && q.priority >= p.priority && !n.pods.has(q.uid)) { cpu += q.cpu; mem += q.memory; pods++; }
    return n.reqCpu + cpu + p.cpu <= n.allocCpu && n.reqMemory + mem + p.memory <= n.allocMemory && n.pods.size + pods + 1 <= n.allocPods;
  }
}

function inc(m: Map<string, number>, k: string, by = 1): void { m.set(k, (m.get(k) ?? 0) + by); }
