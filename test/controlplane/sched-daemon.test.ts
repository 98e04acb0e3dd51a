// The scheduler daemon on a small cluster of simulated nodes, driven with kubectl: pods get
// bound and Running; unschedulable pods say why; taints are respected; preemption evicts the
// lower-priority pods and the preemptor lands.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Pod, Event } from "../../api/core.js";
import { R } from "../../controlplane/kit/index.js";
import { simNodeSpecs } from "../../controlplane/sim-nodes/index.js";
import { startScheduler } from "../../controlplane/scheduler-daemon/index.js";
import { startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

let c: Cluster;
before(async () => {
  const nodes = simNodeSpecs(3, { prefix: "keel-sd", capacity: { cpu: "1", memory: "2Gi", pods: "20" } });
  nodes[2]!.taints = [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }];
  nodes[2]!.labels = { ...nodes[2]!.labels, dedicated: "gpu" };
  c = await startCluster({ nodes, controllers: false });
  // Priorities come from PriorityClasses (the API server's priority admission rejects a bare spec.priority).
  const priorityClasses = { group: "scheduling.k8s.io", version: "v1", plural: "priorityclasses", kind: "PriorityClass", namespaced: false };
  for (const value of [0, 1000]) await c.client.create(priorityClasses, undefined, { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: `keel-sd-${value}` }, value } as never);
});
after(async () => { await c?.close(); });

function podYaml(name: string, o: { cpu?: string; priority?: number; tolerate?: boolean; nodeSelector?: Record<string, string> } = {}): string {
  const pod = {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: "default", labels: { test: "sd" } },
    spec: {
      containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: o.cpu ?? "100m" } } }],
      ...(o.priority !== undefined ? { priorityClassName: `keel-sd-${o.priority}` } : {}),
      ...(o.tolerate ? { tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }] } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
    },
  };
  const f = join(c.dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(pod));
  return f;
}

const getPod = (name: string) => c.client.get<Pod>(R.pods, "default", name);
const eventsFor = async (name: string) => (await c.client.list<Event>(R.events, "default")).items.filter((e) => e.involvedObject.name === name);
const del = (...names: string[]) => Promise.all(names.map((n) => c.client.delete(R.pods, "default", n, { gracePeriodSeconds: 0 }).catch(() => {})));

test("a pod applied with kubectl is bound and Running, with a Scheduled event", async () => {
  await c.kubectl("apply", "-f", podYaml("sd-hello"));
  const p = await waitFor("running", async () => { const x = await getPod("sd-hello"); return x.status?.phase === "Running" && x; });
  assert.match(p.spec!.nodeName!, /^keel-sd-[01]$/); // never the tainted node
  await waitFor("Scheduled event", async () => (await eventsFor("sd-hello")).some((e) => e.reason === "Scheduled" && /Successfully assigned default\/sd-hello/.test(e.message ?? "")));
  const out = await c.kubectl("get", "pod", "sd-hello", "-o", "wide");
  assert.match(out, /Running/);
  await del("sd-hello");
});

test("taints: only a pod that tolerates the taint lands on the tainted node", async () => {
  await c.kubectl("apply", "-f", podYaml("sd-gpu", { tolerate: true, nodeSelector: { dedicated: "gpu" } }));
  await c.kubectl("apply", "-f", podYaml("sd-nogpu", { nodeSelector: { dedicated: "gpu" } }));
  const p = await waitFor("gpu pod running", async () => { const x = await getPod("sd-gpu"); return x.status?.phase === "Running" && x; });
  assert.equal(p.spec!.nodeName, "keel-sd-2");
  const stuck = await waitFor("untolerating pod unschedulable", async () => {
    const x = await getPod("sd-nogpu");
    return x.status?.conditions?.find((k) => k.type === "PodScheduled" && k.status === "False") && x;
  });
  assert.equal(stuck.spec!.nodeName, undefined);
  assert.match(stuck.status!.conditions!.find((k) => k.type === "PodScheduled")!.message!, /untolerated taint|didn't match/);
  await del("sd-gpu", "sd-nogpu");
});

test("a pod that fits nowhere says why, with a FailedScheduling event", async () => {
  await c.kubectl("apply", "-f", podYaml("sd-huge", { cpu: "8" }));
  const p = await waitFor("unschedulable", async () => {
    const x = await getPod("sd-huge");
    return x.status?.conditions?.find((k) => k.type === "PodScheduled" && k.status === "False") && x;
  });
  assert.match(p.status!.conditions!.find((k) => k.type === "PodScheduled")!.message!, /^0\/3 nodes are available: .*Insufficient cpu/);
  await waitFor("FailedScheduling event", async () => (await eventsFor("sd-huge")).some((e) => e.reason === "FailedScheduling" && e.type === "Warning"));
  await del("sd-huge");
});

test("preemption: a high-priority pod evicts lower-priority ones and lands", async () => {
  // Fill both untainted nodes with low-priority pods.
  for (const n of ["sd-low-0", "sd-low-1"]) await c.kubectl("apply", "-f", podYaml(n, { cpu: "800m", priority: 0 }));
  await waitFor("low pods running", async () => (await Promise.all(["sd-low-0", "sd-low-1"].map(getPod))).every((x) => x.status?.phase === "Running"));
  await c.kubectl("apply", "-f", podYaml("sd-high", { cpu: "800m", priority: 1000 }));
  const p = await waitFor("high pod running", async () => { const x = await getPod("sd-high"); return x.status?.phase === "Running" && x; }, 60_000);
  const lows = (await c.client.list<Pod>(R.pods, "default", { labelSelector: "test=sd" })).items.filter((x) => x.metadata.name!.startsWith("sd-low"));
  assert.equal(lows.filter((x) => x.spec?.nodeName === p.spec!.nodeName && !x.metadata.deletionTimestamp).length, 0, "a victim is still on the node");
  assert.ok(lows.length <= 1, "only one victim was needed");
  await waitFor("Preempted event", async () => (await c.client.list<Event>(R.events, "default")).items.some((e) => e.reason === "Preempted"));
  await del("sd-high", "sd-low-0", "sd-low-1");
});

test("a second scheduler from a config file serves the pods that name it (bin-packing profile)", async () => {
  const cfg = join(c.dir, "sched.yaml");
  writeFileSync(cfg, "profiles:\n- name: keel-binpack\n  base: most-allocated\n");
  const s = await startScheduler({ kubeconfig: c.server.kubeconfigPath, configPath: cfg, schedulerName: "keel-binpack" });
  try {
    const names = ["sd-pack-0", "sd-pack-1", "sd-pack-2", "sd-pack-3"];
    for (const n of names) {
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: n, namespace: "default", labels: { test: "sd" } }, spec: { schedulerName: "keel-binpack", containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "100m" } } }] } };
      const f = join(c.dir, `${n}.json`);
      writeFileSync(f, JSON.stringify(pod));
      await c.kubectl("apply", "-f", f);
    }
    const pods = await waitFor("all running", async () => { const ps = await Promise.all(names.map(getPod)); return ps.every((x) => x.status?.phase === "Running") && ps; });
    assert.equal(new Set(pods.map((p) => p.spec!.nodeName)).size, 1, "most-allocated packs them onto one node");
    await waitFor("events name the scheduler", async () => (await eventsFor("sd-pack-0")).some((e) => e.reason === "Scheduled"));
    await del(...names);
  } finally {
    await s.close();
  }
});

test("scheduler leader election: a second scheduler stands by", async () => {
  const a = await startScheduler({ kubeconfig: c.server.kubeconfigPath, leaderElect: true, identity: "sched-a", leaseName: "keel-test-scheduler", leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200, schedulerName: "second-scheduler" });
  const b = await startScheduler({ kubeconfig: c.server.kubeconfigPath, leaderElect: true, identity: "sched-b", leaseName: "keel-test-scheduler", leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200, schedulerName: "second-scheduler" });
  try {
    await a.leading();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(b.isLeader, false);
    await a.close(); // releases the lease
    await b.leading();
    assert.equal(b.isLeader, true);
  } finally {
    await a.close();
    await b.close();
  }
});
