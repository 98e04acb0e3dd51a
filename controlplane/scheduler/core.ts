// The scheduler without the API server: an adapter feeds it pod and node events and carries
// out its decisions (POST the binding, delete preemption victims, set nominatedNodeName).
// The simulator is one such adapter; the informer-based one is another.
import { SchedulingAlgorithm, type ScheduleResult } from "./algorithm.js";
import { SchedulerCache } from "./cache.js";
import { compilePod, type PodInfo } from "./pod-info.js";
import { findPreemption } from "./preemption.js";
import { builtinProfile, type Profile } from "./profile.js";
import { SchedulingQueue, type QueuedPod, type QueueOptions } from "./queue.js";
import type { ControllerKind } from "./default-selector.js";
import type { NodeLike, PodLike, ServiceLike, WorkloadLike } from "./types.js";

export type Decision =
  | { kind: "bind"; pod: PodInfo; node: string; result: ScheduleResult }
  | { kind: "preempt"; pod: PodInfo; node: string; victims: PodInfo[]; result: ScheduleResult }
  | { kind: "unschedulable"; pod: PodInfo; message: string; result: ScheduleResult };

export interface SchedulerOptions extends QueueOptions {
  /** The profile for pods that name no scheduler or "default-scheduler" (default: keel's default). */
  profile?: Profile;
  /**
   * More profiles, as in kube-scheduler: a pod whose spec.schedulerName equals a profile's name
   * is scheduled with that profile. All profiles share one cache and one queue.
   */
  profiles?: Profile[];
  /** The scheduler name that selects `profile` (default "default-scheduler"). */
  schedulerName?: string;
}

export class Scheduler {
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  /** The algorithm of the default profile. */
  readonly algorithm: SchedulingAlgorithm;
  private readonly algorithms = new Map<string, SchedulingAlgorithm>();
  /** node → pods nominated there by preemption (their room is held for them). */
  private readonly nominations = new Map<string, PodInfo[]>();
  private readonly nominatedNode = new Map<string, string>();
  private readonly inFlight = new Map<string, QueuedPod>();
  private readonly schedulerName: string;

  constructor(o: SchedulerOptions = {}) {
    this.cache = new SchedulerCache(o.now);
    this.queue = new SchedulingQueue(o);
    this.algorithm = new SchedulingAlgorithm(this.cache, o.profile ?? builtinProfile("default"));
    this.schedulerName = o.schedulerName ?? "default-scheduler";
    this.algorithms.set(this.schedulerName, this.algorithm);
    for (const p of o.profiles ?? []) if (!this.algorithms.has(p.name)) this.algorithms.set(p.name, new SchedulingAlgorithm(this.cache, p));
  }

  /** The algorithm for a pod, by its spec.schedulerName; undefined when another scheduler owns it. */
  private algorithmFor(p: PodInfo): SchedulingAlgorithm | undefined {
    return this.algorithms.get(p.pod.spec?.schedulerName || this.schedulerName);
  }

  // ---- events from the adapter ----

  onNodeAdd(node: NodeLike): void { this.cache.addNode(node); this.queue.onClusterEvent("NodeAdd"); }
  onNodeUpdate(node: NodeLike): void { this.cache.updateNode(node); this.queue.onClusterEvent("NodeUpdate"); }
  onNodeDelete(name: string): void { this.cache.removeNode(name); this.queue.onClusterEvent("NodeDelete"); }

  // Services, ReplicaSets, StatefulSets and ReplicationControllers only make pods' default
  // spreading selectors: a score, never a filter, so no pending pod needs to be moved.
  onServiceUpdate(svc: ServiceLike): void { this.cache.workloads.setService(svc); }
  onServiceDelete(svc: ServiceLike): void { this.cache.workloads.deleteService(svc); }
  onControllerUpdate(kind: ControllerKind, obj: WorkloadLike): void { this.cache.workloads.setController(kind, obj); }
  onControllerDelete(kind: ControllerKind, obj: WorkloadLike): void { this.cache.workloads.deleteController(kind, obj); }

  /** A pod appeared: bound pods go into the cache, pending ones into the queue. */
  onPodAdd(pod: PodLike | PodInfo): void {
    const info = "classKey" in pod ? pod : compilePod(pod);
    // Finished pods hold no resources (kube-scheduler ignores them too).
    const phase = info.pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") { this.onPodDelete(info); return; }
    if (info.nodeName) {
      this.cache.addPod(info);
      this.clearNomination(info.uid);
      this.queue.onClusterEvent("PodAdd");
    } else if (this.algorithmFor(info) !== undefined && !this.inFlight.has(info.uid)) {
      this.queue.add(info);
    }
  }

  onPodUpdate(pod: PodLike): void {
    // The most common update by far: the binding this scheduler made, seen on the watch.
    const uid = pod.metadata?.uid, node = pod.spec?.nodeName, ph = pod.status?.phase;
    if (uid && node && ph !== "Succeeded" && ph !== "Failed" && this.cache.confirmAssumed(uid, node)) { this.clearNomination(uid); return; }
    const info = compilePod(pod);
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") { this.onPodDelete(info); return; }
    if (info.nodeName) {
      this.queue.remove(info.key);
      if (this.cache.podNode(info.uid) !== undefined && !this.cache.isAssumed(info.uid)) this.cache.updatePod(pod);
      else this.cache.addPod(info);
      this.clearNomination(info.uid);
    } else if (this.queue.has(info.key)) this.queue.update(info);
    else this.onPodAdd(info);
  }

  onPodDelete(pod: PodLike | PodInfo): void {
    const info = "classKey" in pod ? pod : compilePod(pod);
    this.queue.remove(info.key);
    this.clearNomination(info.uid);
    if (this.cache.removePod(info.uid)) this.queue.onClusterEvent("PodDelete");
  }

  // ---- scheduling ----

  /** Schedule the next ready pod; undefined when none is ready. */
  scheduleOne(): Decision | undefined {
    const q = this.queue.pop();
    if (!q) return undefined;
    const p = q.info;
    const alg = this.algorithmFor(p) ?? this.algorithm;
    const result = alg.schedule(p, this.nominations.size ? this.nominations : undefined);
    if (result.node !== undefined) {
      this.cache.assumePod(p, result.node);
      this.clearNomination(p.uid);
      this.inFlight.set(p.uid, q);
      return { kind: "bind", pod: p, node: result.node, result };
    }
    const pre = findPreemption(alg, p);
    this.queue.markUnschedulable(q, result.failedFilters);
    if (pre) {
      this.clearNomination(p.uid);
      this.nominatedNode.set(p.uid, pre.node);
      const list = this.nominations.get(pre.node) ?? [];
      list.push(p);
      this.nominations.set(pre.node, list);
      return { kind: "preempt", pod: p, node: pre.node, victims: pre.victims, result };
    }
    return { kind: "unschedulable", pod: p, message: unschedulableMessage(this.cache.nodeCount, result), result };
  }

  /** The adapter's binding call finished. */
  bindDone(uid: string, ok: boolean): void {
    const q = this.inFlight.get(uid);
    this.inFlight.delete(uid);
    if (ok) { this.cache.finishBinding(uid); return; }
    this.cache.forgetPod(uid);
    if (q) this.queue.markBackoff(q);
    // The assumed room is free again: pods that found none may fit now (kube-scheduler moves
    // them on a failed binding too, as for a deleted pod).
    this.queue.onClusterEvent("PodDelete");
  }

  nominatedNodeOf(uid: string): string | undefined { return this.nominatedNode.get(uid); }

  private clearNomination(uid: string): void {
    const node = this.nominatedNode.get(uid);
    if (node === undefined) return;
    this.nominatedNode.delete(uid);
    const rest = (this.nominations.get(node) ?? []).filter((x) => x.uid !== uid);
    if (rest.length) this.nominations.set(node, rest); else this.nominations.delete(node);
  }
}

/** kube-scheduler's wording: "0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were unschedulable." */
export function unschedulableMessage(nodes: number, r: ScheduleResult): string {
  const parts = [...r.reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([why, n]) => `${n} ${why}`);
  return `0/${nodes} nodes are available${parts.length ? ": " + parts.join(", ") : ""}.`;
}
