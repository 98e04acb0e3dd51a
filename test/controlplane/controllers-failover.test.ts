// Failures: a simulated node stops renewing its Lease and its pods come back elsewhere; the
// leading controller-manager dies and the standby takes over within the lease duration.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { Node, Pod } from "../../api/core.js";
import type { ReplicaSet } from "../../api/apps.js";
import { R } from "../../controlplane/kit/index.js";
import { startControllerManager, isPodReady, TAINT_UNREACHABLE, type RunningControllerManager } from "../../controlplane/controllers/index.js";
import { simNodeSpecs } from "../../controlplane/sim-nodes/index.js";
import { startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

const clusters: Cluster[] = [];
const managers: RunningControllerManager[] = [];
after(async () => {
  for (const m of managers) await m.close().catch(() => {});
  for (const c of clusters) await c.close();
});

function rs(name: string, replicas: number): ReplicaSet {
  return {
    metadata: { name, namespace: "default" },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
  };
}

test("a node that stops renewing its Lease: Ready=Unknown, tainted, its pods recreated on other nodes", async () => {
  const c = await startCluster({ nodes: simNodeSpecs(3, { prefix: "keel-fo" }), cm: { nodeMonitorGracePeriodMs: 2_000 } });
  clusters.push(c);
  await c.client.create(R.replicasets, "default", rs("survivor", 6));
  const live = async () => (await c.client.list<Pod>(R.pods, "default", { labelSelector: "app=survivor" })).items;
  await waitFor("6 ready", async () => (await live()).filter(isPodReady).length === 6);
  // The node holding the most pods dies.
  const counts = new Map<string, number>();
  for (const p of await live()) counts.set(p.spec!.nodeName!, (counts.get(p.spec!.nodeName!) ?? 0) + 1);
  const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  c.sim.kill(victim);
  const node = await waitFor("node unknown and tainted", async () => {
    const n = await c.client.get<Node>(R.nodes, undefined, victim);
    return n.status?.conditions?.find((x) => x.type === "Ready")?.status === "Unknown" && n.spec?.taints?.some((t) => t.key === TAINT_UNREACHABLE && t.effect === "NoExecute") && n;
  }, 30_000);
  assert.ok(node);
  await waitFor("6 ready pods elsewhere", async () => {
    const ready = (await live()).filter(isPodReady);
    return ready.length === 6 && ready.every((p) => p.spec!.nodeName !== victim);
  }, 60_000);
  // The node comes back: its taint goes away.
  c.sim.revive(victim);
  await waitFor("taint removed", async () => {
    const n = await c.client.get<Node>(R.nodes, undefined, victim);
    return !n.spec?.taints?.some((t) => t.key === TAINT_UNREACHABLE);
  }, 30_000);
});

test("a deleted node: the pods bound to it are removed at once and replaced elsewhere", async () => {
  const c = clusters[0]!;
  const live = async () => (await c.client.list<Pod>(R.pods, "default", { labelSelector: "app=survivor" })).items;
  await waitFor("6 ready", async () => (await live()).filter(isPodReady).length === 6);
  const node = (await live())[0]!.spec!.nodeName!;
  c.sim.kill(node);
  await c.client.delete(R.nodes, undefined, node);
  await waitFor("no pod left on the deleted node, 6 ready elsewhere", async () => {
    const pods = await live();
    return pods.every((p) => p.spec?.nodeName !== node) && pods.filter(isPodReady).length === 6;
  }, 60_000);
});

test("leader election: the standby controller-manager takes over when the leader dies", async () => {
  const c = await startCluster({ nodes: simNodeSpecs(2, { prefix: "keel-le" }), controllers: false });
  clusters.push(c);
  const opts = { kubeconfig: c.server.kubeconfigPath, leaderElect: true, leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 200 };
  const a = await startControllerManager({ ...opts, identity: "cm-a" });
  managers.push(a);
  await a.leading();
  const b = await startControllerManager({ ...opts, identity: "cm-b" });
  managers.push(b);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(a.isLeader, true);
  assert.equal(b.isLeader, false);
  await c.client.create(R.replicasets, "default", rs("le-one", 2));
  await waitFor("a runs it", async () => (await c.client.list<Pod>(R.pods, "default", { labelSelector: "app=le-one" })).items.filter(isPodReady).length === 2);
  await a.kill();
  const t0 = Date.now();
  await b.leading();
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  const lease = await c.client.get<{ metadata: object; spec?: { holderIdentity?: string } } & import("../../api/meta.js").KubeObject>(R.leases, "kube-system", "kube-controller-manager");
  assert.equal(lease.spec?.holderIdentity, "cm-b");
  await c.client.create(R.replicasets, "default", rs("le-two", 3));
  await waitFor("b runs it", async () => (await c.client.list<Pod>(R.pods, "default", { labelSelector: "app=le-two" })).items.filter(isPodReady).length === 3);
});
