// The HorizontalPodAutoscaler controller (autoscaling/v2, Resource metrics): every sync period
// it reads the target's pods' usage from the resource metrics API (metrics.k8s.io/v1beta1),
// compares utilization (usage / requests) or average value with the target, and sets the
// target's replicas through its scale subresource: desired = ceil(current × usage / target),
// within a 10 % tolerance, clamped to [minReplicas, maxReplicas], scale-down held back by the
// stabilization window.
import type { Pod } from "../../api/core.js";
import type { Condition } from "../../api/meta.js";
import type { HorizontalPodAutoscaler, MetricTarget } from "../../api/extensions.js";
import { parseQuantity } from "../../api/quantity.js";
import { R, isNotFound, resourceByKind, resourcePath, splitKey, type KubeClient } from "../kit/index.js";
import { Controller, isPodReady, nowTime, stableJson, type ControllerContext } from "./context.js";

export interface PodUsage { name: string; usage: Record<string, string> }

/** Where pod usage comes from: the metrics API by default; tests give a fake. */
export interface MetricsSource {
  podUsage(namespace: string, labelSelector: string): Promise<PodUsage[]>;
}

export class MetricsApiSource implements MetricsSource {
  constructor(private readonly client: KubeClient) {}
  async podUsage(namespace: string, labelSelector: string): Promise<PodUsage[]> {
    const path = `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(labelSelector)}`;
    const list = await this.client.request<{ items: { metadata: { name: string }; containers: { usage: Record<string, string> }[] }[] }>("GET", path);
    return list.items.map((m) => {
      const sum: Record<string, bigint> = {};
      for (const c of m.containers) for (const [k, v] of Object.entries(c.usage)) sum[k] = (sum[k] ?? 0n) + parseQuantity(v).milliValue();
      return { name: m.metadata.name, usage: Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, `${v}m`])) };
    });
  }
}

const TOLERANCE = 0.1;
const milli = (q: string | undefined) => (q ? Number(parseQuantity(q).milliValue()) : 0);

interface Scale { spec?: { replicas?: number }; status?: { replicas?: number; selector?: string }; metadata: { resourceVersion?: string } }

/** The replica count one Resource metric asks for, and what was observed. */
export function replicasFor(current: number, pods: { requestMilli: number; usageMilli: number }[], target: MetricTarget): { desired: number; utilization?: number; averageMilli: number } {
  const usage = pods.reduce((s, p) => s + p.usageMilli, 0);
  const requests = pods.reduce((s, p) => s + p.requestMilli, 0);
  const averageMilli = pods.length ? usage / pods.length : 0;
  let ratio: number;
  let utilization: number | undefined;
  if (target.type === "Utilization") {
    if (!requests) throw new Error("missing resource requests: utilization cannot be computed");
    utilization = Math.round((usage * 100) / requests);
    ratio = utilization / (target.averageUtilization ?? 80);
  } else {
    ratio = averageMilli / milli(target.averageValue ?? target.value ?? "1");
  }
  if (Math.abs(ratio - 1) <= TOLERANCE) return { desired: current, utilization, averageMilli };
  return { desired: Math.ceil(ratio * pods.length), utilization, averageMilli };
}

export class HpaController extends Controller {
  private readonly hpas = this.ctx.informers.get<HorizontalPodAutoscaler>({ group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true });
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly metrics: MetricsSource = this.ctx.metrics ?? new MetricsApiSource(this.ctx.client);
  private readonly syncMs = this.ctx.hpaSyncPeriodMs ?? 15_000;
  /** Recent recommendations per HPA, for the scale-down stabilization window. */
  private readonly recommendations = new Map<string, { at: number; replicas: number }[]>();

  constructor(ctx: ControllerContext) { super("hpa", ctx); }

  register(): void {
    this.hpas.addEventHandler({ add: (o) => this.enqueue(o), update: (a, b) => { if (stableJson(a.spec) !== stableJson(b.spec)) this.enqueue(b); }, delete: (o) => this.recommendations.delete(`${o.metadata.namespace}/${o.metadata.name}`) });
  }

  async reconcile(key: string): Promise<void> {
    const hpa = this.hpas.get(key);
    if (!hpa) return;
    // Metrics change without events: look again every sync period.
    this.queue.addAfter(key, this.syncMs);
    const { namespace } = splitKey(key);
    const ref = hpa.spec!.scaleTargetRef;
    const res = resourceByKind(ref.apiVersion ?? "apps/v1", ref.kind);
    const conds: Condition[] = [];
    const cond = (type: string, status: "True" | "False", reason: string, message: string) => conds.push({ type, status, reason, message, lastTransitionTime: nowTime() } as Condition);
    if (!res) { cond("AbleToScale", "False", "FailedGetScale", `unknown target kind ${ref.kind}`); return this.writeStatus(hpa, namespace!, conds, hpa.status?.currentReplicas ?? 0, hpa.status?.desiredReplicas ?? 0, []); }
    let scale: Scale;
    try {
      scale = await this.ctx.client.request<Scale>("GET", resourcePath(res, namespace, ref.name, "scale"));
    } catch (err) {
      cond("AbleToScale", "False", "FailedGetScale", (err as Error).message);
      return this.writeStatus(hpa, namespace!, conds, 0, 0, []);
    }
    const current = scale.spec?.replicas ?? 0;
    const min = hpa.spec?.minReplicas ?? 1;
    const max = hpa.spec!.maxReplicas;
    if (current === 0 && min > 0) {
      // Scaled to zero by hand: autoscaling is off (as in Kubernetes).
      cond("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero");
      return this.writeStatus(hpa, namespace!, conds, current, current, []);
    }
    const selector = scale.status?.selector ?? "";
    let desired = 0;
    const currentMetrics: unknown[] = [];
    try {
      const usage = new Map((await this.metrics.podUsage(namespace!, selector)).map((u) => [u.name, u.usage]));
      const sel = selector.split(",").filter(Boolean).map((kv) => kv.split("="));
      const pods = this.pods.byNamespace(namespace!).filter((p) => isPodReady(p) && sel.every(([k, v]) => p.metadata.labels?.[k!] === v));
      for (const m of hpa.spec?.metrics ?? [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }]) {
        if (m.type !== "Resource" || !m.resource) continue;
        const name = m.resource.name;
        const samples = pods.filter((p) => usage.get(p.metadata.name!)?.[name] !== undefined).map((p) => ({
          usageMilli: milli(usage.get(p.metadata.name!)![name]),
          requestMilli: (p.spec?.containers ?? []).reduce((s, c) => s + milli(c.resources?.requests?.[name]), 0),
        }));
        if (!samples.length) throw new Error(`no metrics for ${name} of the pods selected by ${selector}`);
        const r = replicasFor(current, samples, m.resource.target);
        desired = Math.max(desired, r.desired);
        currentMetrics.push({ type: "Resource", resource: { name, current: { averageValue: `${Math.round(r.averageMilli)}m`, ...(r.utilization !== undefined ? { averageUtilization: r.utilization } : {}) } } });
      }
      cond("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count");
    } catch (err) {
      cond("ScalingActive", "False", "FailedGetResourceMetric", (err as Error).message);
      return this.writeStatus(hpa, namespace!, conds, current, current, currentMetrics);
    }
    // Scale-down stabilization: the highest recommendation of the window wins.
    const windowS = ((hpa.spec?.behavior as { scaleDown?: { stabilizationWindowSeconds?: number } } | undefined)?.scaleDown?.stabilizationWindowSeconds) ?? 300;
    const now = Date.now();
    const recs = (this.recommendations.get(key) ?? []).filter((r) => now - r.at <= windowS * 1000);
    recs.push({ at: now, replicas: desired });
    this.recommendations.set(key, recs);
    if (desired < current) desired = Math.min(current, Math.max(...recs.map((r) => r.replicas)));
    const clamped = Math.min(max, Math.max(min, desired));
    if (clamped !== desired) cond("ScalingLimited", "True", clamped === max ? "TooManyReplicas" : "TooFewReplicas", `the desired replica count is ${clamped === max ? "more" : "less"} than the ${clamped === max ? "maximum" : "minimum"} replica count`);
    else cond("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range");
    let scaled = false;
    if (clamped !== current) {
      await this.ctx.client.patch(res, namespace, ref.name, { spec: { replicas: clamped } }, "merge", "scale");
      scaled = true;
      this.ctx.recorder.event({ ...hpa, apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler" }, "Normal", "SuccessfulRescale", `New size: ${clamped}; reason: resource utilization above/below target`);
    }
    cond("AbleToScale", "True", scaled ? "SucceededRescale" : "ReadyForNewScale", scaled ? `the HPA controller was able to update the target scale to ${clamped}` : "recommended size matches current size");
    return this.writeStatus(hpa, namespace!, conds, current, clamped, currentMetrics, scaled);
  }

  private async writeStatus(hpa: HorizontalPodAutoscaler, namespace: string, conds: Condition[], current: number, desired: number, currentMetrics: unknown[], scaled = false): Promise<void> {
    const prev = hpa.status?.conditions ?? [];
    const conditions = conds.map((c) => {
      const p = prev.find((x) => x.type === c.type);
      return p && p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
    });
    const status: NonNullable<HorizontalPodAutoscaler["status"]> = {
      observedGeneration: hpa.metadata.generation, currentReplicas: current, desiredReplicas: desired,
      ...(currentMetrics.length ? { currentMetrics } : {}), conditions,
      ...(scaled ? { lastScaleTime: nowTime() } : hpa.status?.lastScaleTime ? { lastScaleTime: hpa.status.lastScaleTime } : {}),
    };
    const strip = (s: unknown) => stableJson({ ...(s as object), conditions: ((s as { conditions?: Condition[] })?.conditions ?? []).map((c) => [c.type, c.status, c.reason]) });
    if (strip(hpa.status ?? {}) === strip(status)) return;
    try {
      await this.ctx.client.patchStatus({ group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true }, namespace, hpa.metadata.name!, [{ op: "add", path: "/status", value: status }], "json");
    } catch (err) { if (!isNotFound(err)) throw err; }
  }
}
