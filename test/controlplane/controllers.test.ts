// The core controllers against a real API server with simulated nodes and the scheduler daemon.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod, Node, Service, Endpoints } from "../../api/core.js";
import type { ReplicaSet, Deployment } from "../../api/apps.js";
import { R, Informer } from "../../controlplane/kit/index.js";
import { isPodReady } from "../../controlplane/controllers/index.js";
import { startCluster, waitFor, reconcileTwice, type Cluster } from "./controllers-fixture.js";

let c: Cluster;
before(async () => { c = await startCluster(); });
after(async () => { await c?.close(); });

const labels = (app: string) => ({ app });
const podsOf = async (app: string) => (await c.client.list<Pod>(R.pods, "default", { labelSelector: `app=${app}` })).items;
const readyOf = async (app: string) => (await podsOf(app)).filter(isPodReady);

function rs(name: string, replicas: number): ReplicaSet {
  return {
    metadata: { name, namespace: "default" },
    spec: { replicas, selector: { matchLabels: labels(name) }, template: { metadata: { labels: labels(name) }, spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "10m" } } }] } } },
  };
}

test("replicaset: creates pods that get scheduled and Running, scales down, reports status", async () => {
  await c.client.create(R.replicasets, "default", rs("rs-a", 4));
  await waitFor("4 ready pods", async () => (await readyOf("rs-a")).length === 4);
  await waitFor("rs status", async () => (await c.client.get<ReplicaSet>(R.replicasets, "default", "rs-a")).status?.readyReplicas === 4);
  await c.client.patch(R.replicasets, "default", "rs-a", { spec: { replicas: 2 } });
  await waitFor("2 pods", async () => (await podsOf("rs-a")).length === 2);
  const st = await waitFor("status 2", async () => { const r = await c.client.get<ReplicaSet>(R.replicasets, "default", "rs-a"); return r.status?.replicas === 2 && r.status; });
  assert.equal(st.readyReplicas, 2);
});

test("garbage collector: deleting a ReplicaSet deletes its pods", async () => {
  await c.client.create(R.replicasets, "default", rs("rs-gc", 2));
  await waitFor("2 pods", async () => (await readyOf("rs-gc")).length === 2);
  await c.client.delete(R.replicasets, "default", "rs-gc");
  await waitFor("pods gone", async () => (await podsOf("rs-gc")).length === 0);
});

test("garbage collector: the orphan finalizer leaves dependents without the owner", async () => {
  await c.client.create(R.replicasets, "default", rs("rs-orphan", 1));
  await waitFor("1 pod", async () => (await readyOf("rs-orphan")).length === 1);
  // What kube-apiserver does for propagationPolicy=Orphan: a finalizer the collector honours.
  await c.client.patch(R.replicasets, "default", "rs-orphan", { metadata: { finalizers: ["orphan"] } });
  await c.client.delete(R.replicasets, "default", "rs-orphan");
  await waitFor("rs gone", async () => !(await c.client.list(R.replicasets, "default")).items.some((x) => x.metadata.name === "rs-orphan"));
  const pods = await podsOf("rs-orphan");
  assert.equal(pods.length, 1);
  assert.ok(!pods[0]!.metadata.ownerReferences?.length);
  // A new ReplicaSet with the same selector adopts the orphan instead of starting another pod.
  const again = await c.client.create<ReplicaSet>(R.replicasets, "default", rs("rs-orphan", 1));
  await waitFor("adopted", async () => (await podsOf("rs-orphan")).some((p) => p.metadata.ownerReferences?.some((r) => r.uid === again.metadata.uid && r.controller)));
  await waitFor("rs status", async () => (await c.client.get<ReplicaSet>(R.replicasets, "default", "rs-orphan")).status?.readyReplicas === 1);
  const after = await podsOf("rs-orphan");
  assert.deepEqual(after.map((p) => p.metadata.name), [pods[0]!.metadata.name]);
  await c.client.delete(R.replicasets, "default", "rs-orphan");
  await waitFor("pods gone", async () => (await podsOf("rs-orphan")).length === 0);
});

test("garbage collector: foreground deletion removes the dependents first, then the owner", async () => {
  await c.client.create(R.replicasets, "default", rs("rs-fg", 2));
  await waitFor("2 pods", async () => (await readyOf("rs-fg")).length === 2);
  const seenOwnerWhilePods: boolean[] = [];
  // What kube-apiserver does for propagationPolicy=Foreground: the foregroundDeletion finalizer.
  await c.client.patch(R.replicasets, "default", "rs-fg", { metadata: { finalizers: ["foregroundDeletion"] } });
  await c.client.delete(R.replicasets, "default", "rs-fg");
  await waitFor("rs gone", async () => {
    const owner = (await c.client.list(R.replicasets, "default")).items.some((x) => x.metadata.name === "rs-fg");
    const pods = (await podsOf("rs-fg")).length;
    if (!owner && pods > 0) seenOwnerWhilePods.push(false);
    return !owner;
  });
  assert.equal((await podsOf("rs-fg")).length, 0);
  assert.deepEqual(seenOwnerWhilePods, [], "the owner went before its dependents");
});

test("endpoints and endpointslices follow the ready pods a service selects", async () => {
  await c.client.create(R.replicasets, "default", rs("web-ep", 3));
  await c.client.create<Service>(R.services, "default", { metadata: { name: "web-ep" }, spec: { selector: labels("web-ep"), ports: [{ name: "http", port: 80, targetPort: 8080 }] } });
  const ep = await waitFor("3 endpoint addresses", async () => {
    const e = await c.client.get<Endpoints>(R.endpoints, "default", "web-ep").catch(() => undefined);
    return (e?.subsets?.[0]?.addresses?.length ?? 0) === 3 && e;
  });
  assert.equal(ep.subsets![0]!.ports![0]!.port, 8080);
  const slices = await c.client.list(R.endpointslices, "default", { labelSelector: "kubernetes.io/service-name=web-ep" });
  assert.equal(slices.items.length, 1);
  assert.equal((slices.items[0] as unknown as { endpoints: unknown[] }).endpoints.length, 3);
  await c.client.patch(R.replicasets, "default", "web-ep", { spec: { replicas: 1 } });
  await waitFor("1 address", async () => ((await c.client.get<Endpoints>(R.endpoints, "default", "web-ep")).subsets?.[0]?.addresses?.length ?? 0) === 1);
});

test("node ipam: every node gets its own podCIDR", async () => {
  const nodes = await waitFor("cidrs", async () => {
    const l = (await c.client.list<Node>(R.nodes)).items;
    return l.every((n) => n.spec?.podCIDR) && l;
  });
  const cidrs = nodes.map((n) => n.spec!.podCIDR!);
  assert.equal(new Set(cidrs).size, cidrs.length);
  for (const x of cidrs) assert.match(x, /^10\.244\.\d+\.0\/24$/);
});

test("deployment: rolling update never exceeds maxSurge / maxUnavailable; undo returns the old template", async () => {
  const want = 6, surge = 2, unavailable = 1;
  const dep: Deployment = {
    metadata: { name: "roll", namespace: "default" },
    spec: {
      replicas: want, selector: { matchLabels: labels("roll") },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } },
      template: { metadata: { labels: labels("roll") }, spec: { containers: [{ name: "c", image: "busybox:1" }] } },
    },
  };
  await c.client.create(R.deployments, "default", dep);
  await c.kubectl("rollout", "status", "deployment/roll", "--timeout=60s");
  assert.equal((await readyOf("roll")).length, want);

  // Watch every pod event from here on and check the fences at each step.
  const watcher = new Informer<Pod>(c.client, R.pods, { namespace: "default", labelSelector: "app=roll" });
  let maxTotal = 0, minReady = Infinity, events = 0;
  const check = () => {
    if (!watcher.hasSynced) return; // the initial list arrives one add at a time
    events++;
    const live = watcher.list().filter((p) => !p.metadata.deletionTimestamp);
    maxTotal = Math.max(maxTotal, live.length);
    minReady = Math.min(minReady, live.filter(isPodReady).length);
  };
  watcher.addEventHandler({ add: check, update: check, delete: check });
  await watcher.start();
  try {
    await c.kubectl("set", "image", "deployment/roll", "c=busybox:2");
    await c.kubectl("rollout", "status", "deployment/roll", "--timeout=90s");
    await waitFor("all on busybox:2", async () => { const p = await readyOf("roll"); return p.length === want && p.every((x) => x.spec!.containers[0]!.image === "busybox:2"); });
    assert.ok(events > want, `saw ${events} events`);
    assert.ok(maxTotal <= want + surge, `saw ${maxTotal} pods (max ${want + surge})`);
    assert.ok(minReady >= want - unavailable, `saw only ${minReady} ready (min ${want - unavailable})`);
  } finally {
    watcher.stop();
  }
  const history = await c.kubectl("rollout", "history", "deployment/roll");
  assert.match(history, /\b1\b/);
  assert.match(history, /\b2\b/);
  await c.kubectl("rollout", "undo", "deployment/roll");
  await waitFor("template back to busybox:1", async () => (await c.client.get<Deployment>(R.deployments, "default", "roll")).spec!.template.spec!.containers[0]!.image === "busybox:1");
  await c.kubectl("rollout", "status", "deployment/roll", "--timeout=90s");
  await waitFor("pods on busybox:1", async () => { const p = await readyOf("roll"); return p.length === want && p.every((x) => x.spec!.containers[0]!.image === "busybox:1"); });
  const d = await c.client.get<Deployment>(R.deployments, "default", "roll");
  assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
  // Scale through kubectl: the new size is reached and kept.
  await c.kubectl("scale", "deployment/roll", "--replicas=3");
  await waitFor("3 pods", async () => (await podsOf("roll")).filter((p) => !p.metadata.deletionTimestamp).length === 3 && (await readyOf("roll")).length === 3);
});

test("deployment: Recreate stops every old pod before starting new ones", async () => {
  const dep: Deployment = {
    metadata: { name: "recreate", namespace: "default" },
    spec: { replicas: 3, selector: { matchLabels: labels("recreate") }, strategy: { type: "Recreate" }, template: { metadata: { labels: labels("recreate") }, spec: { containers: [{ name: "c", image: "busybox:1" }] } } },
  };
  await c.client.create(R.deployments, "default", dep);
  await c.kubectl("rollout", "status", "deployment/recreate", "--timeout=60s");
  const watcher = new Informer<Pod>(c.client, R.pods, { namespace: "default", labelSelector: "app=recreate" });
  let mixed = false;
  const check = () => {
    const imgs = new Set(watcher.list().filter((p) => p.status?.phase === "Running").map((p) => p.spec!.containers[0]!.image));
    if (imgs.size > 1) mixed = true;
  };
  watcher.addEventHandler({ add: check, update: check });
  await watcher.start();
  try {
    await c.client.patch(R.deployments, "default", "recreate", { spec: { template: { spec: { containers: [{ name: "c", image: "busybox:2" }] } } } }, "strategic");
    await c.kubectl("rollout", "status", "deployment/recreate", "--timeout=60s");
    await waitFor("3 new", async () => { const p = await readyOf("recreate"); return p.length === 3 && p.every((x) => x.spec!.containers[0]!.image === "busybox:2"); });
  } finally { watcher.stop(); }
  assert.equal(mixed, false);
});

test("each reconciler run twice on the same input changes nothing the second time", async () => {
  const [quiet, second] = await reconcileTwice(c);
  assert.deepEqual(quiet, []);
  assert.deepEqual(second, []);
});
