// The HorizontalPodAutoscaler controller against a real API server, with pod usage from a fake
// metrics source (keel's metrics.k8s.io comes from the kubelets, not simulated nodes).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod } from "../../api/core.js";
import type { Deployment } from "../../api/apps.js";
import type { HorizontalPodAutoscaler } from "../../api/extensions.js";
import { R } from "../../controlplane/kit/index.js";
import { replicasFor, type MetricsSource } from "../../controlplane/controllers/index.js";
import { startCluster, waitFor, reconcileTwice, type Cluster } from "./controllers-fixture.js";

test("replica arithmetic: ratio, tolerance, average value", () => {
  const pods = (n: number, use: number) => Array.from({ length: n }, () => ({ requestMilli: 100, usageMilli: use }));
  assert.equal(replicasFor(2, pods(2, 100), { type: "Utilization", averageUtilization: 50 }).desired, 4);
  assert.equal(replicasFor(2, pods(2, 54), { type: "Utilization", averageUtilization: 50 }).desired, 2); // within 10 %
  assert.equal(replicasFor(4, pods(4, 10), { type: "Utilization", averageUtilization: 50 }).desired, 1);
  assert.equal(replicasFor(3, pods(3, 300), { type: "AverageValue", averageValue: "100m" }).desired, 9);
  assert.throws(() => replicasFor(1, [{ requestMilli: 0, usageMilli: 5 }], { type: "Utilization", averageUtilization: 50 }), /requests/);
});

let c: Cluster;
let cpuPerPod = "50m";
let metrics: MetricsSource;
before(async () => {
  metrics = {
    async podUsage(namespace, selector) {
      const pods = (await c.client.list<Pod>(R.pods, namespace, { labelSelector: selector })).items;
      return pods.map((p) => ({ name: p.metadata.name!, usage: { cpu: cpuPerPod } }));
    },
  };
  c = await startCluster({ cm: { metrics, hpaSyncPeriodMs: 200 } });
});
after(async () => { await c?.close(); });

test("hpa: scales a Deployment up to maxReplicas under load and back to minReplicas when idle", async () => {
  const dep: Deployment = {
    metadata: { name: "hpa-web", namespace: "default" },
    spec: { replicas: 2, selector: { matchLabels: { app: "hpa-web" } }, template: { metadata: { labels: { app: "hpa-web" } }, spec: { containers: [{ name: "c", image: "web", resources: { requests: { cpu: "100m" } } }] } } },
  };
  await c.client.create(R.deployments, "default", dep);
  await c.kubectl("rollout", "status", "deployment/hpa-web", "--timeout=60s");
  const hpa: HorizontalPodAutoscaler = {
    metadata: { name: "hpa-web", namespace: "default" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "hpa-web" }, minReplicas: 1, maxReplicas: 6,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
    },
  };
  const HPA = { group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true };
  cpuPerPod = "50m"; // exactly on target: nothing moves
  await c.client.create(HPA, "default", hpa);
  await waitFor("steady status", async () => (await c.client.get<HorizontalPodAutoscaler>(HPA, "default", "hpa-web")).status?.conditions?.some((x) => x.reason === "ValidMetricFound"));
  assert.equal((await c.client.get<Deployment>(R.deployments, "default", "hpa-web")).spec?.replicas, 2);
  cpuPerPod = "100m"; // 200 % of target
  const up = await waitFor("scaled to max", async () => { const h = await c.client.get<HorizontalPodAutoscaler>(HPA, "default", "hpa-web"); return h.status?.desiredReplicas === 6 && h; }, 60_000);
  assert.equal(up.status!.conditions!.find((x) => x.type === "ScalingLimited")!.reason, "TooManyReplicas");
  await waitFor("deployment at 6", async () => (await c.client.get<Deployment>(R.deployments, "default", "hpa-web")).spec?.replicas === 6);
  cpuPerPod = "5m"; // idle
  await waitFor("deployment back at 1", async () => (await c.client.get<Deployment>(R.deployments, "default", "hpa-web")).spec?.replicas === 1, 60_000);
  const out = await c.kubectl("get", "hpa", "hpa-web");
  assert.match(out, /hpa-web/);
  cpuPerPod = "50m";
});

test("every reconciler twice with an HPA present: the second pass changes nothing", async () => {
  const [quiet, second] = await reconcileTwice(c, { metrics });
  assert.deepEqual(quiet, []);
  assert.deepEqual(second, []);
});
