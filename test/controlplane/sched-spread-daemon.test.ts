// Default topology spreading through the real API server: the scheduler daemon learns the
// Service and the Deployment's ReplicaSet from its informers, and a Deployment of 30 pods with no
// requests spreads over 3 roomy simulated nodes instead of piling onto one; a Job's pods that
// nothing selects still pack.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod, Service } from "../../api/core.js";
import type { Deployment, Job } from "../../api/apps.js";
import { R } from "../../controlplane/kit/index.js";
import { simNodeSpecs } from "../../controlplane/sim-nodes/index.js";
import { startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

let c: Cluster;
before(async () => { c = await startCluster({ nodes: simNodeSpecs(3, { prefix: "keel-spr", capacity: { cpu: "4", memory: "8Gi", pods: "110" } }) }); });
after(async () => { await c?.close(); });

async function perNode(selector: string, n: number): Promise<Map<string, number>> {
  const pods = await waitFor(`${n} pods bound`, async () => {
    const items = (await c.client.list<Pod>(R.pods, "default", { labelSelector: selector })).items;
    return items.length === n && items.every((p) => p.spec?.nodeName) && items;
  }, 60_000, 200);
  const out = new Map<string, number>();
  for (const p of pods) out.set(p.spec!.nodeName!, (out.get(p.spec!.nodeName!) ?? 0) + 1);
  return out;
}

test("a Deployment of 30 zero-request pods behind a Service spreads over 3 nodes within the skew", async () => {
  const svc: Service = { metadata: { name: "keel-spr-web", namespace: "default" }, spec: { selector: { app: "keel-spr-web" }, ports: [{ port: 80 }] } };
  await c.client.create(R.services, "default", svc);
  const dep: Deployment = {
    metadata: { name: "keel-spr-web", namespace: "default" },
    spec: {
      replicas: 0, selector: { matchLabels: { app: "keel-spr-web" } },
      template: { metadata: { labels: { app: "keel-spr-web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
    },
  };
  await c.client.create(R.deployments, "default", dep);
  // The scheduler knows the Service and the ReplicaSet before the pods exist (their watch
  // events could otherwise come after the first pods').
  await waitFor("the scheduler knows the Service and the ReplicaSet", async () => {
    const w = c.scheduler.core?.cache.workloads;
    return w !== undefined && w.serviceCount >= 1 && w.controllerCount >= 1;
  }, 30_000, 100);
  await c.client.patch(R.deployments, "default", "keel-spr-web", { spec: { replicas: 30 } });
  const per = await perNode("app=keel-spr-web", 30);
  assert.equal(per.size, 3, JSON.stringify([...per]));
  for (const [n, k] of per) assert.ok(Math.abs(k - 10) <= 3, `${n} got ${k}: ${JSON.stringify([...per])}`);
  process.stderr.write(`# 30 replicas per node: ${[...per.values()].join("/")}\n`);
});

test("a Job's zero-request pods, which no Service selects, are packed", async () => {
  const job: Job = {
    metadata: { name: "keel-spr-job", namespace: "default" },
    spec: { parallelism: 6, completions: 6, template: { metadata: { labels: { app: "keel-spr-job" } }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
  };
  await c.client.create(R.jobs, "default", job);
  const per = await perNode("app=keel-spr-job", 6);
  assert.equal(per.size, 1, JSON.stringify([...per]));
});
