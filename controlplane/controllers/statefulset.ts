// The StatefulSet controller: pods NAME-0 … NAME-(n-1) with stable names and hostnames; with
// OrderedReady (the default) pod i is created only once 0 … i-1 are Running and Ready, scale-down
// removes the highest ordinal first, one at a time; RollingUpdate replaces pods from the highest
// ordinal down to the partition, one at a time. Each template gets a ControllerRevision
// (status.currentRevision/updateRevision name them; kubectl rollout history|undo use them).
import type { Pod } from "../../api/core.js";
import type { StatefulSet } from "../../api/apps.js";
import type { ControllerRevision } from "../../api/policy.js";
import { R, isNotFound, isAlreadyExists, splitKey } from "../kit/index.js";
import { Controller, controllerOf, isPodReady, stableJson, podFromTemplate, type ControllerContext } from "./context.js";
import { CONTROLLER_REVISIONS, REVISION_HASH_LABEL, RevisionHistory, templateHash } from "./controller-revision.js";

export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

function ordinal(set: StatefulSet, p: Pod): number {
  const m = new RegExp(`^${set.metadata.name!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)$`).exec(p.metadata.name!);
  return m ? Number(m[1]) : -1;
}

export class StatefulSetController extends Controller {
  private readonly sets = this.ctx.informers.get<StatefulSet>(R.statefulsets);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);

  private readonly history = new RevisionHistory(this.ctx.client, this.ctx.informers.get<ControllerRevision>(CONTROLLER_REVISIONS), "StatefulSet");

  constructor(ctx: ControllerContext) { super("statefulset", ctx); }

  register(): void {
    this.sets.addEventHandler({
      add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o),
      delete: (o) => { void this.history.removeAll(o).catch((err) => this.ctx.log(`statefulset: revisions of ${o.metadata.name}: ${(err as Error).message}`)); },
    });
    const onPod = (p: Pod) => { const r = controllerOf(p); if (r?.kind === "StatefulSet") { const s = this.sets.byIndex("uid", r.uid)[0]; if (s) this.enqueue(s); } };
    this.pods.addEventHandler({ add: onPod, update: (_, p) => onPod(p), delete: onPod });
  }

  async reconcile(key: string): Promise<void> {
    const set = this.sets.get(key);
    if (!set || set.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const want = set.spec?.replicas ?? 1;
    const ordered = (set.spec?.podManagementPolicy ?? "OrderedReady") === "OrderedReady";
    const hash = templateHash(set.spec?.template);
    const pods = new Map<number, Pod>();
    for (const p of this.pods.byIndex("owner", set.metadata.uid!)) {
      if (controllerOf(p)?.uid !== set.metadata.uid) continue;
      const i = ordinal(set, p);
      if (i >= 0) pods.set(i, p);
    }
    await this.history.sync(set, hash, [...pods.values()]);
    const ready = (p: Pod | undefined) => !!p && isPodReady(p);
    // A failed pod is replaced (deleted first; recreated on a later pass under the same name).
    for (const [i, p] of pods) {
      if (!p.metadata.deletionTimestamp && (p.status?.phase === "Failed" || p.status?.phase === "Succeeded")) {
        await this.remove(p);
        pods.delete(i);
      }
    }
    let blocked = false;
    // Scale up, in order.
    for (let i = 0; i < want && !blocked; i++) {
      const p = pods.get(i);
      if (!p) {
        await this.create(set, i, hash, namespace!);
        if (ordered) blocked = true;
      } else if (p.metadata.deletionTimestamp || (ordered && !ready(p))) {
        if (ordered) blocked = true;
      }
    }
    // Scale down, highest first, one at a time when ordered.
    const extra = [...pods.keys()].filter((i) => i >= want).sort((a, b) => b - a);
    if (!blocked && extra.length) {
      const terminating = extra.some((i) => pods.get(i)!.metadata.deletionTimestamp);
      if (!ordered) for (const i of extra) await this.remove(pods.get(i)!);
      else if (!terminating && [...pods.entries()].filter(([i]) => i < want).every(([, p]) => ready(p))) await this.remove(pods.get(extra[0]!)!);
      blocked = true;
    }
    // Rolling update: the highest out-of-date ordinal ≥ partition goes when all others are ready.
    if (!blocked && (set.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
      const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
      const all = [...pods.entries()].filter(([i]) => i < want);
      if (all.length === want && all.every(([, p]) => ready(p) && !p.metadata.deletionTimestamp)) {
        const stale = all.filter(([i, p]) => i >= partition && p.metadata.labels?.[REVISION_HASH_LABEL] !== hash).sort((a, b) => b[0] - a[0]);
        if (stale.length) await this.remove(stale[0]![1]);
      }
    }
    const live = [...pods.values()].filter((p) => !p.metadata.deletionTimestamp);
    // Until a rolling update is done, the current revision is the one the not-yet-updated pods run.
    const currentHash = [...live].sort((a, b) => ordinal(set, a) - ordinal(set, b)).map((p) => p.metadata.labels?.[REVISION_HASH_LABEL]).find((h) => h && h !== hash) ?? hash;
    const status: NonNullable<StatefulSet["status"]> = {
      observedGeneration: set.metadata.generation,
      replicas: live.length,
      readyReplicas: live.filter(isPodReady).length,
      availableReplicas: live.filter(isPodReady).length,
      currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === currentHash).length,
      updatedReplicas: live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash).length,
      currentRevision: `${set.metadata.name}-${currentHash}`,
      updateRevision: `${set.metadata.name}-${hash}`,
    };
    if (stableJson(set.status ?? {}) === stableJson(status)) return;
    try { await this.ctx.client.patchStatus(R.statefulsets, namespace, set.metadata.name!, { status }); } catch (err) { if (!isNotFound(err)) throw err; }
  }

  private async create(set: StatefulSet, i: number, hash: string, namespace: string): Promise<void> {
    const name = `${set.metadata.name}-${i}`;
    const pod = podFromTemplate(set.spec?.template, set, "apps/v1", "StatefulSet", name, {
      labels: { [POD_NAME_LABEL]: name, [POD_INDEX_LABEL]: String(i), [REVISION_HASH_LABEL]: hash },
      spec: { hostname: name, ...(set.spec?.serviceName ? { subdomain: set.spec.serviceName } : {}) },
    });
    try { await this.ctx.client.create(R.pods, namespace, pod); } catch (err) {
      // The old pod of that name is still terminating, or the informer has not shown ours yet.
      if (!isAlreadyExists(err)) throw err;
    }
  }

  private async remove(p: Pod): Promise<void> {
    try { await this.ctx.client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }); } catch (err) { if (!isNotFound(err)) throw err; }
  }
}
