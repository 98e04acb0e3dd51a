// The garbage collector: an object whose owners are all gone is deleted (background cascading);
// an owner being deleted with the "orphan" finalizer has its dependents' ownerReferences
// removed; with "foregroundDeletion" its dependents are deleted first, then the finalizer.
import type { KubeObject } from "../../api/meta.js";
import { R, isNotFound, isConflict, resourceByKind, type Resource, type Informer } from "../kit/index.js";
import { Controller, type ControllerContext } from "./context.js";

/** The kinds the collector watches as dependents and owners. */
const WATCHED: Resource[] = [R.pods, R.replicasets, R.deployments, R.daemonsets, R.statefulsets, R.jobs, R.cronjobs, R.endpointslices, R.endpoints, R.services, R.configmaps, R.secrets, R.serviceaccounts, R.leases, R.nodes];

export class GarbageCollector extends Controller {
  private readonly infs = new Map<string, Informer>();
  constructor(ctx: ControllerContext) { super("garbage-collector", ctx); }

  register(): void {
    for (const res of WATCHED) {
      const inf = this.ctx.informers.get(res);
      this.infs.set(res.plural, inf);
      const enqueue = (o: KubeObject) => {
        if (o.metadata.ownerReferences?.length) this.queue.add(this.keyFor(res, o));
        // An owner changing (deleted, finalizers) concerns it and its dependents.
        if (o.metadata.deletionTimestamp && o.metadata.finalizers?.some((f) => f === "orphan" || f === "foregroundDeletion")) this.queue.add(this.keyFor(res, o));
      };
      inf.addEventHandler({
        add: enqueue, update: (_, o) => enqueue(o),
        delete: (o) => { for (const dep of this.dependents(o.metadata.uid!)) this.queue.add(dep); },
      });
    }
  }

  private keyFor(res: Resource, o: KubeObject): string {
    return `${res.plural}|${o.metadata.namespace ?? ""}|${o.metadata.name}`;
  }

  private dependents(uid: string): string[] {
    const out: string[] = [];
    for (const res of WATCHED) for (const o of this.infs.get(res.plural)!.byIndex("owner", uid)) out.push(this.keyFor(res, o));
    return out;
  }

  private dependentObjects(uid: string): { res: Resource; obj: KubeObject }[] {
    const out: { res: Resource; obj: KubeObject }[] = [];
    for (const res of WATCHED) for (const obj of this.infs.get(res.plural)!.byIndex("owner", uid)) out.push({ res, obj });
    return out;
  }

  async reconcile(key: string): Promise<void> {
    const [plural, ns, name] = key.split("|");
    const res = WATCHED.find((r) => r.plural === plural)!;
    const obj = this.infs.get(plural!)!.getByName(ns || undefined, name!);
    if (!obj) return;
    if (obj.metadata.deletionTimestamp) await this.finalizeOwner(res, obj);
    const refs = obj.metadata.ownerReferences ?? [];
    if (!refs.length || obj.metadata.deletionTimestamp) return;
    for (const ref of refs) if (await this.ownerExists(ref, obj.metadata.namespace)) return;
    try {
      await this.ctx.client.delete(res, obj.metadata.namespace, obj.metadata.name!, { propagationPolicy: "Background", preconditions: { uid: obj.metadata.uid } });
      this.ctx.log(`garbage-collector: deleted ${plural} ${ns}/${name}: its owners are gone`);
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  private async ownerExists(ref: { apiVersion: string; kind: string; name: string; uid: string }, namespace?: string): Promise<boolean> {
    const res = resourceByKind(ref.apiVersion, ref.kind);
    if (!res) return true; // a kind we cannot check: never delete on a guess
    const inf = this.infs.get(res.plural);
    if (inf?.byIndex("uid", ref.uid).length) return true;
    // Not in the cache (maybe not seen yet): ask the API server before deleting anything.
    try {
      const o = await this.ctx.client.get(res, res.namespaced ? namespace : undefined, ref.name);
      return o.metadata.uid === ref.uid;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async finalizeOwner(res: Resource, owner: KubeObject): Promise<void> {
    const fins = owner.metadata.finalizers ?? [];
    const uid = owner.metadata.uid!;
    if (fins.includes("orphan")) {
      for (const { res: dres, obj } of this.dependentObjects(uid)) {
        const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        try { await this.ctx.client.patch(dres, obj.metadata.namespace, obj.metadata.name!, { metadata: { ownerReferences: refs.length ? refs : null } }); } catch (err) { if (!isNotFound(err)) throw err; }
      }
      await this.removeFinalizer(res, owner, "orphan");
    } else if (fins.includes("foregroundDeletion")) {
      const deps = this.dependentObjects(uid);
      for (const { res: dres, obj } of deps) {
        if (obj.metadata.deletionTimestamp) continue;
        try { await this.ctx.client.delete(dres, obj.metadata.namespace, obj.metadata.name!, { propagationPolicy: "Foreground" }); } catch (err) { if (!isNotFound(err)) throw err; }
      }
      // Only dependents that block their owner's deletion hold it back.
      if (deps.some(({ obj }) => obj.metadata.ownerReferences?.some((r) => r.uid === uid && r.blockOwnerDeletion))) {
        this.queue.addAfter(`${res.plural}|${owner.metadata.namespace ?? ""}|${owner.metadata.name}`, 500);
        return;
      }
      await this.removeFinalizer(res, owner, "foregroundDeletion");
    }
  }

  private async removeFinalizer(res: Resource, owner: KubeObject, fin: string): Promise<void> {
    const rest = (owner.metadata.finalizers ?? []).filter((f) => f !== fin);
    try {
      await this.ctx.client.patch(res, owner.metadata.namespace, owner.metadata.name!, [
        { op: "test", path: "/metadata/resourceVersion", value: owner.metadata.resourceVersion },
        { op: "replace", path: "/metadata/finalizers", value: rest },
      ], "json");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
