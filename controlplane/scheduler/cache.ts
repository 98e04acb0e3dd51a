// The scheduler's view of the cluster: nodes, the pods bound to them, and pods it has
// *assumed* onto nodes before the binding is confirmed (Kubernetes' optimistic cache: the
// next pod is scheduled against the assumed state instead of waiting for the API server).
// Fed by add/update/delete events from an adapter (informers, or the simulator).
import { NodeInfo, nextGeneration } from "./node-info.js";
import { compilePod, type PodInfo } from "./pod-info.js";
import type { LabelMatcher } from "./selectors.js";
import { pairSlot, WorkloadIndex } from "./default-selector.js";
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

/**
 * How many pods of one namespace that match one label selector each node holds (topology
 * spreading counts these), kept up to date as pods come and go.
 */
export interface SelectorCounter {
  readonly namespace: string;
  readonly matches: LabelMatcher;
  readonly byNode: Map<NodeInfo, number>;
  /** Where the counter is filed: under one label pair the selector requires, else under its namespace. */
  readonly slot: string;
}

/**
 * Live selector counters kept at most (least recently used dropped). A counter is filed under a
 * label pair its selector requires, so a pod added or removed is matched only against the
 * counters filed under its own labels (and the few with no required label).
 */
const MAX_COUNTERS = 2048;


export class SchedulerCache {
  /** Dense list of nodes with a node object; the scheduler iterates this. */
  readonly list: NodeInfo[] = [];
  private readonly byName = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  /** Services and controllers, for pods' default spreading selectors. */
  readonly workloads = new WorkloadIndex();
  /** Selector counters by namespace and selector key, least recently used first; and by slot. */
  private readonly counters = new Map<string, SelectorCounter>();
  private readonly countersBySlot = new Map<string, Set<SelectorCounter>>();
  /** Pods by label pair (namespace, key, value) → uid → node: a new counter finds its pods here. */
  private readonly podsByPair = new Map<string, Map<string, NodeInfo>>();
  /** Pods carrying required anti-affinity, and how many nodes hold each image. */
  readonly antiAffinityPods = new Map<string, { info: PodInfo; node: NodeInfo }>();
  readonly imageNodes = new Map<string, number>();
  /** Increments on every change: a cheap "has anything changed" for the queue. */
  version = 0;
  /** Increments when nodes are added or removed (slot indexes change meaning). */
  structureVersion = 0;
  /**
   * Per slot of `list`, the node's generation, kept in a flat array so that the scheduling loop
   * can check cached verdicts without touching the NodeInfo objects (at 5,000 nodes the object
   * reads, not the filters, dominate).
   */
  gens = new Float64Array(64);
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

  /** Copy a node's generation into the flat per-slot array. */
  private sync(n: NodeInfo): void {
    if (n.index < 0) return;
    if (n.index >= this.gens.length) {
      const g = new Float64Array(Math.max(this.gens.length * 2, n.index + 1)); g.set(this.gens); this.gens = g;
    }
    this.gens[n.index] = n.generation;
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
    this.countPod(info, n, +1);
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
    this.countPod(st.info, n, -1);
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

  /** A pod came (+1) or went (−1): the label index and the counters whose selector it matches. */
  private countPod(info: PodInfo, n: NodeInfo, d: 1 | -1): void {
    const ns = info.namespace;
    for (const k in info.labels) {
      const slot = pairSlot(ns, k, info.labels[k]!);
      let pods = this.podsByPair.get(slot);
      if (d > 0) { if (!pods) this.podsByPair.set(slot, (pods = new Map())); pods.set(info.uid, n); }
      else if (pods) { pods.delete(info.uid); if (pods.size === 0) this.podsByPair.delete(slot); }
      const cs = this.countersBySlot.get(slot);
      if (cs) for (const c of cs) if (c.matches(info.labels)) bump(c.byNode, n, d);
    }
    const cs = this.countersBySlot.get(ns);
    if (cs) for (const c of cs) if (c.matches(info.labels)) bump(c.byNode, n, d);
  }

  /**
   * The live count, per node, of the pods in `namespace` that `matches` selects; `key` names the
   * selector (equal keys, equal selectors), `required` is one label pair it requires, if any.
   * Made from the pods carrying that label (else from every pod), then kept up to date.
   */
  selectorCounter(namespace: string, key: string, matches: LabelMatcher, required?: readonly [string, string]): SelectorCounter {
    const k = `${namespace}\0${key}`;
    let c = this.counters.get(k);
    if (c) { this.counters.delete(k); this.counters.set(k, c); return c; }
    if (this.counters.size >= MAX_COUNTERS) {
      const [oldKey, old] = this.counters.entries().next().value!;
      this.counters.delete(oldKey);
      const set = this.countersBySlot.get(old.slot)!;
      set.delete(old);
      if (set.size === 0) this.countersBySlot.delete(old.slot);
    }
    const slot = required ? pairSlot(namespace, required[0], required[1]) : namespace;
    c = { namespace, matches, byNode: new Map(), slot };
    if (required) {
      for (const [uid, n] of this.podsByPair.get(slot) ?? []) if (matches(n.pods.get(uid)!.labels)) bump(c.byNode, n, 1);
    } else {
      for (const n of this.byName.values()) for (const p of n.pods.values()) if (p.namespace === namespace && matches(p.labels)) bump(c.byNode, n, 1);
    }
    this.counters.set(k, c);
    let set = this.countersBySlot.get(slot);
    if (!set) this.countersBySlot.set(slot, (set = new Set()));
    set.add(c);
    return c;
  }

  /** The node a cached pod is on, with the pod as cached (for "what if it were gone" questions). */
  podEntry(uid: string): { info: PodInfo; node: NodeInfo } | undefined {
    const st = this.pods.get(uid);
    const node = st && this.byName.get(st.node);
    return st && node ? { info: st.info, node } : undefined;
  }

  /** Every pod on the cluster (bound or assumed), with its node. */
  *allPods(): IterableIterator<{ info: PodInfo; node: NodeInfo }> {
    for (const n of this.byName.values()) for (const p of n.pods.values()) yield { info: p, node: n };
  }
}

function bump<K>(m: Map<K, number>, k: K, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v > 0) m.set(k, v); else m.delete(k);
}
