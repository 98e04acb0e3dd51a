// The ReplicaSet controller: keeps spec.replicas active pods carrying the template, owned by the
// ReplicaSet, and reports counts in status.
import type { Pod } from "../../api/core.js";
import type { ReplicaSet } from "../../api/apps.js";
import { matchesLabels, selectorFromLabelSelector } from "../../api/selectors.js";
import { R, isNotFound, splitKey, keyOf } from "../kit/index.js";
import { Controller, Expectations, controllerOf, isPodActive, isPodReady, podAvailability, type ControllerContext } from "./context.js";

/** How many pods one pass creates or deletes at most (client-go's burstReplicas). */
const BURST = 250;

export class ReplicaSetController extends Controller {
  private readonly rs = this.ctx.informers.get<ReplicaSet>(R.replicasets);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly expectations = new Expectations();

  constructor(ctx: ControllerContext) { super("replicaset", ctx); }

  register(): void {
    this.rs.addEventHandler({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o), delete: (o) => { this.expectations.clear(keyOf(o)); } });
    const owner = (p: Pod) => {
      const ref = controllerOf(p);
      if (ref?.kind !== "ReplicaSet") return undefined;
      return this.rs.byIndex("uid", ref.uid)[0];
    };
    // An orphan pod may be adopted by any ReplicaSet of its namespace whose selector matches it.
    const adopters = (p: Pod) => {
      if (controllerOf(p)) return;
      for (const r of this.rs.byNamespace(p.metadata.namespace!)) if (matchesLabels(selectorFromLabelSelector(r.spec?.selector), p.metadata.labels) && r.spec?.selector && Object.keys(r.spec.selector).length) this.enqueue(r);
    };
    this.pods.addEventHandler({
      add: (p) => { adopters(p); const o = owner(p); if (o) { this.expectations.observedCreate(keyOf(o), p.metadata.name!); this.enqueue(o); } },
      update: (old, p) => { if (controllerOf(old) && !controllerOf(p)) adopters(p); const o = owner(p); if (o) { if (p.metadata.deletionTimestamp) this.expectations.observedDelete(keyOf(o), p.metadata.name!); this.enqueue(o); } },
      delete: (p) => { const o = owner(p); if (o) { this.expectations.observedDelete(keyOf(o), p.metadata.name!); this.enqueue(o); } },
    });
  }

  async reconcile(key: string): Promise<void> {
    const rs = this.rs.get(key);
    if (!rs) return;
    const { namespace } = splitKey(key);
    const owned = rs.metadata.deletionTimestamp ? this.pods.byIndex("owner", rs.metadata.uid!).filter((p) => controllerOf(p)?.uid === rs.metadata.uid) : await this.claimPods(rs);
    const active = owned.filter(isPodActive);
    if (!rs.metadata.deletionTimestamp && this.expectations.satisfied(key)) {
      const want = rs.spec?.replicas ?? 1;
      const diff = want - active.length;
      if (diff > 0) await this.createPods(key, rs, Math.min(diff, BURST));
      else if (diff < 0) await this.deletePods(key, rs, active, Math.min(-diff, BURST));
    }
    await this.updateStatus(rs, owned.filter(isPodActive), namespace!);
  }

  /**
   * client-go's ControllerRefManager: adopt orphan pods the selector matches (so an RS re-created
   * after `delete --cascade=orphan` takes its pods back), release owned pods it no longer matches.
   */
  private async claimPods(rs: ReplicaSet): Promise<Pod[]> {
    const sel = selectorFromLabelSelector(rs.spec?.selector);
    const out: Pod[] = [];
    const uid = rs.metadata.uid!;
    for (const p of this.pods.byIndex("owner", uid)) {
      if (controllerOf(p)?.uid !== uid) continue;
      if (matchesLabels(sel, p.metadata.labels) || p.metadata.deletionTimestamp) { out.push(p); continue; }
      const refs = (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      await this.patchOwners(p, refs);
    }
    if (!sel.length) return out;
    for (const p of this.pods.byNamespace(rs.metadata.namespace!)) {
      if (controllerOf(p) || p.metadata.deletionTimestamp || !isPodActive(p) || !matchesLabels(sel, p.metadata.labels)) continue;
      const refs = [...(p.metadata.ownerReferences ?? []), { apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid, controller: true, blockOwnerDeletion: true }];
      const adopted = await this.patchOwners(p, refs);
      if (adopted) out.push(adopted);
    }
    return out;
  }

  private async patchOwners(p: Pod, refs: NonNullable<Pod["metadata"]["ownerReferences"]>): Promise<Pod | undefined> {
    try {
      return await this.ctx.client.patch<Pod>(R.pods, p.metadata.namespace, p.metadata.name!, [
        { op: "test", path: "/metadata/resourceVersion", value: p.metadata.resourceVersion },
        { op: "add", path: "/metadata/ownerReferences", value: refs },
      ], "json");
    } catch (err) {
      // Changed or gone meanwhile: the next pass decides again on fresh data.
      if (isNotFound(err) || (err as { code?: number }).code === 409 || (err as { code?: number }).code === 422) return undefined;
      throw err;
    }
  }

  private async createPods(key: string, rs: ReplicaSet, n: number): Promise<void> {
    const tpl = rs.spec?.template ?? {};
    const errs: unknown[] = [];
    // Slow start (as client-go): 1, 2, 4 ... so a failing template costs one error, not n.
    let created = 0;
    for (let batch = 1; created < n; batch *= 2) {
      const size = Math.min(batch, n - created);
      await Promise.all(Array.from({ length: size }, async () => {
        const name = `${rs.metadata.name}-${Math.random().toString(36).slice(2, 7)}`;
        this.expectations.expectCreate(key, name);
        const pod: Pod = {
          metadata: {
            name, namespace: rs.metadata.namespace, labels: { ...(tpl.metadata?.labels ?? {}) },
            annotations: tpl.metadata?.annotations ? { ...tpl.metadata.annotations } : undefined,
            ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }],
          },
          spec: structuredClone(tpl.spec ?? { containers: [] }),
        };
        try {
          await this.ctx.client.create(R.pods, rs.metadata.namespace, pod);
        } catch (err) {
          this.expectations.createFailed(key, name);
          errs.push(err);
        }
      }));
      created += size;
      if (errs.length) break;
    }
    if (errs.length) {
      this.ctx.recorder.event({ ...rs, apiVersion: "apps/v1", kind: "ReplicaSet" }, "Warning", "FailedCreate", (errs[0] as Error).message);
      throw errs[0];
    }
    this.ctx.recorder.event({ ...rs, apiVersion: "apps/v1", kind: "ReplicaSet" }, "Normal", "SuccessfulCreate", `Created ${created} pod(s)`);
  }

  private async deletePods(key: string, rs: ReplicaSet, active: Pod[], n: number): Promise<void> {
    // Cheapest to lose first: unscheduled, then pending, then not ready, then the newest.
    const rank = (p: Pod) => (!p.spec?.nodeName ? 0 : p.status?.phase === "Pending" ? 1 : !isPodReady(p) ? 2 : 3);
    const victims = [...active].sort((a, b) => rank(a) - rank(b) || (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "")).slice(0, n);
    await Promise.all(victims.map(async (p) => {
      this.expectations.expectDelete(key, p.metadata.name!);
      try {
        await this.ctx.client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } });
      } catch (err) {
        this.expectations.observedDelete(key, p.metadata.name!);
        if (!isNotFound(err)) throw err;
      }
    }));
    this.ctx.recorder.event({ ...rs, apiVersion: "apps/v1", kind: "ReplicaSet" }, "Normal", "SuccessfulDelete", `Deleted ${victims.length} pod(s)`);
  }

  private async updateStatus(rs: ReplicaSet, active: Pod[], namespace: string): Promise<void> {
    const sel = selectorFromLabelSelector(rs.spec?.selector);
    const tplLabels = rs.spec?.template?.metadata?.labels ?? {};
    const ready = active.filter(isPodReady).length;
    let available = 0;
    for (const p of active) {
      const a = podAvailability(p, rs.spec?.minReadySeconds);
      if (a.available) available++;
      else if (a.recheckInMs !== undefined) this.queue.addAfter(`${namespace}/${rs.metadata.name}`, a.recheckInMs);
    }
    const status: NonNullable<ReplicaSet["status"]> = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => matchesLabels(sel, p.metadata.labels) && Object.entries(tplLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    const cur = rs.status ?? { replicas: 0 };
    if (cur.replicas === status.replicas && (cur.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas && (cur.readyReplicas ?? 0) === status.readyReplicas
      && (cur.availableReplicas ?? 0) === status.availableReplicas && cur.observedGeneration === status.observedGeneration) return;
    try {
      await this.ctx.client.patchStatus(R.replicasets, namespace, rs.metadata.name!, { status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
