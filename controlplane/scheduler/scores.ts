// Node-local scores, each 0..100 (higher is better), read from the pod and one node only so
// that they can be cached per equivalence class and node generation. Unlike kube-scheduler
// they are absolute rather than normalized across the candidate nodes: that is what makes a
// cached score reusable and lets relaxed randomization compare nodes as it meets them.
import type { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";
import { tolerates } from "./filters.js";

export type LocalScore = (p: PodInfo, n: NodeInfo, ctx: ScoreContext) => number;

export interface ScoreContext {
  /** How many nodes hold each image (image locality scales by how widespread an image is). */
  imageNodes: ReadonlyMap<string, number>;
  nodeCount: number;
}

/** Fractions of cpu and memory that would be allocated with the pod on the node. */
function usedFractions(p: PodInfo, n: NodeInfo): [number, number] {
  const c = n.allocCpu > 0 ? Math.min(1, (n.scoreCpu + p.scoreCpu) / n.allocCpu) : 1;
  const m = n.allocMemory > 0 ? Math.min(1, (n.scoreMemory + p.scoreMemory) / n.allocMemory) : 1;
  return [c, m];
}

/** Spreading (kube-scheduler's default; Borg's "worst fit"/E-PVM family): prefer empty nodes. */
export function leastAllocated(p: PodInfo, n: NodeInfo): number {
  const [c, m] = usedFractions(p, n);
  return 100 * (1 - (c + m) / 2);
}

/** Best fit: prefer the fullest node that still fits. */
export function mostAllocated(p: PodInfo, n: NodeInfo): number {
  const [c, m] = usedFractions(p, n);
  return (100 * (c + m)) / 2;
}

/** Prefer nodes whose cpu and memory stay equally used (1 - standard deviation of the fractions). */
export function balancedAllocation(p: PodInfo, n: NodeInfo): number {
  const [c, m] = usedFractions(p, n);
  return 100 * (1 - Math.abs(c - m) / 2);
}

/**
 * Borg's hybrid: best fit, but penalize *stranded* resources, those left free on a node that
 * cannot be used because another resource there is (nearly) exhausted. After placing the pod,
 * the free fractions are fc and fm; min(fc, fm) of each is still usable by a task of the node's
 * shape, and |fc - fm| is stranded. Score = utilization - strandedPenalty × stranded, so among
 * nodes that are equally full the one that strands less wins, and a node is not filled in one
 * dimension only.
 */
export function hybrid(p: PodInfo, n: NodeInfo): number {
  const [c, m] = usedFractions(p, n);
  const fc = 1 - c, fm = 1 - m;
  const used = 1 - (fc + fm) / 2;
  const stranded = Math.abs(fc - fm);
  return (100 * (used - STRANDED_PENALTY * stranded + STRANDED_PENALTY)) / (1 + STRANDED_PENALTY);
}
export const STRANDED_PENALTY = 1;

/** Prefer nodes that already hold the pod's images, scaled by how few nodes have them (kube's ImageLocality). */
const MIN_IMAGE = 23 * 1024 * 1024, MAX_IMAGE = 1000 * 1024 * 1024;
export function imageLocality(p: PodInfo, n: NodeInfo, ctx: ScoreContext): number {
  if (p.images.length === 0 || n.images.size === 0) return 0;
  let sum = 0;
  for (const img of p.images) {
    const size = n.images.get(img);
    if (size === undefined) continue;
    sum += size * ((ctx.imageNodes.get(img) ?? 1) / Math.max(1, ctx.nodeCount));
  }
  const maxSum = MAX_IMAGE * p.images.length;
  const clamped = Math.min(Math.max(sum, MIN_IMAGE), maxSum);
  return sum === 0 ? 0 : (100 * (clamped - MIN_IMAGE)) / (maxSum - MIN_IMAGE);
}

/** Preferred node affinity: matched weight over total weight. */
export function nodeAffinityScore(p: PodInfo, n: NodeInfo): number {
  if (p.preferredNodeAffinity.length === 0) return 0;
  let got = 0, total = 0;
  for (const t of p.preferredNodeAffinity) { total += t.weight; if (t.matches(n.labels, n.name)) got += t.weight; }
  return total > 0 ? (100 * got) / total : 0;
}

/** Fewer untolerated PreferNoSchedule taints is better. */
export function taintTolerationScore(p: PodInfo, n: NodeInfo): number {
  let bad = 0;
  for (const taint of n.taints) if (taint.effect === "PreferNoSchedule" && !p.tolerations.some((t) => tolerates(t, taint))) bad++;
  return bad === 0 ? 100 : Math.max(0, 100 - 25 * bad);
}

export const LOCAL_SCORES: Readonly<Record<string, LocalScore>> = {
  LeastAllocated: leastAllocated,
  MostAllocated: mostAllocated,
  BalancedAllocation: balancedAllocation,
  Hybrid: hybrid,
  ImageLocality: imageLocality,
  NodeAffinity: nodeAffinityScore,
  TaintToleration: taintTolerationScore,
};

/** Scores that read other nodes' pods, computed per attempt in inter-pod.ts. */
export const GLOBAL_SCORES = ["InterPodAffinity", "ZoneSpread"] as const;
