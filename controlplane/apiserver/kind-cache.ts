// The objects of one kind kept in memory (a PrefixCache of the kind's storage prefix), by
// namespace: admission reads a namespace's LimitRanges, whether it has any ResourceQuota, and the
// PriorityClasses on every create, as kube-apiserver's admission plugins read informer listers
// instead of etcd. Cluster-scoped objects sit under the namespace "".
import type { KubeObject } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/registry.js";
import type { ObjectStore } from "./object-store.js";
import { storagePrefix } from "./object-store.js";
import { PrefixCache } from "./prefix-cache.js";

export class KindCache<T extends KubeObject> {
  private byNs = new Map<string, Map<string, T>>();
  private readonly cache: PrefixCache;
  private started?: Promise<void>;

  constructor(objects: ObjectStore, resource: ResourceInfo, log?: (msg: string) => void) {
    const prefix = storagePrefix(resource);
    this.cache = new PrefixCache(objects.store, prefix, {
      reset: () => { this.byNs = new Map(); },
      apply: (key, value) => {
        // Keys are PREFIX + namespace/name, or PREFIX + name for a cluster-scoped kind.
        const rest = key.slice(prefix.length);
        const slash = rest.indexOf("/");
        const [ns, name] = resource.namespaced && slash >= 0 ? [rest.slice(0, slash), rest.slice(slash + 1)] : ["", rest];
        const m = this.byNs.get(ns) ?? new Map<string, T>();
        if (value === undefined) m.delete(name);
        else m.set(name, objects.decode(resource, { value, modRevision: 0 }) as T);
        if (m.size) this.byNs.set(ns, m);
        else this.byNs.delete(ns);
      },
    }, log);
  }

  /** The namespace's objects as last seen ("" for a cluster-scoped kind); started on first use. */
  async inNamespace(ns: string): Promise<T[]> {
    await (this.started ??= this.cache.start());
    return [...(this.byNs.get(ns)?.values() ?? [])];
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}
