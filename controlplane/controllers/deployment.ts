// The Deployment controller: one ReplicaSet per pod template, rolled with RollingUpdate
// (maxSurge / maxUnavailable) or Recreate, revisions in the deployment.kubernetes.io/revision
// annotation (what `kubectl rollout status|history|undo` read), pause, and history clean-up.
import type { Pod } from "../../api/core.js";
import type { Deployment, ReplicaSet } from "../../api/apps.js";
import type { Condition, IntOrString } from "../../api/meta.js";
import { R, isNotFound, isAlreadyExists, splitKey } from "../kit/index.js";
import { Controller, FreshCache, controllerOf, isPodActive, isPodReady, podAvailability, shortHash, stableJson, type ControllerContext } from "./context.js";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const HASH_LABEL = "pod-template-hash";

/** maxSurge rounds up, maxUnavailable down (as Kubernetes); both 0 would stall, so 1 unavailable. */
export function resolveFenceposts(d: Deployment): { surge: number; unavailable: number } {
  const want = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const val = (v: IntOrString | undefined, def: string, up: boolean) => {
    const x = v ?? def;
    if (typeof x === "number") return x;
    const pct = Number(x.replace(/%$/, ""));
    return up ? Math.ceil((pct * want) / 100) : Math.floor((pct * want) / 100);
  };
  const surge = val(ru?.maxSurge, "25%", true);
  let unavailable = val(ru?.maxUnavailable, "25%", false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, want) };
}

function templateWithoutHash(t: unknown): string {
  const c = structuredClone(t ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (c.metadata?.labels) delete c.metadata.labels[HASH_LABEL];
  return stableJson(c);
}

const revisionOf = (o: { metadata: { annotations?: Record<string, string> } }) => Number(o.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);

interface RsView { rs: ReplicaSet; replicas: number; active: number; available: number }

export class DeploymentController extends Controller {
  private readonly deps = this.ctx.informers.get<Deployment>(R.deployments);
  private readonly rss = this.ctx.informers.get<ReplicaSet>(R.replicasets);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly fresh = new FreshCache<ReplicaSet>();

  constructor(ctx: ControllerContext) { super("deployment", ctx); }

  register(): void {
    this.deps.addEventHandler({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o) });
    const owner = (o: { metadata: { ownerReferences?: { uid: string; kind: string; controller?: boolean }[] } }) => {
      const ref = o.metadata.ownerReferences?.find((r) => r.controller);
      return ref?.kind === "Deployment" ? this.deps.byIndex("uid", ref.uid)[0] : undefined;
    };
    const onRs = (rs: ReplicaSet) => { const d = owner(rs); if (d) this.enqueue(d); };
    this.rss.addEventHandler({ add: onRs, update: (_, o) => onRs(o), delete: (o) => { this.fresh.forget(o.metadata.uid!); onRs(o); } });
    // Pod readiness moves a rollout forward: enqueue the deployment owning the pod's ReplicaSet.
    const onPod = (p: Pod) => {
      const ref = controllerOf(p);
      if (ref?.kind !== "ReplicaSet") return;
      const rs = this.rss.byIndex("uid", ref.uid)[0];
      if (rs) onRs(rs);
    };
    this.pods.addEventHandler({ add: onPod, update: (_, p) => onPod(p), delete: onPod });
  }

  /** Pods available under the Deployment's minReadySeconds; schedules a re-check for the rest. */
  private availableCount(pods: Pod[], d: Deployment | undefined): number {
    let n = 0;
    for (const p of pods) {
      const a = podAvailability(p, d?.spec?.minReadySeconds);
      if (a.available) n++;
      else if (a.recheckInMs !== undefined && d) this.queue.addAfter(`${d.metadata.namespace}/${d.metadata.name}`, a.recheckInMs);
    }
    return n;
  }

  private view(rs: ReplicaSet, d?: Deployment): RsView {
    const cur = this.fresh.read(rs);
    const pods = this.pods.byIndex("owner", rs.metadata.uid!).filter((p) => controllerOf(p)?.uid === rs.metadata.uid && isPodActive(p));
    const replicas = cur.spec?.replicas ?? 0;
    // An RS about to shrink keeps at most `replicas` pods, and it deletes not-ready ones first:
    // counting min(ready, replicas) never over-states what will stay available.
    return { rs: cur, replicas, active: pods.length, available: Math.min(this.availableCount(pods, d), replicas) };
  }

  async reconcile(key: string): Promise<void> {
    const d = this.deps.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const owned = this.rss.byIndex("owner", d.metadata.uid!).filter((rs) => controllerOf(rs)?.uid === d.metadata.uid && !rs.metadata.deletionTimestamp).map((rs) => this.view(rs, d));
    const tplKey = templateWithoutHash(d.spec?.template);
    let newRs = owned.find((v) => templateWithoutHash(v.rs.spec?.template) === tplKey);
    const olds = owned.filter((v) => v !== newRs);
    const want = d.spec?.replicas ?? 1;
    const maxRevision = Math.max(0, ...owned.map((v) => revisionOf(v.rs)));

    if (d.spec?.paused) {
      // Paused: scale only, never roll.
      if (newRs && !olds.some((v) => v.replicas > 0)) await this.scale(newRs, want);
      await this.syncStatus(d, newRs, owned, namespace!);
      return;
    }

    if (!newRs) newRs = await this.createNewRs(d, maxRevision + 1, namespace!, olds.length === 0 ? want : 0);
    else if (revisionOf(newRs.rs) < maxRevision || d.metadata.annotations?.[REVISION_ANNOTATION] !== String(revisionOf(newRs.rs))) {
      // An old template came back (rollout undo): it becomes the newest revision.
      const rev = revisionOf(newRs.rs) < maxRevision ? maxRevision + 1 : revisionOf(newRs.rs);
      if (rev !== revisionOf(newRs.rs)) newRs = { ...newRs, rs: await this.writeRs(newRs.rs, { metadata: { annotations: { [REVISION_ANNOTATION]: String(rev) } } }) };
      await this.ctx.client.patch(R.deployments, namespace, d.metadata.name!, { metadata: { annotations: { [REVISION_ANNOTATION]: String(rev) } } });
    }

    if (d.spec?.strategy?.type === "Recreate") await this.recreate(want, newRs, olds);
    else await this.rollingUpdate(d, want, newRs, olds);
    await this.cleanup(d, olds);
    await this.syncStatus(d, newRs, [newRs, ...olds], namespace!);
  }

  private async createNewRs(d: Deployment, revision: number, namespace: string, replicas: number): Promise<RsView> {
    const tpl = structuredClone(d.spec!.template);
    const hash = shortHash(templateWithoutHash(tpl)).slice(0, 10);
    tpl.metadata = { ...(tpl.metadata ?? {}), labels: { ...(tpl.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
    const selector = structuredClone(d.spec!.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    const rs: ReplicaSet = {
      metadata: {
        name: `${d.metadata.name}-${hash}`, namespace, labels: { ...(tpl.metadata.labels ?? {}) },
        annotations: { [REVISION_ANNOTATION]: String(revision), "deployment.kubernetes.io/desired-replicas": String(d.spec?.replicas ?? 1), "deployment.kubernetes.io/max-replicas": String((d.spec?.replicas ?? 1) + resolveFenceposts(d).surge), ...(d.metadata.annotations?.["kubernetes.io/change-cause"] ? { "kubernetes.io/change-cause": d.metadata.annotations["kubernetes.io/change-cause"] } : {}) },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: { replicas, minReadySeconds: d.spec?.minReadySeconds, selector, template: tpl },
    };
    let created: ReplicaSet;
    try {
      created = await this.ctx.client.create(R.replicasets, namespace, rs);
      this.ctx.recorder.event({ ...d, apiVersion: "apps/v1", kind: "Deployment" }, "Normal", "ScalingReplicaSet", `Scaled up replica set ${rs.metadata.name} to ${replicas}`);
    } catch (err) {
      // A name collision with an RS the informer has not shown yet: read it and go on.
      if (!isAlreadyExists(err)) throw err;
      created = await this.ctx.client.get<ReplicaSet>(R.replicasets, namespace, rs.metadata.name!);
      if (controllerOf(created)?.uid !== d.metadata.uid) throw err;
    }
    this.fresh.observe(created);
    await this.ctx.client.patch(R.deployments, namespace, d.metadata.name!, { metadata: { annotations: { [REVISION_ANNOTATION]: String(revisionOf(created)) } } });
    return this.view(created, d);
  }

  private async writeRs(rs: ReplicaSet, patch: unknown): Promise<ReplicaSet> {
    const out = await this.ctx.client.patch<ReplicaSet>(R.replicasets, rs.metadata.namespace, rs.metadata.name!, patch);
    this.fresh.observe(out);
    return out;
  }

  private async scale(v: RsView, replicas: number): Promise<void> {
    if (v.replicas === replicas) return;
    await this.writeRs(v.rs, { spec: { replicas } });
    v.replicas = replicas;
  }

  private async recreate(want: number, newRs: RsView, olds: RsView[]): Promise<void> {
    for (const o of olds) await this.scale(o, 0);
    // The new pods start only once every old one is gone.
    if (olds.some((o) => o.active > 0)) return;
    await this.scale(newRs, want);
  }

  private async rollingUpdate(d: Deployment, want: number, newRs: RsView, olds: RsView[]): Promise<void> {
    const { surge, unavailable } = resolveFenceposts(d);
    const all = [newRs, ...olds];
    // Pods that exist count even when the RS is already told to shrink (the delete is in flight).
    const total = () => all.reduce((s, v) => s + Math.max(v.replicas, v.active), 0);
    // Scale the new RS up within the surge.
    if (newRs.replicas < want) {
      const room = want + surge - total();
      if (room > 0) await this.scale(newRs, Math.min(want, newRs.replicas + room));
    } else if (newRs.replicas > want) {
      await this.scale(newRs, want);
    }
    // Scale the old ones down without going under want - maxUnavailable available pods.
    const minAvailable = want - unavailable;
    // First the old replicas that are not available anyway (losing them costs nothing).
    for (const o of olds) {
      const unhealthy = o.replicas - o.available;
      if (unhealthy > 0) await this.scale(o, o.replicas - unhealthy);
    }
    let budget = all.reduce((s, v) => s + v.available, 0) - minAvailable;
    const oldest = [...olds].sort((a, b) => (a.rs.metadata.creationTimestamp ?? "").localeCompare(b.rs.metadata.creationTimestamp ?? ""));
    for (const o of oldest) {
      if (budget <= 0) break;
      const cut = Math.min(o.replicas, budget);
      if (cut > 0) { await this.scale(o, o.replicas - cut); budget -= cut; }
    }
  }

  private async cleanup(d: Deployment, olds: RsView[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = olds.filter((o) => o.replicas === 0 && o.active === 0).sort((a, b) => revisionOf(a.rs) - revisionOf(b.rs));
    for (const o of idle.slice(0, Math.max(0, idle.length - limit))) {
      try { await this.ctx.client.delete(R.replicasets, o.rs.metadata.namespace, o.rs.metadata.name!); } catch (err) { if (!isNotFound(err)) throw err; }
    }
  }

  private async syncStatus(d: Deployment, newRs: RsView | undefined, all: RsView[], namespace: string): Promise<void> {
    const want = d.spec?.replicas ?? 1;
    const podsOf = (v: RsView) => this.pods.byIndex("owner", v.rs.metadata.uid!).filter((p) => controllerOf(p)?.uid === v.rs.metadata.uid && isPodActive(p));
    const allPods = all.flatMap(podsOf);
    const ready = allPods.filter(isPodReady).length;
    const available = this.availableCount(allPods, d);
    const updated = newRs ? podsOf(newRs).length : 0;
    const updatedReady = newRs ? podsOf(newRs).filter(isPodReady).length : 0;
    const { unavailable } = resolveFenceposts(d);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const complete = updated === want && allPods.length === want && updatedReady === want && available >= want;
    const prevConds = d.status?.conditions ?? [];
    const cond = (type: string, status: "True" | "False", reason: string, message: string): Condition => {
      const prev = prevConds.find((c) => c.type === type);
      const changed = !prev || prev.status !== status || prev.reason !== reason;
      return { type, status, reason, message, lastUpdateTime: changed ? now : prev!.lastUpdateTime, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now } as Condition;
    };
    const rsName = newRs?.rs.metadata.name ?? "";
    // Progress: any change in the counts; none for progressDeadlineSeconds means the rollout is stuck.
    const prevProg = prevConds.find((c) => c.type === "Progressing");
    const counts = (s: Deployment["status"]) => [s?.replicas ?? 0, s?.updatedReplicas ?? 0, s?.readyReplicas ?? 0, s?.availableReplicas ?? 0].join(",");
    const progressed = counts(d.status) !== [allPods.length, updated, ready, available].join(",") || d.status?.observedGeneration !== d.metadata.generation;
    const deadlineS = d.spec?.progressDeadlineSeconds ?? 600;
    // kube keeps the time of the last progress in lastUpdateTime; an API server that drops that
    // field (keel's did at the time of writing) leaves lastTransitionTime as the only clock.
    const clock: "lastUpdateTime" | "lastTransitionTime" = prevProg && !prevProg.lastUpdateTime ? "lastTransitionTime" : "lastUpdateTime";
    const prevClock = (prevProg as Record<string, unknown> | undefined)?.[clock] as string | undefined;
    const lastProgress = progressed || !prevClock ? Date.now() : Date.parse(prevClock);
    // Once timed out it stays so until something moves (as in Kubernetes).
    const stuck = !complete && !d.spec?.paused && (Date.now() - lastProgress > deadlineS * 1000 || (!progressed && prevProg?.reason === "ProgressDeadlineExceeded"));
    if (!complete && !d.spec?.paused && !stuck) this.queue.addAfter(`${namespace}/${d.metadata.name}`, lastProgress + deadlineS * 1000 - Date.now() + 50);
    const progressing = (reason: string, message: string): Condition => {
      const c = cond("Progressing", "True", reason, message);
      return progressed ? { ...c, lastUpdateTime: now, ...(clock === "lastTransitionTime" ? { lastTransitionTime: now } : {}) } as Condition : c;
    };
    const conditions = [
      available >= want - unavailable ? cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.") : cond("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
      d.spec?.paused ? cond("Progressing", "False", "DeploymentPaused", "Deployment is paused")
        : complete ? progressing("NewReplicaSetAvailable", `ReplicaSet "${rsName}" has successfully progressed.`)
        : stuck ? cond("Progressing", "False", "ProgressDeadlineExceeded", `ReplicaSet "${rsName}" has timed out progressing.`)
        : progressing("ReplicaSetUpdated", `ReplicaSet "${rsName}" is progressing.`),
    ];
    const status: NonNullable<Deployment["status"]> = {
      observedGeneration: d.metadata.generation,
      replicas: allPods.length, updatedReplicas: updated, readyReplicas: ready, availableReplicas: available,
      unavailableReplicas: Math.max(0, want - available), conditions,
    };
    const strip = (s: Deployment["status"]) => stableJson({ ...s, conditions: (s?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason })) });
    if (strip(d.status) === strip(status)) return;
    try {
      await this.ctx.client.patchStatus(R.deployments, namespace, d.metadata.name!, { status });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
