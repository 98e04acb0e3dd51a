// ControllerRevisions: DaemonSets and StatefulSets record one revision per template, label
// their pods with controller-revision-hash, and real kubectl's `rollout history` and
// `rollout undo` work on them (against simulated nodes).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod } from "../../api/core.js";
import type { DaemonSet, StatefulSet } from "../../api/apps.js";
import type { ControllerRevision } from "../../api/policy.js";
import { R } from "../../controlplane/kit/index.js";
import { DaemonSetController, StatefulSetController } from "../../controlplane/controllers/index.js";
import { CONTROLLER_REVISIONS, REVISION_HASH_LABEL } from "../../controlplane/controllers/controller-revision.js";
import { simNodeSpecs } from "../../controlplane/sim-nodes/index.js";
import { secondPassWrites, startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

let c: Cluster;
before(async () => { c = await startCluster({ nodes: simNodeSpecs(2, { prefix: "keel-rev" }) }); });
after(async () => { await c?.close(); });

const template = (app: string, image: string) => ({ metadata: { labels: { app } }, spec: { containers: [{ name: "c", image }] } });
const revisionsOf = async (app: string) =>
  (await c.client.list<ControllerRevision>(CONTROLLER_REVISIONS, "default", { labelSelector: `app=${app}` })).items.sort((a, b) => a.revision - b.revision);
const podsOf = async (app: string) => (await c.client.list<Pod>(R.pods, "default", { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
const imageOf = (x: unknown) => (x as { spec?: { template?: { spec?: { containers?: { image: string }[] } } } } | undefined)?.spec?.template?.spec?.containers?.[0]?.image;

/** Every pod runs `image` and carries the hash of the revision whose data has that image. */
async function settledOn(app: string, image: string, count: number): Promise<ControllerRevision> {
  return waitFor(`${app} settled on ${image}`, async () => {
    const revs = await revisionsOf(app);
    const rev = revs.find((r) => imageOf(r.data as never) === image);
    const pods = await podsOf(app);
    return rev && pods.length === count && pods.every((p) => p.spec?.containers[0]?.image === image && p.metadata.labels?.[REVISION_HASH_LABEL] === rev.metadata.labels?.[REVISION_HASH_LABEL]) && rev;
  }, 60_000);
}

/** The REVISION column of `kubectl rollout history`. */
const historyRevisions = (out: string) => out.split("\n").map((l) => /^(\d+)\s/.exec(l)?.[1]).filter(Boolean).map(Number);

test("daemonset: a revision per template, pods labelled with its hash; kubectl rollout history and undo", async () => {
  const ds: DaemonSet = { metadata: { name: "keel-ds", namespace: "default" }, spec: { selector: { matchLabels: { app: "keel-ds" } }, template: template("keel-ds", "busybox:1") } };
  await c.client.create(R.daemonsets, "default", ds);
  const r1 = await settledOn("keel-ds", "busybox:1", 2);
  assert.equal(r1.revision, 1);
  // A revision's data is immutable (its revision number is not: rollbacks renumber).
  await assert.rejects(c.client.patch(CONTROLLER_REVISIONS, "default", r1.metadata.name!, { data: { changed: true } }), /422 .*data: Invalid value.*field is immutable/);
  assert.equal(r1.metadata.name, `keel-ds-${r1.metadata.labels![REVISION_HASH_LABEL]}`);
  assert.equal(r1.metadata.ownerReferences?.[0]?.kind, "DaemonSet");
  assert.equal((r1.data as { spec: { template: { $patch: string } } }).spec.template.$patch, "replace");

  await c.kubectl("set", "image", "daemonset/keel-ds", "c=busybox:2");
  const r2 = await settledOn("keel-ds", "busybox:2", 2);
  assert.equal(r2.revision, 2);
  assert.deepEqual(historyRevisions(await c.kubectl("rollout", "history", "daemonset/keel-ds")), [1, 2]);
  assert.match(await c.kubectl("rollout", "history", "daemonset/keel-ds", "--revision=1"), /Image:\s+busybox:1/);
  assert.match(await c.kubectl("get", "controllerrevisions", "-l", "app=keel-ds"), new RegExp(`^${r2.metadata.name}\\s+daemonset.apps/keel-ds\\s+2\\s`, "m"));

  const undo = await c.kubectl("rollout", "undo", "daemonset/keel-ds");
  assert.match(undo, /daemonset.apps\/keel-ds rolled back/);
  const r3 = await settledOn("keel-ds", "busybox:1", 2);
  // The old revision is renumbered rather than duplicated.
  assert.equal(r3.metadata.name, r1.metadata.name);
  assert.equal(r3.revision, 3);
  assert.deepEqual(historyRevisions(await c.kubectl("rollout", "history", "daemonset/keel-ds")), [2, 3]);
  assert.equal(imageOf(await c.client.get<DaemonSet>(R.daemonsets, "default", "keel-ds")), "busybox:1");
  await c.kubectl("rollout", "undo", "daemonset/keel-ds", "--to-revision=2");
  await settledOn("keel-ds", "busybox:2", 2);

  assert.deepEqual(await secondPassWrites(c, [DaemonSetController], R.daemonsets), []);

  await c.client.delete(R.daemonsets, "default", "keel-ds");
  await waitFor("revisions gone with their daemonset", async () => (await revisionsOf("keel-ds")).length === 0);
});

test("statefulset: revisions, currentRevision/updateRevision, kubectl rollout undo", async () => {
  const sts: StatefulSet = { metadata: { name: "keel-sts", namespace: "default" }, spec: { replicas: 2, serviceName: "keel-sts", selector: { matchLabels: { app: "keel-sts" } }, template: template("keel-sts", "busybox:1") } };
  await c.client.create(R.statefulsets, "default", sts);
  const r1 = await settledOn("keel-sts", "busybox:1", 2);
  const s1 = await waitFor("status", async () => { const s = await c.client.get<StatefulSet>(R.statefulsets, "default", "keel-sts"); return s.status?.readyReplicas === 2 && s; });
  assert.equal(s1.status?.updateRevision, r1.metadata.name);
  assert.equal(s1.status?.currentRevision, r1.metadata.name);

  await c.kubectl("set", "image", "statefulset/keel-sts", "c=busybox:2");
  const r2 = await settledOn("keel-sts", "busybox:2", 2);
  await waitFor("updated status", async () => { const s = await c.client.get<StatefulSet>(R.statefulsets, "default", "keel-sts"); return s.status?.currentRevision === r2.metadata.name && s.status?.updatedReplicas === 2; });
  assert.deepEqual(historyRevisions(await c.kubectl("rollout", "history", "statefulset/keel-sts")), [1, 2]);

  assert.match(await c.kubectl("rollout", "undo", "statefulset/keel-sts"), /statefulset.apps\/keel-sts rolled back/);
  const r3 = await settledOn("keel-sts", "busybox:1", 2);
  assert.equal(r3.revision, 3);
  assert.deepEqual(historyRevisions(await c.kubectl("rollout", "history", "statefulset/keel-sts")), [2, 3]);
  assert.deepEqual(await secondPassWrites(c, [StatefulSetController], R.statefulsets), []);
  await c.client.delete(R.statefulsets, "default", "keel-sts");
  await waitFor("revisions gone with their statefulset", async () => (await revisionsOf("keel-sts")).length === 0);
});


test("revisionHistoryLimit: old revisions no pod runs are pruned", async () => {
  const ds: DaemonSet = { metadata: { name: "keel-ds-lim", namespace: "default" }, spec: { revisionHistoryLimit: 1, selector: { matchLabels: { app: "keel-ds-lim" } }, template: template("keel-ds-lim", "busybox:1") } };
  await c.client.create(R.daemonsets, "default", ds);
  await settledOn("keel-ds-lim", "busybox:1", 2);
  for (const image of ["busybox:2", "busybox:3"]) {
    await c.kubectl("set", "image", "daemonset/keel-ds-lim", `c=${image}`);
    await settledOn("keel-ds-lim", image, 2);
  }
  // The current revision plus one of history.
  const revs = await waitFor("pruned", async () => { const r = await revisionsOf("keel-ds-lim"); return r.length === 2 && r; });
  assert.deepEqual(revs.map((r) => [r.revision, imageOf(r.data)]), [[2, "busybox:2"], [3, "busybox:3"]]);
  await c.client.delete(R.daemonsets, "default", "keel-ds-lim");
});
