// The CronJob controller: creates a Job for each scheduled time (UTC), honouring
// concurrencyPolicy (Allow / Forbid / Replace), startingDeadlineSeconds, suspend and the
// success / failure history limits.
import type { CronJob, Job } from "../../api/apps.js";
import { R, isAlreadyExists, isConflict, isNotFound, splitKey } from "../kit/index.js";
import { Controller, controllerOf, stableJson, type ControllerContext } from "./context.js";
import { lastRunBetween, nextRun, parseCron, CronScheduleError } from "./cron.js";

export const SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";
const finishedType = (j: Job) => (j.status?.conditions ?? []).find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")?.type;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export class CronJobController extends Controller {
  private readonly cjs = this.ctx.informers.get<CronJob>(R.cronjobs);
  private readonly jobs = this.ctx.informers.get<Job>(R.jobs);
  private readonly now = this.ctx.now ?? Date.now;

  constructor(ctx: ControllerContext) { super("cronjob", ctx); }

  register(): void {
    this.cjs.addEventHandler({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o) });
    const onJob = (j: Job) => { const r = controllerOf(j); if (r?.kind === "CronJob") { const c = this.cjs.byIndex("uid", r.uid)[0]; if (c) this.enqueue(c); } };
    this.jobs.addEventHandler({ add: onJob, update: (_, j) => onJob(j), delete: onJob });
  }

  async reconcile(key: string): Promise<void> {
    const cj = this.cjs.get(key);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    let sched;
    try { sched = parseCron(cj.spec!.schedule); } catch (err) {
      if (err instanceof CronScheduleError) { this.ctx.recorder.event({ ...cj, apiVersion: "batch/v1", kind: "CronJob" }, "Warning", "InvalidSchedule", err.message); return; }
      throw err;
    }
    const owned = this.jobs.byIndex("owner", cj.metadata.uid!).filter((j) => controllerOf(j)?.uid === cj.metadata.uid && !j.metadata.deletionTimestamp);
    let active = owned.filter((j) => !finishedType(j));
    const now = this.now();
    // The latest start is the newer of the status's and the one its Jobs record: a status write
    // lost to a conflict must not make the controller forget (or repeat) a start.
    const started = [cj.status?.lastScheduleTime, ...owned.map((j) => j.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION])]
      .filter((t): t is string => !!t && !Number.isNaN(Date.parse(t)))
      .sort((a, b) => Date.parse(a) - Date.parse(b));
    let lastScheduleTime = started.length ? iso(Date.parse(started[started.length - 1]!)) : undefined;
    const since = Date.parse(lastScheduleTime ?? cj.metadata.creationTimestamp ?? iso(now));
    const due = cj.spec?.suspend ? undefined : lastRunBetween(sched, since, now);
    const deadline = cj.spec?.startingDeadlineSeconds;
    if (due !== undefined && !(deadline !== undefined && now - due > deadline * 1000)) {
      const policy = cj.spec?.concurrencyPolicy ?? "Allow";
      if (policy === "Forbid" && active.length) {
        // Try again soon: the start stays due until the running Job ends.
        this.queue.addAfter(key, 1_000);
      } else {
        if (policy === "Replace") {
          for (const j of active) { try { await this.ctx.client.delete(R.jobs, namespace, j.metadata.name!, { propagationPolicy: "Background" }); } catch (err) { if (!isNotFound(err)) throw err; } }
          active = [];
        }
        const name = `${cj.metadata.name}-${Math.floor(due / 60_000)}`;
        const tpl = cj.spec!.jobTemplate;
        const job: Job = {
          metadata: {
            name, namespace, labels: { ...(tpl.metadata?.labels ?? {}) },
            annotations: { ...(tpl.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: iso(due) },
            ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: cj.metadata.name!, uid: cj.metadata.uid!, controller: true, blockOwnerDeletion: true }],
          },
          spec: structuredClone(tpl.spec!),
        };
        try {
          const created = await this.ctx.client.create<Job>(R.jobs, namespace, job);
          active.push(created);
          this.ctx.recorder.event({ ...cj, apiVersion: "batch/v1", kind: "CronJob" }, "Normal", "SuccessfulCreate", `Created job ${name}`);
        } catch (err) { if (!isAlreadyExists(err)) throw err; }
        lastScheduleTime = iso(due);
      }
    }
    await this.trimHistory(cj, owned);
    const successes = owned.filter((j) => finishedType(j) === "Complete").map((j) => j.status?.completionTime ?? "").filter(Boolean).sort();
    const status: NonNullable<CronJob["status"]> = {
      ...(active.length ? { active: active.map((j) => ({ kind: "Job", apiVersion: "batch/v1", name: j.metadata.name, namespace, uid: j.metadata.uid })) } : {}),
      ...(lastScheduleTime ? { lastScheduleTime } : {}),
      ...(successes.length ? { lastSuccessfulTime: successes[successes.length - 1] } : cj.status?.lastSuccessfulTime ? { lastSuccessfulTime: cj.status.lastSuccessfulTime } : {}),
    };
    if (stableJson(cj.status ?? {}) !== stableJson(status)) {
      // Conditional on the resourceVersion this status was computed from: a status written from
      // a stale cache would drop a lastScheduleTime written since (and start a Job twice).
      const ops = [{ op: "replace", path: "/metadata/resourceVersion", value: cj.metadata.resourceVersion }, { op: "add", path: "/status", value: status }];
      try { await this.ctx.client.patchStatus(R.cronjobs, namespace, cj.metadata.name!, ops, "json"); } catch (err) {
        if (isConflict(err)) return this.queue.addAfter(key, 50); // the newer object is on its way: reconcile that
        if (!isNotFound(err)) throw err;
      }
    }
    const next = nextRun(sched, now);
    if (next !== undefined && this.ctx.now === undefined) this.queue.addAfter(key, next - now + 50);
  }

  private async trimHistory(cj: CronJob, owned: Job[]): Promise<void> {
    const byStart = (a: Job, b: Job) => (a.status?.startTime ?? a.metadata.creationTimestamp ?? "").localeCompare(b.status?.startTime ?? b.metadata.creationTimestamp ?? "");
    const drop = (type: string, keep: number) => owned.filter((j) => finishedType(j) === type).sort(byStart).slice(0, Math.max(0, owned.filter((j) => finishedType(j) === type).length - keep));
    for (const j of [...drop("Complete", cj.spec?.successfulJobsHistoryLimit ?? 3), ...drop("Failed", cj.spec?.failedJobsHistoryLimit ?? 1)]) {
      try { await this.ctx.client.delete(R.jobs, j.metadata.namespace, j.metadata.name!, { propagationPolicy: "Background" }); } catch (err) { if (!isNotFound(err)) throw err; }
    }
  }
}
