// Job, DaemonSet, StatefulSet and Deployment pause/resume on simulated nodes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod, Node } from "../../api/core.js";
import type { Job, DaemonSet, StatefulSet, Deployment, ReplicaSet } from "../../api/apps.js";
import { R, Informer } from "../../controlplane/kit/index.js";
import { isPodReady } from "../../controlplane/controllers/index.js";
import { simNodeSpecs, RUN_SECONDS_ANNOTATION, EXIT_CODE_ANNOTATION } from "../../controlplane/sim-nodes/index.js";
import { startCluster, waitFor, reconcileTwice, type Cluster } from "./controllers-fixture.js";

let c: Cluster;
before(async () => {
  const nodes = simNodeSpecs(3, { prefix: "keel-wl" });
  nodes[0]!.labels = { ...nodes[0]!.labels, disk: "ssd" };
  nodes[1]!.labels = { ...nodes[1]!.labels, disk: "ssd" };
  c = await startCluster({ nodes });
});
after(async () => { await c?.close(); });

const podsWith = async (sel: string) => (await c.client.list<Pod>(R.pods, "default", { labelSelector: sel })).items;

function job(name: string, o: { completions?: number; parallelism?: number; exitCode?: number; backoffLimit?: number; ttl?: number }): Job {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      completions: o.completions, parallelism: o.parallelism, backoffLimit: o.backoffLimit, ttlSecondsAfterFinished: o.ttl,
      template: {
        metadata: { labels: { app: name }, annotations: { [RUN_SECONDS_ANNOTATION]: "0.2", [EXIT_CODE_ANNOTATION]: String(o.exitCode ?? 0) } },
        spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] },
      },
    },
  };
}

const condition = (j: Job, type: string) => j.status?.conditions?.find((x) => x.type === type && x.status === "True");

test("job: runs to completions with at most parallelism pods at once", async () => {
  await c.client.create(R.jobs, "default", job("job-ok", { completions: 4, parallelism: 2 }));
  const watcher = new Informer<Pod>(c.client, R.pods, { namespace: "default", labelSelector: "app=job-ok" });
  let maxActive = 0;
  const check = () => { maxActive = Math.max(maxActive, watcher.list().filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed" && !p.metadata.deletionTimestamp).length); };
  watcher.addEventHandler({ add: check, update: check });
  await watcher.start();
  try {
    const j = await waitFor("complete", async () => { const x = await c.client.get<Job>(R.jobs, "default", "job-ok"); return condition(x, "Complete") && x; }, 60_000);
    assert.equal(j.status?.succeeded, 4);
    assert.ok(j.status?.completionTime);
    assert.ok(maxActive <= 2, `saw ${maxActive} active pods`);
  } finally { watcher.stop(); }
});

test("job: fails after backoffLimit failed pods; ttlSecondsAfterFinished deletes it", async () => {
  await c.client.create(R.jobs, "default", job("job-bad", { backoffLimit: 1, exitCode: 1 }));
  const j = await waitFor("failed", async () => { const x = await c.client.get<Job>(R.jobs, "default", "job-bad"); return condition(x, "Failed") && x; }, 60_000);
  assert.equal(condition(j, "Failed")!.reason, "BackoffLimitExceeded");
  assert.equal(j.status?.failed, 2);
  await c.client.create(R.jobs, "default", job("job-ttl", { ttl: 0 }));
  await waitFor("job-ttl deleted", async () => !(await c.client.list<Job>(R.jobs, "default")).items.some((x) => x.metadata.name === "job-ttl"), 60_000);
  await waitFor("its pods deleted", async () => (await podsWith("app=job-ttl")).length === 0);
});

test("daemonset: one pod per matching node, rolled to a new template", async () => {
  const ds: DaemonSet = {
    metadata: { name: "agent", namespace: "default" },
    spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { nodeSelector: { disk: "ssd" }, containers: [{ name: "c", image: "agent:1" }] } } },
  };
  await c.client.create(R.daemonsets, "default", ds);
  const ready = await waitFor("2 ready daemon pods", async () => { const p = (await podsWith("app=agent")).filter(isPodReady); return p.length === 2 && p; });
  assert.deepEqual(ready.map((p) => p.spec!.nodeName).sort(), ["keel-wl-0", "keel-wl-1"]);
  // A third node gets the label: a third pod follows.
  await c.client.patch<Node>(R.nodes, undefined, "keel-wl-2", { metadata: { labels: { disk: "ssd" } } });
  await waitFor("3 ready", async () => (await podsWith("app=agent")).filter(isPodReady).length === 3);
  await c.client.patch(R.daemonsets, "default", "agent", { spec: { template: { spec: { containers: [{ name: "c", image: "agent:2" }] } } } }, "strategic");
  await waitFor("all on agent:2", async () => { const p = (await podsWith("app=agent")).filter((x) => !x.metadata.deletionTimestamp); return p.length === 3 && p.every((x) => isPodReady(x) && x.spec!.containers[0]!.image === "agent:2"); }, 60_000);
  const st = await waitFor("status", async () => { const d = await c.client.get<DaemonSet>(R.daemonsets, "default", "agent"); return d.status?.updatedNumberScheduled === 3 && d.status.numberReady === 3 && d; });
  assert.equal(st.status!.desiredNumberScheduled, 3);
  assert.match(await c.kubectl("rollout", "status", "daemonset/agent", "--timeout=30s"), /successfully rolled out/);
});

test("statefulset: ordered, stable names; scale down removes the highest ordinal", async () => {
  const sts: StatefulSet = {
    metadata: { name: "db", namespace: "default" },
    spec: { replicas: 3, serviceName: "db", selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "c", image: "db:1" }] } } },
  };
  const watcher = new Informer<Pod>(c.client, R.pods, { namespace: "default", labelSelector: "app=db" });
  const created: string[] = [];
  watcher.addEventHandler({ add: (p) => created.push(p.metadata.name!) });
  await watcher.start();
  try {
    await c.client.create(R.statefulsets, "default", sts);
    await waitFor("3 ready", async () => (await podsWith("app=db")).filter(isPodReady).length === 3);
    assert.deepEqual(created, ["db-0", "db-1", "db-2"]);
    const p0 = (await podsWith("app=db")).find((p) => p.metadata.name === "db-0")!;
    assert.equal(p0.spec!.hostname, "db-0");
    assert.equal(p0.spec!.subdomain, "db");
    assert.match(await c.kubectl("rollout", "status", "statefulset/db", "--timeout=30s"), /complete/);
    await c.client.patch(R.statefulsets, "default", "db", { spec: { replicas: 1 } });
    await waitFor("only db-0", async () => { const p = (await podsWith("app=db")).map((x) => x.metadata.name); return p.length === 1 && p[0] === "db-0"; });
  } finally { watcher.stop(); }
});

test("deployment: pause holds a template change back; resume rolls it out", async () => {
  const dep: Deployment = {
    metadata: { name: "paused", namespace: "default" },
    spec: { replicas: 2, selector: { matchLabels: { app: "paused" } }, template: { metadata: { labels: { app: "paused" } }, spec: { containers: [{ name: "c", image: "web:1" }] } } },
  };
  await c.client.create(R.deployments, "default", dep);
  await c.kubectl("rollout", "status", "deployment/paused", "--timeout=60s");
  await c.kubectl("rollout", "pause", "deployment/paused");
  await c.kubectl("set", "image", "deployment/paused", "c=web:2");
  await new Promise((r) => setTimeout(r, 1_000));
  const rss = (await c.client.list<ReplicaSet>(R.replicasets, "default")).items.filter((x) => x.metadata.name!.startsWith("paused-"));
  assert.equal(rss.length, 1, "no new ReplicaSet while paused");
  await c.kubectl("rollout", "resume", "deployment/paused");
  await c.kubectl("rollout", "status", "deployment/paused", "--timeout=60s");
  await waitFor("web:2", async () => { const p = (await podsWith("app=paused")).filter(isPodReady); return p.length === 2 && p.every((x) => x.spec!.containers[0]!.image === "web:2"); });
});

test("deployment: a rollout that cannot progress reports ProgressDeadlineExceeded; kubectl rollout status fails", async () => {
  const dep: Deployment = {
    metadata: { name: "stuck", namespace: "default" },
    spec: {
      replicas: 1, progressDeadlineSeconds: 2, selector: { matchLabels: { app: "stuck" } },
      template: { metadata: { labels: { app: "stuck" } }, spec: { containers: [{ name: "c", image: "web:1", resources: { requests: { cpu: "100" } } }] } },
    },
  };
  await c.client.create(R.deployments, "default", dep);
  await assert.rejects(c.kubectl("rollout", "status", "deployment/stuck", "--timeout=60s"), (e: { stderr?: string }) => /exceeded its progress deadline/.test(e.stderr ?? ""));
  const d = await c.client.get<Deployment>(R.deployments, "default", "stuck");
  assert.equal(d.status?.conditions?.find((x) => x.type === "Progressing")?.reason, "ProgressDeadlineExceeded");
  await c.client.delete(R.deployments, "default", "stuck");
});

test("deployment: minReadySeconds holds availability back until pods have been ready that long", async () => {
  const dep: Deployment = {
    metadata: { name: "slow", namespace: "default" },
    spec: { replicas: 2, minReadySeconds: 1, selector: { matchLabels: { app: "slow" } }, template: { metadata: { labels: { app: "slow" } }, spec: { containers: [{ name: "c", image: "web:1" }] } } },
  };
  await c.client.create(R.deployments, "default", dep);
  const ready = await waitFor("2 ready", async () => { const p = (await podsWith("app=slow")).filter(isPodReady); return p.length === 2 && p; });
  const readySince = Math.max(...ready.map((p) => Date.parse(p.status!.conditions!.find((x) => x.type === "Ready")!.lastTransitionTime!)));
  await waitFor("2 available", async () => (await c.client.get<Deployment>(R.deployments, "default", "slow")).status?.availableReplicas === 2);
  // Whole seconds on the wire: available no earlier than the second after ready + 1 s.
  assert.ok(Date.now() >= readySince + 1_000, "available before minReadySeconds passed");
});

test("every reconciler, twice over these workloads: the second pass changes nothing", async () => {
  const [quiet, second] = await reconcileTwice(c);
  assert.deepEqual(quiet, []);
  assert.deepEqual(second, []);
});
