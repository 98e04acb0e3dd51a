// The scheduling queue. Three parts, as in kube-scheduler:
//  - active: a heap ordered by priority (higher first), then arrival (earlier first);
//  - backoff: pods that failed recently wait 1 s, 2 s, 4 s ... up to 10 s before retrying;
//  - unschedulable: pods that fit nowhere wait for a cluster event that could make them fit
//    (a pod deleted, a node added or changed), or for a periodic flush after 60 s.
// Time comes from an injectable clock so tests and the simulator control it.
import type { PodInfo } from "./pod-info.js";

export type ClusterEvent = "PodDelete" | "PodAdd" | "NodeAdd" | "NodeUpdate" | "NodeDelete";

/** Which events can cure a failure of each filter (a pod waits only for those). */
const CURED_BY: Readonly<Record<string, readonly ClusterEvent[]>> = {
  NodeResourcesFit: ["PodDelete", "NodeAdd", "NodeUpdate"],
  NodePorts: ["PodDelete", "NodeAdd"],
  NodeName: ["NodeAdd"],
  NodeUnschedulable: ["NodeAdd", "NodeUpdate"],
  NodeAffinity: ["NodeAdd", "NodeUpdate"],
  TaintToleration: ["NodeAdd", "NodeUpdate"],
  InterPodAffinity: ["PodAdd", "PodDelete", "NodeAdd", "NodeUpdate"],
  PodTopologySpread: ["PodAdd", "PodDelete", "NodeAdd", "NodeUpdate", "NodeDelete"],
};

export interface QueuedPod {
  info: PodInfo;
  seq: number;
  attempts: number;
  /** Earliest time it may be retried (backoff). */
  readyAt: number;
  /** Filters that rejected it last time (empty: unknown, any event moves it). */
  failedFilters: ReadonlySet<string>;
  enqueuedAt: number;
}

export interface QueueOptions {
  now?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  unschedulableFlushMs?: number;
}

function before(a: QueuedPod, b: QueuedPod): boolean {
  return a.info.priority !== b.info.priority ? a.info.priority > b.info.priority : a.seq < b.seq;
}

/** A binary heap with an index so entries can be removed by key. */
class Heap {
  private readonly items: QueuedPod[] = [];
  private readonly pos = new Map<string, number>();
  constructor(private readonly less: (a: QueuedPod, b: QueuedPod) => boolean) {}
  get size(): number { return this.items.length; }
  has(key: string): boolean { return this.pos.has(key); }
  peek(): QueuedPod | undefined { return this.items[0]; }
  push(x: QueuedPod): void { this.items.push(x); this.pos.set(x.info.key, this.items.length - 1); this.up(this.items.length - 1); }
  pop(): QueuedPod | undefined { return this.items.length ? this.removeAt(0) : undefined; }
  remove(key: string): QueuedPod | undefined { const i = this.pos.get(key); return i === undefined ? undefined : this.removeAt(i); }
  values(): QueuedPod[] { return [...this.items]; }
  private removeAt(i: number): QueuedPod {
    const it = this.items, x = it[i]!, last = it.pop()!;
    this.pos.delete(x.info.key);
    if (i < it.length) { it[i] = last; this.pos.set(last.info.key, i); this.down(i); this.up(i); }
    return x;
  }
  private swap(i: number, j: number): void {
    const it = this.items, a = it[i]!, b = it[j]!;
    it[i] = b; it[j] = a; this.pos.set(b.info.key, i); this.pos.set(a.info.key, j);
  }
  private up(i: number): void {
    while (i > 0) { const p = (i - 1) >> 1; if (!this.less(this.items[i]!, this.items[p]!)) break; this.swap(i, p); i = p; }
  }
  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && this.less(this.items[l]!, this.items[m]!)) m = l;
      if (r < n && this.less(this.items[r]!, this.items[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m); i = m;
    }
  }
}

export class SchedulingQueue {
  private readonly active = new Heap(before);
  private readonly backoff = new Heap((a, b) => a.readyAt < b.readyAt);
  private readonly unschedulable = new Map<string, QueuedPod>();
  private seq = 0;
  private lastFlush = 0;
  private readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly flushMs: number;

  constructor(o: QueueOptions = {}) {
    this.now = o.now ?? Date.now;
    this.initialBackoffMs = o.initialBackoffMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 10_000;
    this.flushMs = o.unschedulableFlushMs ?? 60_000;
  }

  get activeCount(): number { return this.active.size; }
  get backoffCount(): number { return this.backoff.size; }
  get unschedulableCount(): number { return this.unschedulable.size; }
  get size(): number { return this.active.size + this.backoff.size + this.unschedulable.size; }
  has(key: string): boolean { return this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key); }

  /** A new pending pod. */
  add(info: PodInfo): void {
    if (this.has(info.key)) { this.update(info); return; }
    this.active.push({ info, seq: this.seq++, attempts: 0, readyAt: 0, failedFilters: new Set(), enqueuedAt: this.now() });
  }

  /** The pending pod changed: it may now fit, so it goes back to active (keeping its place in line). */
  update(info: PodInfo): void {
    const old = this.remove(info.key);
    this.active.push({ info, seq: old?.seq ?? this.seq++, attempts: old?.attempts ?? 0, readyAt: 0, failedFilters: new Set(), enqueuedAt: old?.enqueuedAt ?? this.now() });
  }

  remove(key: string): QueuedPod | undefined {
    const u = this.unschedulable.get(key);
    if (u) { this.unschedulable.delete(key); return u; }
    return this.active.remove(key) ?? this.backoff.remove(key);
  }

  /** The next pod to schedule, or undefined if none is ready now. */
  pop(): QueuedPod | undefined {
    this.flush();
    return this.active.pop();
  }

  /** The attempt failed and no node fits: wait for a helpful event (or the periodic flush). */
  markUnschedulable(q: QueuedPod, failedFilters: ReadonlySet<string>): void {
    q.attempts++;
    q.failedFilters = failedFilters;
    q.readyAt = this.now() + this.backoffFor(q.attempts);
    q.enqueuedAt = this.now();
    this.unschedulable.set(q.info.key, q);
  }

  /** The attempt failed for a transient reason (binding error): retry after backoff. */
  markBackoff(q: QueuedPod): void {
    q.attempts++;
    q.readyAt = this.now() + this.backoffFor(q.attempts);
    this.backoff.push(q);
  }

  backoffFor(attempts: number): number {
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.max(0, attempts - 1));
  }

  /** Something changed in the cluster: move the pods it could help toward active (via backoff). */
  onClusterEvent(ev: ClusterEvent): number {
    let moved = 0;
    for (const [key, q] of this.unschedulable) {
      if (q.failedFilters.size > 0 && ![...q.failedFilters].some((f) => CURED_BY[f]?.includes(ev) ?? true)) continue;
      this.unschedulable.delete(key);
      if (q.readyAt <= this.now()) this.active.push(q); else this.backoff.push(q);
      moved++;
    }
    return moved;
  }

  /** Time until the next backoff entry is ready (for a driver loop to sleep), or undefined. */
  nextReadyIn(): number | undefined {
    const b = this.backoff.peek();
    return b ? Math.max(0, b.readyAt - this.now()) : undefined;
  }

  private flush(): void {
    const now = this.now();
    for (let b = this.backoff.peek(); b && b.readyAt <= now; b = this.backoff.peek()) this.active.push(this.backoff.pop()!);
    // Scanning all unschedulable pods is O(n): do it at most once a second.
    if (now - this.lastFlush < 1000 || this.unschedulable.size === 0) return;
    this.lastFlush = now;
    for (const [key, q] of this.unschedulable) {
      if (now - q.enqueuedAt >= this.flushMs) { this.unschedulable.delete(key); this.active.push(q); }
    }
  }

  /** Pending pods, for reports. */
  pending(): PodInfo[] {
    return [...this.active.values(), ...this.backoff.values(), ...this.unschedulable.values()].map((q) => q.info);
  }
}
