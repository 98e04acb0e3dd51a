// The controller kit against a real API server: REST verbs, informers (watch, resumption,
// indexes), the work queue's guarantees, leader election hand-over, events.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Informer, LeaderElector, WorkQueue, EventRecorder, R, ApiStatusError, isNotFound, keyOf } from "../../controlplane/kit/index.js";
import type { Pod, ConfigMap } from "../../api/core.js";
import { startApiFixture, waitFor, type ApiFixture } from "./kit-fixture.js";

let fx: ApiFixture;
before(async () => { fx = await startApiFixture(); });
after(async () => { await fx?.close(); });

const pod = (name: string, labels: Record<string, string> = {}, nodeName?: string): Pod => ({
  metadata: { name, namespace: "default", labels },
  spec: { containers: [{ name: "c", image: "busybox" }], ...(nodeName ? { nodeName } : {}) },
});

test("client: create, get, update, patch, status, delete, typed errors", async () => {
  const c = fx.client;
  const cm = await c.create<ConfigMap>(R.configmaps, "default", { metadata: { name: "kit-cm" }, data: { a: "1" } });
  assert.equal(cm.data?.a, "1");
  const got = await c.get<ConfigMap>(R.configmaps, "default", "kit-cm");
  got.data = { a: "2" };
  const upd = await c.update(R.configmaps, got);
  assert.equal(upd.data?.a, "2");
  await assert.rejects(c.update(R.configmaps, cm), (e: unknown) => e instanceof ApiStatusError && e.code === 409);
  const p = await c.patch<ConfigMap>(R.configmaps, "default", "kit-cm", { data: { b: "3" } });
  assert.deepEqual(p.data, { a: "2", b: "3" });
  const po = await c.create(R.pods, "default", pod("kit-status"));
  const st = await c.patchStatus<Pod>(R.pods, "default", "kit-status", { status: { phase: "Running" } });
  assert.equal(st.status?.phase, "Running");
  assert.ok(po.metadata.uid);
  await c.delete(R.configmaps, "default", "kit-cm");
  await assert.rejects(c.get(R.configmaps, "default", "kit-cm"), (e: unknown) => isNotFound(e));
  await c.delete(R.pods, "default", "kit-status", { gracePeriodSeconds: 0 });
});

test("informer: lists, watches, indexes, and sees deletes", async () => {
  const c = fx.client;
  await c.create(R.pods, "default", pod("inf-a", { app: "x" }, "n1"));
  const inf = new Informer<Pod>(c, R.pods, { indexers: { node: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) } });
  const seen: string[] = [];
  inf.addEventHandler({ add: (o) => seen.push(`add ${o.metadata.name}`), delete: (o) => seen.push(`del ${o.metadata.name}`) });
  await inf.start();
  try {
    assert.ok(inf.getByName("default", "inf-a"));
    await c.create(R.pods, "default", pod("inf-b", { app: "y" }, "n1"));
    await waitFor("inf-b in cache", () => inf.getByName("default", "inf-b"));
    assert.deepEqual(inf.byIndex("node", "n1").map((p) => p.metadata.name).sort(), ["inf-a", "inf-b"]);
    await c.delete(R.pods, "default", "inf-b", { gracePeriodSeconds: 0 });
    await waitFor("inf-b gone", () => !inf.getByName("default", "inf-b"));
    assert.ok(seen.includes("add inf-a") && seen.includes("add inf-b") && seen.includes("del inf-b"));
    assert.equal(inf.byIndex("node", "n1").length, 1);
  } finally {
    inf.stop();
    await c.delete(R.pods, "default", "inf-a", { gracePeriodSeconds: 0 });
  }
});

test("informer: resumes after a dropped watch without missing events", async () => {
  const c = fx.client;
  const inf = new Informer<ConfigMap>(c, R.configmaps, { namespace: "default" });
  await inf.start();
  try {
    // Drop the watch connection: the informer resumes from its last resourceVersion.
    (inf as unknown as { watchHandle: { stop(): void } }).watchHandle.stop();
    (inf as unknown as { startWatch(): void }).startWatch();
    for (let i = 0; i < 5; i++) await c.create(R.configmaps, "default", { metadata: { name: `resume-${i}` }, data: {} } as ConfigMap);
    await waitFor("all five", () => [0, 1, 2, 3, 4].every((i) => inf.getByName("default", `resume-${i}`)));
  } finally {
    inf.stop();
    for (let i = 0; i < 5; i++) await c.delete(R.configmaps, "default", `resume-${i}`).catch(() => {});
  }
});

test("work queue: merges keys, one worker per key, retries with back-off", async () => {
  const q = new WorkQueue("t", { baseDelayMs: 1 });
  const active = new Set<string>();
  let overlap = false;
  const runs = new Map<string, number>();
  let failOnce = true;
  const done = q.run(4, async (key) => {
    if (active.has(key)) overlap = true;
    active.add(key);
    runs.set(key, (runs.get(key) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 5));
    active.delete(key);
    if (key === "fail" && failOnce) { failOnce = false; throw new Error("boom"); }
  });
  for (let i = 0; i < 20; i++) q.add("a");
  q.add("fail");
  await waitFor("retry", () => runs.get("fail") === 2 && runs.get("a")! >= 1);
  for (let i = 0; i < 10; i++) { q.add("b"); await new Promise((r) => setTimeout(r, 1)); }
  await waitFor("b settles", () => q.length === 0 && runs.get("b"));
  q.shutdown();
  await done;
  assert.equal(overlap, false);
  assert.ok(runs.get("a")! <= 2, `a ran ${runs.get("a")} times`);
  assert.equal(q.numRequeues("fail"), 0);
});

test("leader election: one leader; a standby takes over when it stops renewing", async () => {
  const c = fx.client;
  const leading = new Set<string>();
  const mk = (id: string) => new LeaderElector({
    client: c, name: "kit-le", identity: id, leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 100,
    onStartedLeading: () => { leading.add(id); }, onStoppedLeading: () => { leading.delete(id); },
  });
  const a = mk("a");
  a.start();
  await waitFor("a leads", () => leading.has("a"));
  const b = mk("b");
  b.start();
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual([...leading], ["a"]);
  await a.stop(false); // dies without releasing: b waits out the lease
  const t0 = Date.now();
  await waitFor("b leads", () => leading.has("b"), 10_000);
  assert.ok(Date.now() - t0 < 5_000);
  await b.stop();
  const lease = await c.get<{ metadata: object; spec?: { holderIdentity?: string } } & import("../../api/meta.js").KubeObject>(R.leases, "kube-system", "kit-le");
  assert.equal(lease.spec?.holderIdentity ?? "", "");
});

test("events: recorded and folded by count", async () => {
  const c = fx.client;
  const p = await c.create<Pod>(R.pods, "default", pod("ev-pod"));
  const rec = new EventRecorder(c, "keel-test");
  rec.event({ ...p, apiVersion: "v1", kind: "Pod" }, "Normal", "Tested", "hello");
  await rec.flush();
  rec.event({ ...p, apiVersion: "v1", kind: "Pod" }, "Normal", "Tested", "hello");
  await rec.flush();
  const evs = await c.list(R.events, "default");
  const mine = evs.items.filter((e) => (e as unknown as { involvedObject: { name: string } }).involvedObject.name === "ev-pod");
  assert.equal(mine.length, 1);
  assert.equal((mine[0] as unknown as { count: number }).count, 2);
  assert.ok(keyOf(p) === "default/ev-pod");
  await c.delete(R.pods, "default", "ev-pod", { gracePeriodSeconds: 0 });
});

test("informer: a watch whose resourceVersion was compacted away (410) re-lists", async () => {
  const c = fx.client;
  await c.create(R.configmaps, "default", { metadata: { name: "gone-old" }, data: {} } as ConfigMap);
  const inf = new Informer<ConfigMap>(c, R.configmaps, { namespace: "default" });
  const deleted: string[] = [];
  inf.addEventHandler({ delete: (o) => deleted.push(o.metadata.name!) });
  await inf.start();
  try {
    assert.ok(inf.getByName("default", "gone-old"));
    const internals = inf as unknown as { watchHandle: { stop(): void }; startWatch(): void };
    internals.watchHandle.stop(); // the connection drops ...
    await c.delete(R.configmaps, "default", "gone-old");
    await c.create(R.configmaps, "default", { metadata: { name: "gone-new" }, data: {} } as ConfigMap);
    const rv = (await c.list(R.configmaps, "default")).metadata.resourceVersion!;
    await fx.server.store.compact(Number(rv)); // ... and the history it would resume from is gone
    internals.startWatch();
    await waitFor("re-listed", () => inf.getByName("default", "gone-new") && !inf.getByName("default", "gone-old"));
    assert.deepEqual(deleted, ["gone-old"]);
  } finally {
    inf.stop();
    await c.delete(R.configmaps, "default", "gone-new").catch(() => {});
  }
});
