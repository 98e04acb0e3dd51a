// Reactions to writes that kube-apiserver (and its in-process controllers) perform:
// - a CRD written → its custom resources are served (or withdrawn, and their objects deleted);
// - a namespace marked for deletion → every object in it is deleted, then the namespace.
import type { KubeObject } from "../../api/meta.js";
import type { ResourceInfo, ResourceRegistry } from "../../api/registry.js";
import type { CustomResourceDefinition } from "../../api/extensions.js";
import { ApiError } from "./errors.js";
import { SYSTEM_PRIORITY_CLASSES } from "../../api/scheduling.js";
import type { ObjectStore } from "./object-store.js";
import type { Watch } from "../store/index.js";

export class Lifecycle {
  private objects?: ObjectStore;
  private readonly finalizing = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private closed = false;
  private crdWatch?: Watch;
  private followed = new Map<string, CustomResourceDefinition>();

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
    await this.followCrds();
    const nsR = this.registry.get("", "v1", "namespaces")!;
    for (const ns of (await o.list(nsR, undefined)).items) if (ns.metadata.deletionTimestamp) this.track(this.finalizeNamespace(ns.metadata.name!));
    await this.ensureSystemPriorityClasses();
  }

  /**
   * Loads the CRDs, then follows the store's changes to them, so CRDs written through another
   * API server on the same etcd are served here too. A broken watch re-lists and watches again.
   */
  private async followCrds(): Promise<void> {
    const o = this.objects!;
    const crdR = this.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;
    const list = await o.list(crdR, undefined);
    const seen = new Set<string>();
    for (const crd of list.items) { this.registry.syncCustomResource(crd as CustomResourceDefinition); seen.add(crd.metadata.name!); }
    // On a re-list, CRDs deleted meanwhile are withdrawn.
    for (const [name, crd] of this.followed) if (!seen.has(name)) this.registry.remove(crd.spec.group, crd.spec.names.plural);
    this.followed = new Map(list.items.map((c) => [c.metadata.name!, c as CustomResourceDefinition]));
    const retry = () => {
      if (this.closed) return;
      this.crdWatch = undefined;
      const t = setTimeout(() => this.track(this.followCrds()), 1000);
      t.unref();
    };
    this.crdWatch = await o.watch(crdR, undefined, Number(list.resourceVersion) + 1, (ev) => {
      try {
        const crd = JSON.parse(ev.value) as CustomResourceDefinition;
        if (ev.type === "DELETE") {
          this.followed.delete(crd.metadata.name!);
          this.registry.remove(crd.spec.group, crd.spec.names.plural);
        } else {
          this.followed.set(crd.metadata.name!, crd);
          this.registry.syncCustomResource(crd);
        }
      } catch (err) {
        this.log(`lifecycle: bad CRD in the store at ${ev.key}: ${(err as Error).message}`);
      }
    }, () => retry());
    if (this.closed) await this.crdWatch.cancel();
  }

  /** system-cluster-critical and system-node-critical exist from the first start on. */
  private async ensureSystemPriorityClasses(): Promise<void> {
    const o = this.objects!;
    const pcR = this.registry.get("scheduling.k8s.io", "v1", "priorityclasses");
    if (!pcR) return;
    for (const pc of SYSTEM_PRIORITY_CLASSES) {
      try {
        await o.create(pcR, undefined, structuredClone(pc));
      } catch (err) {
        // Already there (a restart, or another API server on the same etcd won the race).
        if (!(err instanceof ApiError && err.reason === "AlreadyExists")) throw err;
      }
    }
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
    await this.crdWatch?.cancel().catch(() => undefined);
    await Promise.allSettled([...this.pending]);
  }
}
