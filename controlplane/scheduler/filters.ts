// Node-local filters: each answers "can this pod run on this node?" from the pod and that
// node alone, returning null or the reason (worded like kube-scheduler's). Because they read
// only the node's state, their results can be cached per equivalence class and node
// generation. Filters that look at other nodes' pods live in inter-pod.ts.
import type { NodeInfo } from "./node-info.js";
import type { PodInfo } from "./pod-info.js";
import type { TaintLike, TolerationLike } from "./types.js";

export type LocalFilter = (p: PodInfo, n: NodeInfo) => string | null;

export function nodeName(p: PodInfo, n: NodeInfo): string | null {
  return p.nodeName !== undefined && p.nodeName !== n.name ? "node(s) didn't match the requested node name" : null;
}

const UNSCHEDULABLE_TAINT: TaintLike = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

export function nodeUnschedulable(p: PodInfo, n: NodeInfo): string | null {
  if (!n.unschedulable) return null;
  return p.tolerations.some((t) => tolerates(t, UNSCHEDULABLE_TAINT)) ? null : "node(s) were unschedulable";
}

export function nodeAffinity(p: PodInfo, n: NodeInfo): string | null {
  for (const [k, v] of p.nodeSelector) if (n.labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
  if (p.requiredNodeAffinity && !p.requiredNodeAffinity(n.labels, n.name)) return "node(s) didn't match Pod's node affinity/selector";
  return null;
}

export function tolerates(t: TolerationLike, taint: TaintLike): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

export function taintToleration(p: PodInfo, n: NodeInfo): string | null {
  for (const taint of n.taints) {
    if (taint.effect === "PreferNoSchedule") continue;
    if (!p.tolerations.some((t) => tolerates(t, taint))) return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;
  }
  return null;
}

export function nodePorts(p: PodInfo, n: NodeInfo): string | null {
  if (p.hostPorts.length === 0 || n.ports.length === 0) return null;
  for (const want of p.hostPorts) for (const used of n.ports) {
    if (want.port === used.port && want.protocol === used.protocol && (want.ip === used.ip || want.ip === "0.0.0.0" || used.ip === "0.0.0.0")) {
      return "node(s) didn't have free ports for the requested pod ports";
    }
  }
  return null;
}

/** Fit of cpu, memory, pods, ephemeral-storage and extended resources. */
export function nodeResourcesFit(p: PodInfo, n: NodeInfo): string | null {
  if (n.pods.size + 1 > n.allocPods) return "Too many pods";
  if (p.cpu > 0 && n.reqCpu + p.cpu > n.allocCpu) return "Insufficient cpu";
  if (p.memory > 0 && n.reqMemory + p.memory > n.allocMemory) return "Insufficient memory";
  if (p.ephemeral > 0 && n.reqEphemeral + p.ephemeral > n.allocEphemeral) return "Insufficient ephemeral-storage";
  if (p.extended) for (const [r, v] of p.extended) {
    if ((n.reqExtended.get(r) ?? 0) + v > (n.allocExtended.get(r) ?? 0)) return `Insufficient ${r}`;
  }
  return null;
}

/** Filters by their kube-scheduler plugin names, in the order they run (cheapest first). */
export const LOCAL_FILTERS: Readonly<Record<string, LocalFilter>> = {
  NodeName: nodeName,
  NodeUnschedulable: nodeUnschedulable,
  NodeAffinity: nodeAffinity,
  TaintToleration: taintToleration,
  NodePorts: nodePorts,
  NodeResourcesFit: nodeResourcesFit,
};

/** Failures that evicting pods from the node can cure (preemption considers only these nodes). */
export const RESOLVABLE_BY_EVICTION = new Set(["NodeResourcesFit", "NodePorts", "InterPodAffinity", "PodTopologySpread"]);
