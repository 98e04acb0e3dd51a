// Reactions to writes that kube-apiserver (and its in-process controllers) perform:
// - a CRD written → its custom resources are served (or withdrawn, and their objects deleted);
// - a namespace marked for deletion → every object in it is deleted, then the namespace.
import type { KubeObject } from "../../api/meta.js";
import type { ResourceInfo, ResourceRegistry } from "../../api/registry.js";
import type { CustomResourceDefinition } from "../../api/extensions.js";
import { ApiError } from "./errors.js";
import type { ObjectStore } from "./object-store.js";

export class Lifecycle {
  private objects?: ObjectStore;
  private readonly finalizing = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly registry: ResourceRegistry, private readonly log: (msg: string) => void = () => {}) {}

  attach(objects: ObjectStore): void {
    this.objects = objects;
  }

  afterWrite(r: ResourceInfo, obj: KubeObject, deleted: boolean): void | Promise<void> {
    if (r.group === "apiextensions.k8s.io" && r.kind === "CustomResourceDefinition") {
      const crd = obj as CustomResourceDefinition;
      if (deleted) {
        // The delete answers once the custom objects are gone, as kube-apiserver's
        // customresourcecleanup finalizer makes it wait.
        const done = this.deleteCustomObjects(crd);
        this.registry.remove(crd.spec.group, crd.spec.names.plural);
        return done;
      }
      this.registry.syncCustomResource(crd);
    }
    if (r.group === "" && r.kind === "Namespace" && !deleted && obj.metadata.deletionTimestamp) {
      this.track(this.finalizeNamespace(obj.metadata.name!));
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.catch((err) => this.log(`lifecycle: ${(err as Error).message}`)).finally(() => this.pending.delete(p));
  }

  /** Loads CRDs and resumes namespace deletions after a restart. */
  async start(): Promise<void> {
    const o = this.objects!;
    const crdR = this.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;
    for (const crd of (await o.list(crdR, undefined)).items) this.registry.syncCustomResource(crd as CustomResourceDefinition);
    const nsR = this.registry.get("", "v1", "namespaces")!;
    for (const ns of (await o.list(nsR, undefined)).items) if (ns.metadata.deletionTimestamp) this.track(this.finalizeNamespace(ns.metadata.name!));
  }

  private async deleteCustomObjects(crd: CustomResourceDefinition): Promise<void> {
    const o = this.objects!;
    const storageVersion = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name;
    const r = this.registry.get(crd.spec.group, storageVersion, crd.spec.names.plural);
    if (!r) return;
    for (const item of (await o.list(r, undefined)).items) {
      await o.store.delete(o.key(r, item.metadata.namespace, item.metadata.name!)).catch(() => undefined);
    }
  }

  /** Deletes everything in the namespace, then clears its finalizer so it goes too. */
  private async finalizeNamespace(name: string): Promise<void> {
    if (this.finalizing.has(name)) return;
    this.finalizing.add(name);
    const o = this.objects!;
    try {
      for (let round = 0; !this.closed; round++) {
        let remaining = 0;
        for (const r of this.registry.all()) {
          if (!r.namespaced) continue;
          const list = await o.list(r, name);
          for (const item of list.items) {
            remaining++;
            try { await o.delete(r, name, item.metadata.name!, { gracePeriodSeconds: 0 }); } catch (err) {
              if (!(err instanceof ApiError && err.code === 404)) throw err;
            }
          }
        }
        if (remaining === 0) break;
        // Objects with finalizers of their own go when their controllers let them.
        await new Promise((res) => setTimeout(res, Math.min(2000, 100 * (round + 1))));
        remaining = 0;
        let left = 0;
        for (const r of this.registry.all()) if (r.namespaced) left += (await o.list(r, name)).items.length;
        if (left === 0) break;
      }
      if (this.closed) return;
      const nsR = this.registry.get("", "v1", "namespaces")!;
      await o.guaranteedUpdate(nsR, undefined, name, (ns) => {
        (ns.spec as { finalizers?: string[] }) = { ...((ns.spec as object) ?? {}), finalizers: [] };
        return ns;
      }).catch((err) => { if (!(err instanceof ApiError && err.code === 404)) throw err; });
    } finally {
      this.finalizing.delete(name);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
  }
}
