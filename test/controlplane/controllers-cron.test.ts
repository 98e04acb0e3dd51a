// Cron schedules, and the CronJob controller driven by a test clock against a real API server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { CronJob, Job } from "../../api/apps.js";
import { R, EventRecorder } from "../../controlplane/kit/index.js";
import { CronJobController, SharedInformers, parseCron, nextRun, lastRunBetween, CronScheduleError, type ControllerContext } from "../../controlplane/controllers/index.js";
import { RUN_SECONDS_ANNOTATION } from "../../controlplane/sim-nodes/index.js";
import { startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

const at = (s: string) => Date.parse(s);

test("cron: next runs for fields, steps, ranges, names and macros", () => {
  assert.equal(new Date(nextRun(parseCron("*/15 * * * *"), at("2026-03-01T10:07:30Z"))!).toISOString(), "2026-03-01T10:15:00.000Z");
  assert.equal(new Date(nextRun(parseCron("0 9 * * mon-fri"), at("2026-11-27T09:00:00Z"))!).toISOString(), "2026-11-30T09:00:00.000Z"); // Fri → Mon
  assert.equal(new Date(nextRun(parseCron("@daily"), at("2026-12-31T23:59:00Z"))!).toISOString(), "2027-01-01T00:00:00.000Z");
  assert.equal(new Date(nextRun(parseCron("30 2 29 feb *"), at("2026-01-01T00:00:00Z"))!).toISOString(), "2028-02-29T02:30:00.000Z");
  assert.equal(new Date(nextRun(parseCron("0 0 * * 7"), at("2026-11-23T00:00:00Z"))!).toISOString(), "2026-11-29T00:00:00.000Z"); // 7 is Sunday
  assert.equal(new Date(lastRunBetween(parseCron("0 * * * *"), at("2026-01-01T00:00:00Z"), at("2026-01-01T05:30:00Z"))!).toISOString(), "2026-01-01T05:00:00.000Z");
  assert.equal(lastRunBetween(parseCron("0 * * * *"), at("2026-01-01T00:00:00Z"), at("2026-01-01T00:59:00Z")), undefined);
  for (const bad of ["* * * *", "61 * * * *", "*/0 * * * *", "5-1 * * * *", "x * * * *"]) assert.throws(() => parseCron(bad), CronScheduleError, bad);
});

let c: Cluster;
before(async () => { c = await startCluster(); });
after(async () => { await c?.close(); });

test("cronjob: a Job per scheduled time, once; status and history follow", async () => {
  // Once a year, so the cluster's own (real-clock) CronJob controller stays quiet; ours runs on a test clock.
  const cj: CronJob = {
    metadata: { name: "yearly", namespace: "default" },
    spec: {
      schedule: "0 0 1 1 *", concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 1,
      jobTemplate: { spec: { template: { metadata: { labels: { app: "yearly" }, annotations: { [RUN_SECONDS_ANNOTATION]: "0.1" } }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } } },
    },
  };
  const created = await c.client.create<CronJob>(R.cronjobs, "default", cj);
  let now = nextRun(parseCron(cj.spec!.schedule), Date.parse(created.metadata.creationTimestamp!))! + 5_000;
  const informers = new SharedInformers(c.client);
  const ctx: ControllerContext = { client: c.client, informers, recorder: new EventRecorder(c.client, "test"), log: () => {}, now: () => now };
  const ctl = new CronJobController(ctx);
  ctl.register();
  await informers.start();
  const jobs = informers.get<Job>(R.jobs);
  const mine = () => jobs.list().filter((j) => j.metadata.ownerReferences?.[0]?.uid === created.metadata.uid);
  const reconcileSeen = async () => {
    // Reconcile on what the API server has now (the informer may lag a write of ours).
    await waitFor("cronjob cached", async () => {
      const cur = await c.client.get<CronJob>(R.cronjobs, "default", "yearly");
      return informers.get<CronJob>(R.cronjobs).getByName("default", "yearly")?.metadata.resourceVersion === cur.metadata.resourceVersion;
    });
    await ctl.reconcile("default/yearly");
  };
  try {
    await reconcileSeen();
    await waitFor("one job", () => mine().length === 1);
    const first = mine()[0]!;
    await reconcileSeen();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mine().length, 1, "the same scheduled time made a second Job");
    const st = await c.client.get<CronJob>(R.cronjobs, "default", "yearly");
    assert.equal(Date.parse(st.status!.lastScheduleTime!), now - 5_000);
    await waitFor("job complete", () => mine()[0]?.status?.conditions?.some((x) => x.type === "Complete"), 60_000);
    // A year later: a second Job; history keeps only the newest finished one.
    now = nextRun(parseCron(cj.spec!.schedule), now)! + 5_000;
    await reconcileSeen();
    await waitFor("second job", () => mine().some((j) => j.metadata.name !== first.metadata.name));
    await waitFor("second complete", () => mine().find((j) => j.metadata.name !== first.metadata.name)?.status?.conditions?.some((x) => x.type === "Complete"), 60_000);
    await reconcileSeen();
    await waitFor("history trimmed", () => mine().length === 1 && mine()[0]!.metadata.name !== first.metadata.name);
    const fin = await c.client.get<CronJob>(R.cronjobs, "default", "yearly");
    assert.ok(fin.status?.lastSuccessfulTime);
  } finally {
    ctl.stop();
    informers.stop();
  }
});
