// What the live view shows, computed from the informers' caches (pure, so it is tested alone):
// each node with its capacity and what its pods request, the pods placed on it, unscheduled
// pods, and the workloads (Deployments, StatefulSets, DaemonSets, Jobs) with desired and ready.
import { parseQuantity, type Node, type Pod } from "../api/index.js";

export interface PodView { namespace: string; name: string; phase: string; ready: boolean; ip?: string; owner?: string; terminating: boolean }
export interface NodeView {
  name: string;
  ready: boolean;
  address?: string;
  podCIDR?: string;
  /** Allocatable, and the sum of the requests of its non-terminated pods. */
  cpu: { allocatableMilli: number; requestedMilli: number };
  memory: { allocatableBytes: number; requestedBytes: number };
  pods: { capacity: number; count: number };
  podList: PodView[];
}
export interface WorkloadView { kind: string; namespace: string; name: string; desired: number; ready: number }
export interface ClusterView { nodes: NodeView[]; unscheduled: PodView[]; workloads: WorkloadView[]; at: string }

interface Workload { kind?: string; metadata: { name?: string; namespace?: string }; spec?: { replicas?: number; completions?: number }; status?: Record<string, unknown> }

const milli = (q: unknown) => (q === undefined ? 0 : Number(parseQuantity(String(q)).milliValue()));
const bytes = (q: unknown) => (q === undefined ? 0 : Number(parseQuantity(String(q)).value()));

function podView(p: Pod): PodView {
  const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  const owner = p.metadata.ownerReferences?.[0];
  return {
    namespace: p.metadata.namespace ?? "default", name: p.metadata.name!, phase: p.status?.phase ?? "Pending", ready, ip: p.status?.podIP,
    owner: owner ? `${owner.kind}/${owner.name}` : undefined, terminating: !!p.metadata.deletionTimestamp,
  };
}

function workloadView(kind: string, w: Workload): WorkloadView {
  const s = (w.status ?? {}) as Record<string, number | undefined>;
  const desired = kind === "DaemonSet" ? s.desiredNumberScheduled ?? 0 : kind === "Job" ? w.spec?.completions ?? 1 : w.spec?.replicas ?? 1;
  const ready = kind === "DaemonSet" ? s.numberReady ?? 0 : kind === "Job" ? s.succeeded ?? 0 : s.readyReplicas ?? 0;
  return { kind, namespace: w.metadata.namespace ?? "default", name: w.metadata.name!, desired, ready };
}

export function clusterView(nodes: Node[], pods: Pod[], workloads: { kind: string; items: Workload[] }[], now = new Date()): ClusterView {
  const byNode = new Map<string, Pod[]>();
  for (const p of pods) if (p.spec?.nodeName) byNode.set(p.spec.nodeName, [...(byNode.get(p.spec.nodeName) ?? []), p]);
  const sortPods = (a: PodView, b: PodView) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);
  const nodeViews = [...nodes].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!)).map((n): NodeView => {
    const mine = byNode.get(n.metadata.name!) ?? [];
    const live = mine.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
    const req = (k: string) => live.flatMap((p) => p.spec?.containers ?? []).map((c) => c.resources?.requests?.[k]);
    const alloc = n.status?.allocatable ?? n.status?.capacity ?? {};
    return {
      name: n.metadata.name!, ready: n.status?.conditions?.find((c) => c.type === "Ready")?.status === "True",
      address: n.status?.addresses?.find((a) => a.type === "InternalIP")?.address, podCIDR: n.spec?.podCIDR,
      cpu: { allocatableMilli: milli(alloc.cpu), requestedMilli: req("cpu").reduce((s: number, q) => s + milli(q), 0) },
      memory: { allocatableBytes: bytes(alloc.memory), requestedBytes: req("memory").reduce((s: number, q) => s + bytes(q), 0) },
      pods: { capacity: Number(alloc.pods ?? 110), count: live.length },
      podList: mine.map(podView).sort(sortPods),
    };
  });
  return {
    nodes: nodeViews,
    unscheduled: pods.filter((p) => !p.spec?.nodeName).map(podView).sort(sortPods),
    workloads: workloads.flatMap((w) => w.items.map((i) => workloadView(w.kind, i))).sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`)),
    at: now.toISOString(),
  };
}
