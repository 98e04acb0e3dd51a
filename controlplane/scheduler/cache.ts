// The scheduler's view of the cluster: nodes, the pods bound to them, and pods it has
// *assumed* onto nodes before the binding is confirmed (Kubernetes' optimistic cache: the
// next pod is scheduled against the assumed state instead of waiting for the API server).
// Fed by add/update/delete events from an adapter (informers, or the simulator).
import { NodeInfo, nextGeneration } from "./node-info.js";
import { compilePod, type PodInfo } from "./pod-info.js";
import type { NodeLike, PodLike } from "./types.js";

export class CacheError extends Error {
  readonly code: string;
  constructor(code: "ENODE" | "EPOD" | "EASSUMED", readonly subject: string, message: string) {
    super(message);
    this.name = "CacheError";
    this.code = code;
  }
}

interface PodState { info: PodInfo; node: string; assumed: boolean; bindingDone: boolean; deadline: number }

/** How many pods of one owner run in each zone and on each node (for soft spreading). */
export interface OwnerCounts { byZone: Map<string, number>; byNode: Map<string, number>; total: number }

export class SchedulerCache {
  /** Dense list of nodes with a node object; the scheduler iterates this. */
  readonly list: NodeInfo[] = [];
  private readonly byName = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  readonly owners = new Map<string, OwnerCounts>();
  /** Pods carrying required anti-affinity, and how many nodes hold each image. */
  readonly antiAffinityPods = new Map<string, { info: PodInfo; node: NodeInfo }>();
  readonly imageNodes = new Map<string, number>();
  /** Increments on every change: a cheap "has anything changed" for the queue. */
  version = 0;
  /** Increments when nodes are added or removed (slot indexes change meaning). */
  structureVersion = 0;
  /**
   * Per slot of `list`, the node's generation and zone id, kept in flat arrays so that the
   * scheduling loop can check cached verdicts without touching the NodeInfo objects (at 5,000
   * nodes the object reads, not the filters, dominate).
   */
  gens = new Float64Array(64);
  zoneIds = new Int32Array(64);
  /** Zone name → small integer id (ids are never reused). */
  readonly zoneIndex = new Map<string, number>();
  /**
   * Cell totals for scores that weigh a node against the whole cell (the hybrid's resource
   * mix): allocatable over the listed nodes, requests (with the scoring defaults) over all pods.
   */
  allocCpuTotal = 0;
  allocMemoryTotal = 0;
  scoreCpuTotal = 0;
  scoreMemoryTotal = 0;

  constructor(private readonly now: () => number = Date.now, readonly assumeTtlMs = 30_000) {}

  get nodeCount(): number { return this.list.length; }
  node(name: string): NodeInfo | undefined { const n = this.byName.get(name); return n && n.index >= 0 ? n : undefined; }
  podCount(): number { return this.pods.size; }
  podNode(uid: string): string | undefined { return this.pods.get(uid)?.node; }
  isAssumed(uid: string): boolean { return this.pods.get(uid)?.assumed === true; }

  addNode(node: NodeLike): NodeInfo {
    const name = node.metadata?.name;
    if (!name) throw new CacheError("ENODE", "", "node without metadata.name");
    let info = this.byName.get(name);
    if (!info) { info = new NodeInfo(name); this.byName.set(name, info); }
    if (info.index >= 0) { this.forImages(info, -1); this.allocCpuTotal -= info.allocCpu; this.allocMemoryTotal -= info.allocMemory; }
    else { info.index = this.list.length; this.list.push(info); this.structureVersion++; }
    info.setNode(node);
    this.allocCpuTotal += info.allocCpu;
    this.allocMemoryTotal += info.allocMemory;
    this.sync(info);
    this.forImages(info, +1);
    this.version++;
    return info;
  }

  updateNode(node: NodeLike): NodeInfo { return this.addNode(node); }

  removeNode(name: string): void {
    const info = this.byName.get(name);
    if (!info || info.index < 0) return;
    this.forImages(info, -1);
    this.allocCpuTotal -= info.allocCpu;
    this.allocMemoryTotal -= info.allocMemory;
    const last = this.list.pop()!;
    if (last !== info) { last.index = info.index; this.list[info.index] = last; last.generation = nextGeneration(); this.sync(last); }
    info.index = -1;
    info.node = null;
    this.structureVersion++;
    // Pods still bound to a deleted node stay accounted until their own delete event arrives.
    if (info.pods.size === 0) this.byName.delete(name);
    this.version++;
  }

  /** Copy a node's generation and zone into the flat per-slot arrays. */
  private sync(n: NodeInfo): void {
    if (n.index < 0) return;
    if (n.index >= this.gens.length) {
      const size = Math.max(this.gens.length * 2, n.index + 1);
      const g = new Float64Array(size); g.set(this.gens); this.gens = g;
      const z = new Int32Array(size); z.set(this.zoneIds); this.zoneIds = z;
    }
    this.gens[n.index] = n.generation;
    let zid = -1;
    if (n.zone !== undefined) {
      zid = this.zoneIndex.get(n.zone) ?? -1;
      if (zid < 0) { zid = this.zoneIndex.size; this.zoneIndex.set(n.zone, zid); }
    }
    this.zoneIds[n.index] = zid;
  }

  private forImages(info: NodeInfo, d: number): void {
    for (const img of info.images.keys()) {
      const n = (this.imageNodes.get(img) ?? 0) + d;
      if (n > 0) this.imageNodes.set(img, n); else this.imageNodes.delete(img);
    }
  }

  private attach(info: PodInfo, nodeName: string): void {
    let n = this.byName.get(nodeName);
    if (!n) { n = new NodeInfo(nodeName); this.byName.set(nodeName, n); }
    n.addPod(info);
    this.sync(n);
    this.scoreCpuTotal += info.scoreCpu;
    this.scoreMemoryTotal += info.scoreMemory;
    if (info.owner) {
      let o = this.owners.get(info.owner);
      if (!o) { o = { byZone: new Map(), byNode: new Map(), total: 0 }; this.owners.set(info.owner, o); }
      o.total++;
      o.byNode.set(nodeName, (o.byNode.get(nodeName) ?? 0) + 1);
      if (n.zone !== undefined) o.byZone.set(n.zone, (o.byZone.get(n.zone) ?? 0) + 1);
    }
    if (info.antiAffinity.length) this.antiAffinityPods.set(info.uid, { info, node: n });
    this.version++;
  }

  private detach(st: PodState): void {
    const n = this.byName.get(st.node);
    if (!n) return;
    n.removePod(st.info);
    this.sync(n);
    this.scoreCpuTotal -= st.info.scoreCpu;
    this.scoreMemoryTotal -= st.info.scoreMemory;
    const o = st.info.owner ? this.owners.get(st.info.owner) : undefined;
    if (o) {
      o.total--;
      dec(o.byNode, st.node);
      if (n.zone !== undefined) dec(o.byZone, n.zone);
      if (o.total === 0) this.owners.delete(st.info.owner!);
    }
    this.antiAffinityPods.delete(st.info.uid);
    if (n.index < 0 && n.pods.size === 0) this.byName.delete(st.node);
    this.version++;
  }

  /** Optimistically place a pod before its binding is confirmed. */
  assumePod(info: PodInfo, nodeName: string): void {
    if (this.pods.has(info.uid)) throw new CacheError("EASSUMED", info.key, `pod ${info.key} is already in the scheduler cache`);
    this.attach(info, nodeName);
    this.pods.set(info.uid, { info, node: nodeName, assumed: true, bindingDone: false, deadline: Infinity });
  }

  /** The binding call returned; the assumption expires if the bound pod is never observed. */
  finishBinding(uid: string): void {
    const st = this.pods.get(uid);
    if (st?.assumed) { st.bindingDone = true; st.deadline = this.now() + this.assumeTtlMs; }
  }

  /** The binding failed: undo the assumption. */
  forgetPod(uid: string): void {
    const st = this.pods.get(uid);
    if (!st?.assumed) return;
    this.detach(st);
    this.pods.delete(uid);
  }

  /** Drop assumed pods whose binding finished long ago but which were never observed bound. */
  cleanupExpired(): string[] {
    const now = this.now(), gone: string[] = [];
    for (const [uid, st] of this.pods) if (st.assumed && st.bindingDone && st.deadline <= now) { this.detach(st); this.pods.delete(uid); gone.push(uid); }
    return gone;
  }

  /** A pod observed bound to a node (an informer event); confirms an assumption. */
  addPod(pod: PodLike | PodInfo, nodeName?: string): PodInfo {
    const info = "classKey" in pod ? pod : compilePod(pod);
    const node = nodeName ?? info.nodeName;
    if (!node) throw new CacheError("EPOD", info.key, `pod ${info.key} has no spec.nodeName`);
    const st = this.pods.get(info.uid);
    if (st) {
      if (st.node === node) { st.assumed = false; return st.info; }
      this.detach(st); // bound elsewhere than assumed: the API server wins
    }
    this.attach(info, node);
    this.pods.set(info.uid, { info, node, assumed: false, bindingDone: true, deadline: Infinity });
    return info;
  }

  /**
   * The watch confirms a pod this cache assumed onto `nodeName`: mark it bound without
   * compiling the pod again. False when the pod is not assumed there (the caller compiles it).
   */
  confirmAssumed(uid: string, nodeName: string): boolean {
    const st = this.pods.get(uid);
    if (!st?.assumed || st.node !== nodeName) return false;
    st.assumed = false;
    return true;
  }

  updatePod(pod: PodLike, nodeName?: string): PodInfo {
    const info = compilePod(pod);
    const st = this.pods.get(info.uid);
    if (st) { this.detach(st); this.pods.delete(info.uid); }
    return this.addPod(info, nodeName);
  }

  removePod(uid: string): PodInfo | undefined {
    const st = this.pods.get(uid);
    if (!st) return undefined;
    this.detach(st);
    this.pods.delete(uid);
    return st.info;
  }

  /** Every pod on the cluster (bound or assumed), with its node. */
  *allPods(): IterableIterator<{ info: PodInfo; node: NodeInfo }> {
    for (const n of this.byName.values()) for (const p of n.pods.values()) yield { info: p, node: n };
  }
}

function dec(m: Map<string, number>, k: string): void {
  const v = (m.get(k) ?? 0) - 1;
  if (v > 0) m.set(k, v); else m.delete(k);
}
