// The objects of one kind kept in memory by namespace (a PrefixCache of the kind's storage
// prefix): admission reads a namespace's LimitRanges, and whether it has any ResourceQuota, on
// every create, as kube-apiserver's admission plugins read informer listers instead of etcd.
import type { KubeObject } from "../../../api/meta.js";
import type { ResourceInfo } from "../../../api/registry.js";
import type { ObjectStore } from "../object-store.js";
import { storagePrefix } from "../object-store.js";
import { PrefixCache } from "../prefix-cache.js";

export class NamespacedCache<T extends KubeObject> {
  private byNs = new Map<string, Map<string, T>>();
  private readonly cache: PrefixCache;
  private started?: Promise<void>;

  constructor(objects: ObjectStore, private readonly resource: ResourceInfo, log?: (msg: string) => void) {
    const prefix = storagePrefix(resource);
    this.cache = new PrefixCache(objects.store, prefix, {
      reset: () => { this.byNs = new Map(); },
      apply: (key, value) => {
        // Keys are PREFIX + namespace/name.
        const [ns, name] = key.slice(prefix.length).split("/") as [string, string];
        const m = this.byNs.get(ns) ?? new Map<string, T>();
        if (value === undefined) m.delete(name);
        else m.set(name, objects.decode(resource, { value, modRevision: 0 }) as T);
        if (m.size) this.byNs.set(ns, m);
        else this.byNs.delete(ns);
      },
    }, log);
  }

  /** The namespace's objects as last seen (started on first use). */
  async inNamespace(ns: string): Promise<T[]> {
    await (this.started ??= this.cache.start());
    return [...(this.byNs.get(ns)?.values() ?? [])];
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}
