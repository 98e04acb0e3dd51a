// kube's system default topology spreading in keel's scheduler, with the real algorithm: a
// ReplicaSet's or Service's pods spread over the nodes even without requests, pods nothing
// selects still pack, a pod's own constraints replace the defaults, a profile can turn the
// defaults off, and the score has kube's numbers.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { compilePod } from "../../controlplane/scheduler/pod-info.js";
import { builtinProfile, profileFromConfig, ProfileError } from "../../controlplane/scheduler/profile.js";
import { spreadScores, HOSTNAME_LABEL } from "../../controlplane/scheduler/topology-spread.js";
import type { Scheduler } from "../../controlplane/scheduler/core.js";
import type { PodLike } from "../../controlplane/scheduler/types.js";
import { cluster, node, place, pod, running, type PodOpts } from "./scheduler-fixtures.js";

const ZONE = "topology.kubernetes.io/zone";
const RS = { metadata: { name: "web", namespace: "default" }, spec: { selector: { matchLabels: { app: "web", "pod-template-hash": "h1" } } } };
const SVC = { metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" } } };

/** A zero-request pod of the "web" ReplicaSet (as a Deployment makes them). */
function webPod(name: string, o: PodOpts = {}): PodLike {
  return pod(name, { owner: "web", labels: { app: "web", "pod-template-hash": "h1" }, ...o });
}

function withWorkloads(s: Scheduler): Scheduler {
  s.onControllerUpdate("ReplicaSet", RS);
  s.onServiceUpdate(SVC);
  return s;
}

function placeAll(s: Scheduler, pods: PodLike[]): Map<string, number> {
  const per = new Map<string, number>();
  for (const p of pods) { const n = place(s, p); assert.ok(n, `${p.metadata!.name} not placed`); per.set(n, (per.get(n) ?? 0) + 1); }
  return per;
}

const three = () => [node("a"), node("b"), node("c")];
const web30 = () => Array.from({ length: 30 }, (_, i) => webPod(`web-${i}`));

describe("system default spreading", () => {
  test("30 zero-request pods of a ReplicaSet behind a Service spread over 3 nodes within the skew", () => {
    for (const relaxed of [false, true]) {
      const s = withWorkloads(cluster(three(), "default", { techniques: { ...builtinProfile("default").techniques, relaxedRandomization: relaxed } }));
      const per = placeAll(s, web30());
      assert.equal(per.size, 3, JSON.stringify([...per]));
      for (const [n, k] of per) assert.ok(Math.abs(k - 10) <= 3, `node ${n} got ${k}: ${JSON.stringify([...per])}`);
    }
  });

  test("100 replicas spread too; the ReplicaSet alone (no Service) is enough, and so is a Service alone", () => {
    const s = cluster(three());
    s.onControllerUpdate("ReplicaSet", RS);
    const per = placeAll(s, Array.from({ length: 100 }, (_, i) => webPod(`web-${i}`)));
    for (const [n, k] of per) assert.ok(Math.abs(k - 100 / 3) <= 3, `node ${n} got ${k}: ${JSON.stringify([...per])}`);
    const t = cluster(three());
    t.onServiceUpdate(SVC);
    // A Job's pods that a Service selects are spread (the Service's selector alone).
    const jobPods = Array.from({ length: 12 }, (_, i) => pod(`job-${i}`, { labels: { app: "web" } }));
    const per2 = placeAll(t, jobPods.map((p) => ({ ...p, metadata: { ...p.metadata, ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "j", uid: "job-j", controller: true }] } })));
    assert.deepEqual([...per2.values()].sort(), [4, 4, 4]);
  });

  test("pods nothing selects or controls pack (the same pods, without the ReplicaSet and Service)", () => {
    const per = placeAll(cluster(three()), web30());
    assert.equal(per.size, 1, JSON.stringify([...per]));
  });

  test("pods with requests on a loaded cluster still pack when nothing selects them, beside a spread ReplicaSet", () => {
    const s = withWorkloads(cluster(three()));
    running(s, pod("big", { cpu: "2", memory: "4Gi" }), "a");
    placeAll(s, web30().slice(0, 9));
    const batch = Array.from({ length: 3 }, (_, i) => pod(`batch-${i}`, { cpu: "500m", memory: "1Gi", labels: { app: "batch" } }));
    for (const p of batch) assert.equal(place(s, p), "a");
  });

  test("a pod with its own topologySpreadConstraints uses those, not the defaults", () => {
    // a and b in zone z1, c in z2. The pods' own soft constraint spreads over zones only: half
    // go to c, and within z1 the hybrid packs onto one node. The defaults would spread over hosts.
    const s = withWorkloads(cluster([node("a", { labels: { [ZONE]: "z1" } }), node("b", { labels: { [ZONE]: "z1" } }), node("c", { labels: { [ZONE]: "z2" } })]));
    const own = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }] };
    const st = s.algorithm.spreadScoring(compilePod(webPod("probe", own)));
    assert.equal(st?.defaulted, false);
    assert.deepEqual(st?.constraints.map((c) => c.key), [ZONE]);
    assert.deepEqual(s.algorithm.spreadScoring(compilePod(webPod("probe2")))?.constraints.map((c) => c.key), [HOSTNAME_LABEL, ZONE]);
    const per = placeAll(s, Array.from({ length: 20 }, (_, i) => webPod(`own-${i}`, own)));
    const z1 = (per.get("a") ?? 0) + (per.get("b") ?? 0), z2 = per.get("c") ?? 0;
    assert.ok(Math.abs(z1 - z2) <= 2, `zones ${z1}/${z2}`);
    assert.ok(Math.min(per.get("a") ?? 0, per.get("b") ?? 0) <= 1, `z1 not packed: ${JSON.stringify([...per])}`);
  });

  test("a profile with the defaults off (defaultingType List, no constraints) packs them onto one node", () => {
    const off = profileFromConfig({ name: "no-defaults", podTopologySpread: { defaultingType: "List", defaultConstraints: [] } });
    assert.equal(off.scores.PodTopologySpread, 2);
    const per = placeAll(withWorkloads(cluster(three(), off)), web30());
    assert.equal(per.size, 1, JSON.stringify([...per]));
  });

  test("a profile's own default list is used instead of kube's", () => {
    const zonesOnly = profileFromConfig({ name: "zones", podTopologySpread: { defaultingType: "List", defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }] } });
    const s = withWorkloads(cluster([node("a", { labels: { [ZONE]: "z1" } }), node("b", { labels: { [ZONE]: "z1" } }), node("c", { labels: { [ZONE]: "z2" } })], zonesOnly));
    assert.deepEqual(s.algorithm.spreadScoring(compilePod(webPod("probe")))?.constraints.map((c) => [c.key, c.maxSkew]), [[ZONE, 1]]);
  });

  test("the default selector follows the objects: a deleted ReplicaSet and Service stop the spreading", () => {
    const s = withWorkloads(cluster(three()));
    assert.ok(s.algorithm.spreadScoring(compilePod(webPod("x"))));
    s.onControllerDelete("ReplicaSet", RS);
    assert.ok(s.algorithm.spreadScoring(compilePod(webPod("x"))), "the Service still selects it");
    s.onServiceDelete(SVC);
    assert.equal(s.algorithm.spreadScoring(compilePod(webPod("x"))), null);
    // A controller reference needs the right apiVersion (kube matches group, version and kind).
    s.onControllerUpdate("ReplicaSet", RS);
    const wrong = webPod("y");
    const refs = [{ apiVersion: "extensions/v1beta1", kind: "ReplicaSet", name: "web", uid: "rs-web", controller: true }];
    assert.equal(s.algorithm.spreadScoring(compilePod({ ...wrong, metadata: { ...wrong.metadata, ownerReferences: refs } })), null);
    // A Service in another namespace selects nothing here.
    s.onControllerDelete("ReplicaSet", RS);
    s.onServiceUpdate({ metadata: { name: "web", namespace: "other" }, spec: { selector: { app: "web" } } });
    assert.equal(s.algorithm.spreadScoring(compilePod(webPod("z"))), null);
  });
});

describe("the spreading score has kube's numbers", () => {
  test("count × log(domains + 2) + maxSkew − 1, rounded, normalized so the emptiest node scores 100", () => {
    const s = withWorkloads(cluster(three()));
    running(s, webPod("w0"), "a");
    const st = s.algorithm.spreadScoring(compilePod(webPod("next")))!;
    const nodes = ["a", "b", "c"].map((n) => s.cache.node(n)!);
    // hostname, maxSkew 3: a = round(1 × ln 5 + 2) = 4, b = c = 2 → 100 × (4 + 2 − s) / 4. No
    // node has a zone label: the zone default is skipped, and no node is ignored (defaults).
    assert.deepEqual([...spreadScores(st, nodes)], [50, 100, 100]);
    running(s, webPod("w1"), "b");
    running(s, webPod("w2"), "a");
    // a = round(2 ln 5 + 2) = 5, b = 4, c = 2 → 100 × (7 − s) / 5.
    assert.deepEqual([...spreadScores(s.algorithm.spreadScoring(compilePod(webPod("next")))!, nodes)], [40, 60, 100]);
    // Only the feasible nodes count: without c, 2 hosts → weight ln 4; a = round(2 ln 4 + 2) = 5, b = round(ln 4 + 2) = 3.
    assert.deepEqual([...spreadScores(s.algorithm.spreadScoring(compilePod(webPod("next")))!, nodes.slice(0, 2))], [60, 100]);
  });

  test("zones: counts per zone over the nodes; a pod's own constraint scores a node without the key 0", () => {
    const s = withWorkloads(cluster([node("a", { labels: { [ZONE]: "z1" } }), node("b", { labels: { [ZONE]: "z1" } }), node("c", { labels: { [ZONE]: "z2" } }), node("d")]));
    running(s, webPod("w0"), "a");
    running(s, webPod("w1"), "b");
    const nodes = ["a", "b", "c", "d"].map((n) => s.cache.node(n)!);
    // Defaults: host (4 feasible hosts, ln 6, maxSkew 3) + zone (domains z1, z2 and "" for d: ln 5,
    // maxSkew 5). a, b: round(ln 6 + 2 + 2 ln 5 + 4) = 11; c: round(0 + 2 + 0 + 4) = 6;
    // d has no zone label: host only, 2. → 100 × (11 + 2 − s) / 11.
    assert.deepEqual([...spreadScores(s.algorithm.spreadScoring(compilePod(webPod("next")))!, nodes)], [18, 18, 63, 100]);
    const own = compilePod(webPod("own", { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }] }));
    // Own constraint: d is ignored (score 0); zones z1, z2: ln 4. a, b: round(2 ln 4) = 3, c: 0 → 100 × (3 − s) / 3.
    assert.deepEqual([...spreadScores(s.algorithm.spreadScoring(own)!, nodes)], [0, 0, 100, 0]);
  });

  test("the live counts follow pods that come and go", () => {
    const s = withWorkloads(cluster(three()));
    const nodes = ["a", "b", "c"].map((n) => s.cache.node(n)!);
    const score = () => [...spreadScores(s.algorithm.spreadScoring(compilePod(webPod("next")))!, nodes)];
    assert.deepEqual(score(), [100, 100, 100]);
    running(s, webPod("w0"), "a");
    assert.deepEqual(score(), [50, 100, 100]);
    s.onPodDelete(webPod("w0"));
    assert.deepEqual(score(), [100, 100, 100]);
    running(s, pod("other", { labels: { app: "other" } }), "b"); // not selected: changes nothing
    assert.deepEqual(score(), [100, 100, 100]);
    // A selector with no required label (matchExpressions only) is counted too, from every pod.
    const expr = (name: string) => compilePod(webPod(name, { topologySpreadConstraints: [{ maxSkew: 3, topologyKey: HOSTNAME_LABEL, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["web", "other"] }] } }] }));
    assert.deepEqual([...spreadScores(s.algorithm.spreadScoring(expr("e1"))!, nodes)], [100, 50, 100]);
    running(s, webPod("w1"), "c");
    assert.deepEqual([...spreadScores(s.algorithm.spreadScoring(expr("e2"))!, nodes)], [100, 50, 50]);
    s.onPodDelete(pod("other", { labels: { app: "other" } }));
    assert.deepEqual([...spreadScores(s.algorithm.spreadScoring(expr("e3"))!, nodes)], [100, 100, 50]);
  });
});

describe("profile configuration", () => {
  test("podTopologySpread is validated like kube's PodTopologySpreadArgs", () => {
    const bad = (v: unknown, field: RegExp) => assert.throws(() => profileFromConfig({ name: "x", podTopologySpread: v }), (e: unknown) => e instanceof ProfileError && field.test(e.field));
    bad({ defaultingType: "Sometimes" }, /defaultingType$/);
    bad({ defaultingType: "System", defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }] }, /defaultConstraints$/);
    bad({ defaultingType: "List", defaultConstraints: [{ maxSkew: 0, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }] }, /maxSkew$/);
    bad({ defaultingType: "List", defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule" }] }, /whenUnsatisfiable$/);
    bad({ defaultingType: "List", defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway", labelSelector: {} }] }, /labelSelector$/);
    bad({ defaultingType: "List", defaultConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }, { maxSkew: 2, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway" }] }, /\[1\]\.topologyKey$/);
    assert.equal(builtinProfile("default").podTopologySpread.defaultingType, "System");
    assert.equal(builtinProfile("default").scores.PodTopologySpread, 2);
  });
});
