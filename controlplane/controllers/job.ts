// The Job controller: runs pods until `completions` of them succeed, at most `parallelism` at
// a time; fails the Job after backoffLimit failed pods or past activeDeadlineSeconds; deletes a
// finished Job ttlSecondsAfterFinished later.
import type { Pod } from "../../api/core.js";
import type { Job } from "../../api/apps.js";
import type { Condition } from "../../api/meta.js";
import { R, isNotFound, keyOf, splitKey } from "../kit/index.js";
import { Controller, Expectations, controllerOf, isPodActive, isPodReady, nowTime, podFromTemplate, randomSuffix, type ControllerContext } from "./context.js";

const finished = (j: Job) => (j.status?.conditions ?? []).find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");

export class JobController extends Controller {
  private readonly jobs = this.ctx.informers.get<Job>(R.jobs);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly expectations = new Expectations();

  constructor(ctx: ControllerContext) { super("job", ctx); }

  register(): void {
    this.jobs.addEventHandler({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o), delete: (o) => this.expectations.clear(keyOf(o)) });
    const owner = (p: Pod) => { const r = controllerOf(p); return r?.kind === "Job" ? this.jobs.byIndex("uid", r.uid)[0] : undefined; };
    this.pods.addEventHandler({
      add: (p) => { const j = owner(p); if (j) { this.expectations.observedCreate(keyOf(j), p.metadata.name!); this.enqueue(j); } },
      update: (_, p) => { const j = owner(p); if (j) { if (p.metadata.deletionTimestamp) this.expectations.observedDelete(keyOf(j), p.metadata.name!); this.enqueue(j); } },
      delete: (p) => { const j = owner(p); if (j) { this.expectations.observedDelete(keyOf(j), p.metadata.name!); this.enqueue(j); } },
    });
  }

  async reconcile(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job || job.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const spec = job.spec!;
    const pods = this.pods.byIndex("owner", job.metadata.uid!).filter((p) => controllerOf(p)?.uid === job.metadata.uid);
    const active = pods.filter(isPodActive);
    const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
    const failed = pods.filter((p) => p.status?.phase === "Failed").length;
    const done = finished(job);
    if (done) {
      await this.deletePods(key, active);
      await this.ttl(job, done);
      return;
    }
    const startTime = job.status?.startTime ?? nowTime();
    const completions = spec.completions;
    const parallelism = spec.parallelism ?? 1;
    let condition: Condition | undefined;
    const cond = (type: string, reason: string, message: string) => ({ type, status: "True", reason, message, lastProbeTime: nowTime(), lastTransitionTime: nowTime() } as Condition);
    const deadline = spec.activeDeadlineSeconds !== undefined ? Date.parse(startTime) + spec.activeDeadlineSeconds * 1000 : Infinity;
    if (failed > (spec.backoffLimit ?? 6)) condition = cond("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    else if (Date.now() >= deadline) condition = cond("Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
    else if (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0) condition = cond("Complete", "", "");
    if (condition) {
      await this.deletePods(key, active);
    } else if (!spec.suspend && this.expectations.satisfied(key)) {
      const wantActive = completions !== undefined ? Math.min(parallelism, completions - succeeded) : succeeded > 0 ? 0 : parallelism;
      if (active.length < wantActive) await this.createPods(key, job, wantActive - active.length);
      else if (active.length > wantActive) await this.deletePods(key, active.slice(wantActive));
      if (deadline !== Infinity) this.queue.addAfter(key, deadline - Date.now() + 10);
    } else if (spec.suspend) {
      await this.deletePods(key, active);
    }
    const status: NonNullable<Job["status"]> = {
      ...(job.status ?? {}), startTime, active: condition ? 0 : active.length, succeeded, failed, ready: active.filter(isPodReady).length,
    };
    if (condition) {
      status.conditions = [...(job.status?.conditions ?? []), ...(condition.type === "Complete" ? [{ ...condition, type: "SuccessCriteriaMet" }] : [{ ...condition, type: "FailureTarget" }]), condition];
      if (condition.type === "Complete") status.completionTime = nowTime();
      this.ctx.recorder.event({ ...job, apiVersion: "batch/v1", kind: "Job" }, condition.type === "Complete" ? "Normal" : "Warning", condition.type === "Complete" ? "Completed" : condition.reason!, condition.type === "Complete" ? "Job completed" : condition.message!);
    }
    const same = (["active", "succeeded", "failed", "ready", "startTime"] as const).every((k) => job.status?.[k] === status[k]) && !condition;
    if (same) return;
    try { await this.ctx.client.patchStatus(R.jobs, namespace, job.metadata.name!, { status }); } catch (err) { if (!isNotFound(err)) throw err; }
  }

  private async ttl(job: Job, done: Condition): Promise<void> {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined) return;
    const at = Date.parse(job.status?.completionTime ?? done.lastTransitionTime ?? nowTime()) + ttl * 1000;
    if (Date.now() < at) { this.queue.addAfter(keyOf(job), at - Date.now() + 10); return; }
    try {
      await this.ctx.client.delete(R.jobs, job.metadata.namespace, job.metadata.name!, { propagationPolicy: "Background", preconditions: { uid: job.metadata.uid } });
    } catch (err) { if (!isNotFound(err)) throw err; }
  }

  private async createPods(key: string, job: Job, n: number): Promise<void> {
    const labels = { "batch.kubernetes.io/controller-uid": job.metadata.uid!, "batch.kubernetes.io/job-name": job.metadata.name!, "controller-uid": job.metadata.uid!, "job-name": job.metadata.name! };
    await Promise.all(Array.from({ length: n }, async () => {
      const name = `${job.metadata.name}-${randomSuffix()}`;
      this.expectations.expectCreate(key, name);
      try {
        await this.ctx.client.create(R.pods, job.metadata.namespace, podFromTemplate(job.spec?.template, job, "batch/v1", "Job", name, { labels }));
      } catch (err) {
        this.expectations.createFailed(key, name);
        throw err;
      }
    }));
  }

  private async deletePods(key: string, pods: Pod[]): Promise<void> {
    await Promise.all(pods.map(async (p) => {
      this.expectations.expectDelete(key, p.metadata.name!);
      try { await this.ctx.client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { preconditions: { uid: p.metadata.uid } }); } catch (err) {
        this.expectations.observedDelete(key, p.metadata.name!);
        if (!isNotFound(err)) throw err;
      }
    }));
  }
}
