// The DaemonSet controller: one pod per eligible node (nodeSelector matches, NoSchedule /
// NoExecute taints tolerated), placed through the scheduler by node affinity on metadata.name
// (as Kubernetes does since 1.12); rolling update replaces out-of-date pods maxUnavailable at a
// time. Each template gets a ControllerRevision (kubectl rollout history|undo read and patch them).
import type { Node, Pod, Taint, Toleration } from "../../api/core.js";
import type { DaemonSet } from "../../api/apps.js";
import type { ControllerRevision } from "../../api/policy.js";
import { R, isNotFound, splitKey } from "../kit/index.js";
import { Controller, Expectations, controllerOf, isPodActive, isPodReady, stableJson, randomSuffix, podFromTemplate, type ControllerContext } from "./context.js";
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from "./node-lifecycle.js";
import { CONTROLLER_REVISIONS, REVISION_HASH_LABEL, RevisionHistory, templateHash } from "./controller-revision.js";

export { REVISION_HASH_LABEL };

/** The tolerations every daemon pod gets, so node trouble does not evict it. */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: TAINT_NOT_READY, operator: "Exists", effect: "NoExecute" },
  { key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

function tolerated(tols: Toleration[], t: Taint): boolean {
  return tols.some((tol) => (!tol.effect || tol.effect === t.effect) && (tol.operator === "Exists" ? !tol.key || tol.key === t.key : tol.key === t.key && (tol.value ?? "") === (t.value ?? "")));
}

/** The node a daemon pod is for: where it is bound, or its affinity's metadata.name. */
export function daemonPodNode(p: Pod): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  const terms = (p.spec?.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchFields?: { key: string; values?: string[] }[] }[] } } } | undefined)
    ?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) for (const f of t.matchFields ?? []) if (f.key === "metadata.name" && f.values?.length === 1) return f.values[0];
  return undefined;
}

export class DaemonSetController extends Controller {
  private readonly dss = this.ctx.informers.get<DaemonSet>(R.daemonsets);
  private readonly nodes = this.ctx.informers.get<Node>(R.nodes);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly expectations = new Expectations();
  private readonly history = new RevisionHistory(this.ctx.client, this.ctx.informers.get<ControllerRevision>(CONTROLLER_REVISIONS), "DaemonSet");

  constructor(ctx: ControllerContext) { super("daemonset", ctx); }

  register(): void {
    this.dss.addEventHandler({
      add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o),
      delete: (o) => { void this.history.removeAll(o).catch((err) => this.ctx.log(`daemonset: revisions of ${o.metadata.name}: ${(err as Error).message}`)); },
    });
    const all = () => { for (const d of this.dss.list()) this.enqueue(d); };
    this.nodes.addEventHandler({ add: all, update: (a, b) => { if (stableJson(a.metadata.labels) !== stableJson(b.metadata.labels) || stableJson(a.spec?.taints) !== stableJson(b.spec?.taints)) all(); }, delete: all });
    const owner = (p: Pod) => { const r = controllerOf(p); return r?.kind === "DaemonSet" ? this.dss.byIndex("uid", r.uid)[0] : undefined; };
    const key = (d: DaemonSet) => `${d.metadata.namespace}/${d.metadata.name}`;
    this.pods.addEventHandler({
      add: (p) => { const d = owner(p); if (d) { this.expectations.observedCreate(key(d), p.metadata.name!); this.enqueue(d); } },
      update: (_, p) => { const d = owner(p); if (d) { if (p.metadata.deletionTimestamp) this.expectations.observedDelete(key(d), p.metadata.name!); this.enqueue(d); } },
      delete: (p) => { const d = owner(p); if (d) { this.expectations.observedDelete(key(d), p.metadata.name!); this.enqueue(d); } },
    });
  }

  private eligible(ds: DaemonSet, node: Node): boolean {
    const sel = ds.spec?.template.spec?.nodeSelector ?? {};
    if (!Object.entries(sel).every(([k, v]) => node.metadata.labels?.[k] === v)) return false;
    const tols = [...(ds.spec?.template.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS];
    return (node.spec?.taints ?? []).every((t) => t.effect === "PreferNoSchedule" || tolerated(tols, t));
  }

  async reconcile(key: string): Promise<void> {
    const ds = this.dss.get(key);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const hash = templateHash(ds.spec?.template);
    const pods = this.pods.byIndex("owner", ds.metadata.uid!).filter((p) => controllerOf(p)?.uid === ds.metadata.uid && isPodActive(p));
    await this.history.sync(ds, hash, pods);
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) { const n = daemonPodNode(p) ?? ""; byNode.set(n, [...(byNode.get(n) ?? []), p]); }
    const nodes = this.nodes.list().filter((n) => this.eligible(ds, n));
    const wanted = new Set(nodes.map((n) => n.metadata.name!));
    const toCreate: string[] = [];
    const toDelete: Pod[] = [];
    for (const n of wanted) {
      const here = byNode.get(n) ?? [];
      if (!here.length) toCreate.push(n);
      // Keep the oldest; more than one pod per node is a mistake to undo.
      else toDelete.push(...[...here].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "")).slice(1));
    }
    for (const [n, ps] of byNode) if (!wanted.has(n)) toDelete.push(...ps);
    // Rolling update: out-of-date pods go maxUnavailable at a time, only while the rest are ready.
    if ((ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
      const mu = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
      const maxUnavailable = typeof mu === "number" ? mu : Math.max(1, Math.floor((Number(mu.replace("%", "")) * wanted.size) / 100));
      const current = pods.filter((p) => wanted.has(daemonPodNode(p) ?? "") && !toDelete.includes(p));
      const unavailable = wanted.size - current.filter(isPodReady).length;
      const old = current.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
      // Not-ready old pods first: replacing them costs no availability.
      old.sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)));
      let budget = maxUnavailable - unavailable;
      for (const p of old) {
        if (!isPodReady(p)) toDelete.push(p);
        else if (budget-- > 0) toDelete.push(p);
      }
    }
    const act = this.expectations.satisfied(key);
    await Promise.all((act ? toCreate : []).map(async (n) => {
      const tpl = ds.spec!.template;
      const affinity = {
        ...(tpl.spec?.affinity ?? {}),
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [n] }] }] } },
      };
      const pod = podFromTemplate(tpl, ds, "apps/v1", "DaemonSet", `${ds.metadata.name}-${randomSuffix()}`, {
        labels: { [REVISION_HASH_LABEL]: hash },
        spec: { affinity, tolerations: [...(tpl.spec?.tolerations ?? []), ...DAEMON_TOLERATIONS] },
      });
      this.expectations.expectCreate(key, pod.metadata.name!);
      try { await this.ctx.client.create(R.pods, namespace, pod); } catch (err) { this.expectations.createFailed(key, pod.metadata.name!); throw err; }
    }));
    await Promise.all((act ? toDelete : []).map(async (p) => {
      this.expectations.expectDelete(key, p.metadata.name!);
      try { await this.ctx.client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }); } catch (err) { this.expectations.observedDelete(key, p.metadata.name!); if (!isNotFound(err)) throw err; }
    }));
    const scheduled = pods.filter((p) => wanted.has(daemonPodNode(p) ?? ""));
    const status: NonNullable<DaemonSet["status"]> = {
      currentNumberScheduled: new Set(scheduled.map((p) => daemonPodNode(p))).size,
      numberMisscheduled: pods.filter((p) => !wanted.has(daemonPodNode(p) ?? "")).length,
      desiredNumberScheduled: wanted.size,
      numberReady: scheduled.filter(isPodReady).length,
      numberAvailable: scheduled.filter(isPodReady).length,
      numberUnavailable: Math.max(0, wanted.size - scheduled.filter(isPodReady).length),
      updatedNumberScheduled: scheduled.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash).length,
      observedGeneration: ds.metadata.generation,
    };
    if (stableJson(ds.status ?? {}) === stableJson(status)) return;
    try { await this.ctx.client.patchStatus(R.daemonsets, namespace, ds.metadata.name!, { status }); } catch (err) { if (!isNotFound(err)) throw err; }
  }
}
