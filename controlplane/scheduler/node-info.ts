// One node as the scheduler sees it: allocatable and allocated resources (including assumed
// pods), its pods, host ports in use, images, and a generation that changes on every change,
// so that per-class feasibility and score caches can tell when an entry is stale.
import type { HostPort, PodInfo } from "./pod-info.js";
import { normalizeImage } from "./pod-info.js";
import { parseBytes, parseCpuMillis, parseQuantity } from "./quantity.js";
import type { LabelsLike, NodeLike, TaintLike } from "./types.js";

export const ZONE_LABEL = "topology.kubernetes.io/zone";

let generations = 0;
/** Globally unique, so a cache entry can never match a different node that reused a slot. */
export function nextGeneration(): number { return ++generations; }

export class NodeInfo {
  /** Position in the cache's dense node list; -1 while the node object is unknown (pods only). */
  index = -1;
  node: NodeLike | null = null;
  labels: LabelsLike = {};
  taints: readonly TaintLike[] = [];
  unschedulable = false;
  allocCpu = 0;
  allocMemory = 0;
  allocPods = 0;
  allocEphemeral = 0;
  allocExtended = new Map<string, number>();
  reqCpu = 0;
  reqMemory = 0;
  reqEphemeral = 0;
  reqExtended = new Map<string, number>();
  /** Requests with kube-scheduler's non-zero defaults, for scoring. */
  scoreCpu = 0;
  scoreMemory = 0;
  readonly pods = new Map<string, PodInfo>();
  ports: HostPort[] = [];
  images = new Map<string, number>();
  /** Pods on this node with required anti-affinity terms (checked against incoming pods). */
  antiAffinityPods = 0;
  generation = nextGeneration();

  constructor(readonly name: string) {}

  setNode(node: NodeLike): void {
    this.node = node;
    this.labels = node.metadata?.labels ?? {};
    this.taints = node.spec?.taints ?? [];
    this.unschedulable = node.spec?.unschedulable === true;
    const a = node.status?.allocatable ?? node.status?.capacity ?? {};
    const field = `node ${this.name} status.allocatable`;
    this.allocCpu = a.cpu !== undefined ? parseCpuMillis(a.cpu, `${field}.cpu`) : 0;
    this.allocMemory = a.memory !== undefined ? parseBytes(a.memory, `${field}.memory`) : 0;
    this.allocPods = a.pods !== undefined ? parseQuantity(a.pods, `${field}.pods`) : 110;
    this.allocEphemeral = a["ephemeral-storage"] !== undefined ? parseBytes(a["ephemeral-storage"]!, `${field}.ephemeral-storage`) : 0;
    this.allocExtended = new Map();
    for (const [r, q] of Object.entries(a)) {
      if (q === undefined || r === "cpu" || r === "memory" || r === "pods" || r === "ephemeral-storage") continue;
      this.allocExtended.set(r, parseQuantity(q, `${field}.${r}`));
    }
    this.images = new Map();
    for (const img of node.status?.images ?? []) for (const n of img.names ?? []) {
      if (!n.includes("@")) this.images.set(normalizeImage(n), img.sizeBytes ?? 0);
    }
    this.generation = nextGeneration();
  }

  addPod(p: PodInfo): void {
    this.pods.set(p.uid, p);
    this.reqCpu += p.cpu;
    this.reqMemory += p.memory;
    this.reqEphemeral += p.ephemeral;
    this.scoreCpu += p.scoreCpu;
    this.scoreMemory += p.scoreMemory;
    if (p.extended) for (const [r, v] of p.extended) this.reqExtended.set(r, (this.reqExtended.get(r) ?? 0) + v);
    if (p.hostPorts.length) this.ports = this.ports.concat(p.hostPorts);
    if (p.antiAffinity.length) this.antiAffinityPods++;
    this.generation = nextGeneration();
  }

  removePod(p: PodInfo): boolean {
    if (!this.pods.delete(p.uid)) return false;
    this.reqCpu -= p.cpu;
    this.reqMemory -= p.memory;
    this.reqEphemeral -= p.ephemeral;
    this.scoreCpu -= p.scoreCpu;
    this.scoreMemory -= p.scoreMemory;
    if (p.extended) for (const [r, v] of p.extended) this.reqExtended.set(r, (this.reqExtended.get(r) ?? 0) - v);
    if (p.hostPorts.length) this.ports = this.ports.filter((hp) => !p.hostPorts.includes(hp));
    if (p.antiAffinity.length) this.antiAffinityPods--;
    this.generation = nextGeneration();
    return true;
  }

  /** A copy for "what if" questions (preemption) that never touches the real cache. */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    Object.assign(c, this, { allocExtended: new Map(this.allocExtended), reqExtended: new Map(this.reqExtended), ports: [...this.ports], generation: nextGeneration() });
    (c as { pods: Map<string, PodInfo> }).pods = new Map(this.pods);
    return c;
  }
}
