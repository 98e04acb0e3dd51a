// What every controller is given: the client, shared informers (one list+watch per resource for
// the whole controller-manager), an event recorder and a logger; and the base class that runs a
// reconciler from a work queue.
import type { KubeObject } from "../../api/meta.js";
import type { Pod } from "../../api/core.js";
import { EventRecorder, Informer, WorkQueue, type KubeClient, type Resource, type IndexFunc } from "../kit/index.js";

/** Every informer indexes by owner uid, so "my pods" is a map look-up. */
const ownerIndex: IndexFunc<KubeObject> = (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid);
const byUid: IndexFunc<KubeObject> = (o) => (o.metadata.uid ? [o.metadata.uid] : []);
const podNode: IndexFunc<KubeObject> = (o) => { const n = (o as Pod).spec?.nodeName; return n ? [n] : []; };

export class SharedInformers {
  private readonly informers = new Map<string, Informer>();
  private started = false;
  constructor(readonly client: KubeClient, private readonly resyncMs = 0, private readonly log: (m: string) => void = () => {}) {}

  get<T extends KubeObject>(res: Resource): Informer<T> {
    const key = `${res.group}/${res.plural}`;
    let inf = this.informers.get(key);
    if (!inf) {
      const indexers: Record<string, IndexFunc<KubeObject>> = { owner: ownerIndex, uid: byUid };
      if (res.plural === "pods" && res.group === "") indexers.node = podNode;
      inf = new Informer(this.client, res, { indexers, resyncMs: this.resyncMs, log: this.log });
      this.informers.set(key, inf);
      if (this.started) void inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }
}

export interface ControllerContext {
  client: KubeClient;
  informers: SharedInformers;
  recorder: EventRecorder;
  log: (msg: string) => void;
  /** Node lifecycle: how long a node's Lease may go unrenewed (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** Node IPAM: the cluster CIDR (default 10.244.0.0/16) and per-node mask size (default 24). */
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
  /** The clock of time-driven controllers (CronJob); tests move it. */
  now?: () => number;
  /** HPA: where pod usage comes from (default the metrics.k8s.io API) and how often to look. */
  metrics?: import("./hpa.js").MetricsSource;
  hpaSyncPeriodMs?: number;
}

export abstract class Controller {
  readonly queue: WorkQueue;
  constructor(readonly name: string, protected readonly ctx: ControllerContext) {
    this.queue = new WorkQueue(name);
  }

  /** Registers informer handlers (which only enqueue keys). */
  abstract register(): void;
  /** Moves the object named by key toward its spec; idempotent; throws to be retried. */
  abstract reconcile(key: string): Promise<void>;

  enqueue(obj: KubeObject): void {
    this.queue.add(obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name!);
  }

  run(workers = 2): Promise<void> {
    return this.queue.run(workers, (k) => this.reconcile(k), (k, err) => this.ctx.log(`${this.name}: ${k}: ${(err as Error).message}`));
  }

  stop(): void {
    this.queue.shutdown();
  }
}

/**
 * Writes made by this process that the informer may not have seen yet: reconcilers read through
 * it so a second pass right after a write does not act on the stale cached copy.
 */
export class FreshCache<T extends KubeObject> {
  private readonly written = new Map<string, T>();
  observe(obj: T): void { this.written.set(obj.metadata.uid!, obj); }
  forget(uid: string): void { this.written.delete(uid); }
  read(cached: T): T {
    const w = this.written.get(cached.metadata.uid!);
    if (!w) return cached;
    if (Number(w.metadata.resourceVersion) > Number(cached.metadata.resourceVersion)) return w;
    this.written.delete(cached.metadata.uid!);
    return cached;
  }
}

/**
 * Expectations (client-go's ControllerExpectations): pods this controller created or deleted
 * but has not yet seen in its informer. While any are outstanding the controller does not count
 * pods again, which would create or delete twice.
 */
export class Expectations {
  private readonly pending = new Map<string, { adds: Set<string>; dels: Set<string>; at: number }>();
  constructor(private readonly timeoutMs = 30_000) {}
  expectCreate(key: string, name: string): void { this.entry(key).adds.add(name); }
  expectDelete(key: string, name: string): void { this.entry(key).dels.add(name); }
  private entry(key: string) {
    let e = this.pending.get(key);
    if (!e) this.pending.set(key, (e = { adds: new Set(), dels: new Set(), at: Date.now() }));
    e.at = Date.now();
    return e;
  }
  observedCreate(key: string, name: string): void { this.pending.get(key)?.adds.delete(name); }
  observedDelete(key: string, name: string): void { this.pending.get(key)?.dels.delete(name); }
  createFailed(key: string, name: string): void { this.observedCreate(key, name); }
  satisfied(key: string): boolean {
    const e = this.pending.get(key);
    if (!e) return true;
    if ((!e.adds.size && !e.dels.size) || Date.now() - e.at > this.timeoutMs) { this.pending.delete(key); return true; }
    return false;
  }
  clear(key: string): void { this.pending.delete(key); }
}

export function isPodActive(p: Pod): boolean {
  return !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
}

export function isPodReady(p: Pod): boolean {
  return isPodActive(p) && p.status?.phase === "Running" && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

export function controllerOf(o: KubeObject): { uid: string; kind: string; name: string; apiVersion: string } | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

/** JSON with sorted keys, for comparing templates. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** FNV-1a 32-bit, rendered like pod-template-hash values. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let out = "";
  for (let i = 0; i < 10; i++) { out += alphabet[h % alphabet.length]; h = Math.floor(h / alphabet.length) ^ (i * 0x9e3779b1 >>> 0); h >>>= 0; }
  return out;
}

/** A pod from a template, controlled by owner (as client-go's GetPodFromTemplate). */
export function podFromTemplate(
  tpl: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown } | undefined,
  owner: KubeObject, ownerApiVersion: string, ownerKind: string, name: string,
  extra: { labels?: Record<string, string>; spec?: Record<string, unknown> } = {},
): Pod {
  return {
    metadata: {
      name, namespace: owner.metadata.namespace,
      labels: { ...(tpl?.metadata?.labels ?? {}), ...(extra.labels ?? {}) },
      ...(tpl?.metadata?.annotations ? { annotations: { ...tpl.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: ownerApiVersion, kind: ownerKind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...(structuredClone(tpl?.spec ?? { containers: [] }) as Pod["spec"]), ...(extra.spec ?? {}) } as Pod["spec"],
  };
}

export const randomSuffix = (n = 5) => Array.from({ length: n }, () => "bcdfghjklmnpqrstvwxz2456789"[Math.floor(Math.random() * 27)]).join("");

export const nowTime = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * Available: Ready for at least minReadySeconds (Kubernetes' podutil.IsPodAvailable). When it is
 * ready but not yet long enough, `recheckInMs` says when to look again.
 */
export function podAvailability(p: Pod, minReadySeconds = 0, now = Date.now()): { available: boolean; recheckInMs?: number } {
  if (!isPodReady(p)) return { available: false };
  if (!minReadySeconds) return { available: true };
  const since = (p.status?.conditions ?? []).find((c) => c.type === "Ready")?.lastTransitionTime;
  const at = (since ? Date.parse(since) : now) + minReadySeconds * 1000;
  return at <= now ? { available: true } : { available: false, recheckInMs: at - now + 10 };
}
