// metrics.k8s.io/v1beta1 served by the API server from the nodes' /stats/summary: the rate and
// address logic alone, then `kubectl top nodes|pods` and the HPA's metrics source against
// simulated nodes (which serve the same summary shape on loopback).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Node, Pod } from "../../api/core.js";
import type { Deployment } from "../../api/apps.js";
import type { HorizontalPodAutoscaler } from "../../api/extensions.js";
import { R } from "../../controlplane/kit/index.js";
import { MetricsApiSource } from "../../controlplane/controllers/index.js";
import { MetricsScraper, cpuNanoCores, nodeUsage, summaryUrl, type Summary } from "../../controlplane/apiserver/metrics/index.js";
import { CPU_USAGE_ANNOTATION, MEMORY_USAGE_ANNOTATION } from "../../controlplane/sim-nodes/stats-server.js";
import { simNodeSpecs } from "../../controlplane/sim-nodes/index.js";
import { startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

test("cpu usage: the kubelet's instantaneous figure, else the rate between two cumulative samples", () => {
  assert.equal(cpuNanoCores({ usageNanoCores: 5 }, 0, undefined, undefined), 5);
  assert.equal(cpuNanoCores({ usageCoreNanoSeconds: 3e9 }, 2000, { usageCoreNanoSeconds: 1e9 }, 0), 1e9); // 2 core-seconds in 2 s = 1 core
  assert.equal(cpuNanoCores({ usageCoreNanoSeconds: 1e9 }, 2000, undefined, undefined), undefined);
  assert.equal(cpuNanoCores({ usageCoreNanoSeconds: 1e9 }, 2000, { usageCoreNanoSeconds: 5e9 }, 0), undefined); // restarted: skipped
});

test("where a node's summary is read: its annotation, else address and kubelet port", () => {
  const node = (o: Partial<Node>): Node => ({ metadata: { name: "n1", ...(o.metadata ?? {}) }, status: o.status });
  assert.equal(summaryUrl(node({ metadata: { name: "n1", annotations: { "keel.dev/kubelet-endpoint": "http://127.0.0.1:9/nodes/n1/" } } })), "http://127.0.0.1:9/nodes/n1/stats/summary?only_cpu_and_memory=true");
  assert.equal(summaryUrl(node({ status: { addresses: [{ type: "Hostname", address: "n1" }, { type: "InternalIP", address: "10.0.0.5" }], daemonEndpoints: { kubeletEndpoint: { Port: 10255 } } } })), "http://10.0.0.5:10255/stats/summary?only_cpu_and_memory=true");
  assert.throws(() => summaryUrl(node({ status: {} })), /publishes no kubelet address/);
});

test("scraper: a kubelet with only cumulative counters is read twice on first contact; samples are reused within the resolution", async () => {
  let calls = 0;
  const summary = (): Summary => {
    calls++;
    const t = new Date(Date.now()).toISOString();
    // A container burning exactly half a core: its counter grows 0.5e9 ns per second.
    return { node: { nodeName: "n1" }, pods: [{ podRef: { name: "p", namespace: "default" }, containers: [{ name: "c", cpu: { time: t, usageCoreNanoSeconds: Date.now() * 0.5e6 }, memory: { workingSetBytes: 1 << 20 } }] }] };
  };
  const scraper = new MetricsScraper(async () => summary(), 60_000);
  const node: Node = { metadata: { name: "n1" } };
  const s = (await scraper.scrape([node])).get("n1")!;
  assert.equal(calls, 2);
  const u = nodeUsage(s)!;
  assert.ok(Math.abs(u.cpuNanoCores - 0.5e9) < 0.05e9, `cpu ${u.cpuNanoCores}`);
  assert.equal(u.memoryBytes, 1 << 20);
  await scraper.scrape([node]);
  assert.equal(calls, 2, "a fresh sample is reused");
  // An unreachable kubelet is left out, not an error.
  const failing = new MetricsScraper(async () => { throw new Error("connection refused"); });
  assert.equal((await failing.scrape([node])).size, 0);
});

let c: Cluster;
before(async () => { c = await startCluster({ nodes: simNodeSpecs(2, { prefix: "keel-mx", capacity: { cpu: "4", memory: "8Gi" } }), cm: { hpaSyncPeriodMs: 300 } }); });
after(async () => { await c?.close(); });

const pod = (name: string, app: string, cpu: string, memory: string): Pod => ({
  metadata: { name, namespace: "default", labels: { app }, annotations: { [CPU_USAGE_ANNOTATION]: cpu, [MEMORY_USAGE_ANNOTATION]: memory } },
  spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "500m", memory: "256Mi" } } }] },
});

test("kubectl top pods and top nodes read simulated nodes' summaries; the HPA's source reads the same API", async () => {
  await c.client.create(R.pods, "default", pod("keel-top-a", "top", "250m", "100Mi"));
  await c.client.create(R.pods, "default", pod("keel-top-b", "top", "125m", "50Mi"));
  await waitFor("pods running", async () => (await c.client.list<Pod>(R.pods, "default", { labelSelector: "app=top" })).items.filter((p) => p.status?.phase === "Running").length === 2);

  // Discovery lists the group, so kubectl knows the API is there.
  const groups = await c.client.request<{ groups: { name: string }[] }>("GET", "/apis");
  assert.ok(groups.groups.some((g) => g.name === "metrics.k8s.io"));

  const pods = await c.kubectl("top", "pods", "-n", "default", "-l", "app=top");
  assert.match(pods, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/m);
  assert.match(pods, /^keel-top-a\s+250m\s+100Mi\s*$/m);
  assert.match(pods, /^keel-top-b\s+125m\s+50Mi\s*$/m);
  const containers = await c.kubectl("top", "pods", "keel-top-a", "-n", "default", "--containers");
  assert.match(containers, /keel-top-a\s+c\s+250m\s+100Mi/);

  const nodes = await c.kubectl("top", "nodes");
  assert.match(nodes, /^NAME\s+CPU\(cores\)\s+CPU(\(%\)|%)\s+MEMORY\(bytes\)\s+MEMORY(\(%\)|%)/m);
  for (const n of ["keel-mx-0", "keel-mx-1"]) assert.match(nodes, new RegExp(`^${n}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, "m"));
  // A node's usage is its pods' plus the system share (50m, 200Mi).
  const all = await c.client.request<{ items: { metadata: { name: string }; usage: { cpu: string; memory: string } }[] }>("GET", "/apis/metrics.k8s.io/v1beta1/nodes");
  const milli = (q: string) => Number(q.replace(/n$/, "")) / 1e6;
  assert.equal(all.items.reduce((s, n) => s + milli(n.usage.cpu), 0), 250 + 125 + 2 * 50);

  const usage = await new MetricsApiSource(c.client).podUsage("default", "app=top");
  assert.deepEqual(usage.sort((a, b) => a.name.localeCompare(b.name)), [{ name: "keel-top-a", usage: { cpu: "250m", memory: "104857600000m" } }, { name: "keel-top-b", usage: { cpu: "125m", memory: "52428800000m" } }]);

  // Objects that do not exist are 404s in kube's words.
  await assert.rejects(c.client.request("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/keel-nope"), /podmetrics.metrics.k8s.io "default\/keel-nope" not found/);
  await assert.rejects(c.client.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes/keel-nope"), /nodemetrics.metrics.k8s.io "keel-nope" not found/);
});

test("a node whose kubelet is down is left out of top nodes", async () => {
  c.sim.kill("keel-mx-1");
  try {
    // The scraper keeps a sample for a few seconds: wait until the node's goes stale.
    await waitFor("keel-mx-1 gone from the metrics", async () => {
      const all = await c.client.request<{ items: { metadata: { name: string } }[] }>("GET", "/apis/metrics.k8s.io/v1beta1/nodes");
      return !all.items.some((n) => n.metadata.name === "keel-mx-1") && all.items.some((n) => n.metadata.name === "keel-mx-0");
    }, 30_000, 500);
  } finally { c.sim.revive("keel-mx-1"); }
});

test("the HPA scales a Deployment on usage read through metrics.k8s.io (no fake source)", async () => {
  // Each pod asks 100m and (by its simulated usage) burns 90m: 90 % against a 50 % target.
  const dep: Deployment = {
    metadata: { name: "keel-mx-web", namespace: "default" },
    spec: {
      replicas: 1, selector: { matchLabels: { app: "keel-mx-web" } },
      template: { metadata: { labels: { app: "keel-mx-web" }, annotations: { [CPU_USAGE_ANNOTATION]: "90m" } }, spec: { containers: [{ name: "c", image: "web", resources: { requests: { cpu: "100m" } } }] } },
    },
  };
  await c.client.create(R.deployments, "default", dep);
  const HPA = { group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true };
  await c.client.create<HorizontalPodAutoscaler>(HPA, "default", {
    metadata: { name: "keel-mx-web", namespace: "default" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "keel-mx-web" }, minReplicas: 1, maxReplicas: 3,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
    },
  });
  const h = await waitFor("scaled to 3", async () => { const x = await c.client.get<HorizontalPodAutoscaler>(HPA, "default", "keel-mx-web"); return x.status?.desiredReplicas === 3 && x; }, 60_000);
  assert.ok(h.status?.currentMetrics?.length, "the HPA reports the metric it read");
  await waitFor("deployment at 3", async () => (await c.client.get<Deployment>(R.deployments, "default", "keel-mx-web")).spec?.replicas === 3);
});
