// An informer: list + watch one resource into an indexed local cache, and tell handlers about
// changes. Handlers should only enqueue keys (client-go's rule); cached objects are shared and
// must never be mutated: clone before writing.
import type { KubeObject } from "../../api/meta.js";
import { isGone, type KubeClient } from "./client.js";
import type { Resource } from "./resources.js";

export type IndexFunc<T> = (obj: T) => string[];

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Every resyncMs, every cached object is handed to the update handlers again (0: never). */
  resyncMs?: number;
  indexers?: Record<string, IndexFunc<T>>;
  log?: (msg: string) => void;
}

export interface EventHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export function keyOf(obj: KubeObject): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name!;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private readonly indexers: Record<string, IndexFunc<T>>;
  private readonly handlers: EventHandlers<T>[] = [];
  private resourceVersion = "";
  private watchHandle?: { stop(): void };
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private relistDelayMs = 200;
  private readonly log: (msg: string) => void;

  constructor(readonly client: KubeClient, readonly resource: Resource, private readonly opts: InformerOptions<T> = {}) {
    this.indexers = { namespace: (o) => [o.metadata.namespace ?? ""], ...(opts.indexers ?? {}) };
    for (const name of Object.keys(this.indexers)) this.indices.set(name, new Map());
    this.log = opts.log ?? (() => {});
  }

  addEventHandler(h: EventHandlers<T>): void {
    this.handlers.push(h);
    // A handler added late still learns about what is already there.
    if (this.synced) for (const o of this.items.values()) h.add?.(o);
  }

  get hasSynced(): boolean { return this.synced; }

  /** Starts listing and watching; resolves once the first list is in the cache. */
  start(): Promise<void> {
    void this.relist();
    if (this.opts.resyncMs) {
      const t = setInterval(() => {
        for (const o of this.items.values()) for (const h of this.handlers) h.update?.(o, o);
      }, this.opts.resyncMs);
      t.unref();
      this.timers.add(t);
    }
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.watchHandle?.stop();
    for (const t of this.timers) { clearTimeout(t); clearInterval(t); }
    this.timers.clear();
  }

  get(key: string): T | undefined { return this.items.get(key); }
  getByName(namespace: string | undefined, name: string): T | undefined { return this.items.get(namespace ? `${namespace}/${name}` : name); }
  list(): T[] { return [...this.items.values()]; }
  listKeys(): string[] { return [...this.items.keys()]; }
  byIndex(index: string, value: string): T[] {
    const keys = this.indices.get(index)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) { const o = this.items.get(k); if (o) out.push(o); }
    return out;
  }
  byNamespace(ns: string): T[] { return this.byIndex("namespace", ns); }

  private later(fn: () => void, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.client.listAll<T>(this.resource, this.opts.namespace, { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector });
      if (this.stopped) return;
      this.replace(list.items);
      this.resourceVersion = list.metadata?.resourceVersion ?? "";
      this.relistDelayMs = 200;
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
      this.startWatch();
    } catch (err) {
      this.log(`informer ${this.resource.plural}: list failed: ${(err as Error).message}`);
      this.later(() => void this.relist(), this.relistDelayMs);
      this.relistDelayMs = Math.min(this.relistDelayMs * 2, 5_000);
    }
  }

  private startWatch(): void {
    if (this.stopped) return;
    const started = Date.now();
    this.watchHandle = this.client.watch<T>(this.resource, this.opts.namespace, {
      resourceVersion: this.resourceVersion, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector,
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
    }, (ev) => {
      const rv = ev.object?.metadata?.resourceVersion;
      if (rv) this.resourceVersion = rv;
      if (ev.type === "ADDED" || ev.type === "MODIFIED") this.upsert(ev.object);
      else if (ev.type === "DELETED") this.remove(keyOf(ev.object), ev.object);
    }, (err) => {
      if (this.stopped) return;
      if (err && isGone(err)) {
        // Our resourceVersion is older than the store's history: list again (client-go does too).
        this.log(`informer ${this.resource.plural}: watch expired, re-listing`);
        void this.relist();
      } else {
        // A dropped connection: resume from the last version seen; re-list if it keeps failing fast.
        if (err) this.log(`informer ${this.resource.plural}: watch ended: ${err.message}`);
        const quick = Date.now() - started < 1_000;
        this.later(() => (err && quick ? void this.relist() : this.startWatch()), quick ? this.relistDelayMs : 0);
        if (quick) this.relistDelayMs = Math.min(this.relistDelayMs * 2, 5_000);
      }
    });
  }

  private replace(objs: T[]): void {
    const seen = new Set<string>();
    for (const o of objs) { seen.add(keyOf(o)); this.upsert(o); }
    for (const [k, o] of [...this.items]) if (!seen.has(k)) this.remove(k, o);
  }

  private upsert(obj: T): void {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    for (const h of this.handlers) {
      try { if (old) h.update?.(old, obj); else h.add?.(obj); } catch (err) { this.log(`handler failed: ${(err as Error).message}`); }
    }
  }

  private remove(key: string, obj: T): void {
    const old = this.items.get(key);
    if (!old) return;
    this.unindex(key, old);
    this.items.delete(key);
    for (const h of this.handlers) {
      try { h.delete?.(obj ?? old); } catch (err) { this.log(`handler failed: ${(err as Error).message}`); }
    }
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        let s = idx.get(v);
        if (!s) idx.set(v, (s = new Set()));
        s.add(key);
      }
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const s = idx.get(v);
        s?.delete(key);
        if (s && s.size === 0) idx.delete(v);
      }
    }
  }
}
