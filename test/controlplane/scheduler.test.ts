// Filters, scores, preemption, the queue and the pieces under them, on small hand-built clusters.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseBytes, parseCpuMillis, QuantityError } from "../../controlplane/scheduler/quantity.js";
import { compilePod } from "../../controlplane/scheduler/pod-info.js";
import { NodeInfo } from "../../controlplane/scheduler/node-info.js";
import { SchedulingQueue } from "../../controlplane/scheduler/queue.js";
import { builtinProfile, profileFromConfig, ProfileError, loadProfiles, resolveProfile } from "../../controlplane/scheduler/profile.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hybrid, leastAllocated, mostAllocated, balancedAllocation } from "../../controlplane/scheduler/scores.js";
import { cluster, node, place, pod, running } from "./scheduler-fixtures.js";

const ZONE = "topology.kubernetes.io/zone";

describe("quantities", () => {
  test("cpu in exact millicores", () => {
    assert.equal(parseCpuMillis("0.1"), 100);
    assert.equal(parseCpuMillis("100m"), 100);
    assert.equal(parseCpuMillis("1"), 1000);
    assert.equal(parseCpuMillis(2.5), 2500);
    assert.equal(parseCpuMillis("1.0001"), 1001); // rounded up like Kubernetes
    assert.equal(parseCpuMillis("1e3"), 1_000_000);
  });
  test("memory in bytes, binary and decimal suffixes", () => {
    assert.equal(parseBytes("1Gi"), 2 ** 30);
    assert.equal(parseBytes("1G"), 1e9);
    assert.equal(parseBytes("1.5Mi"), 1.5 * 2 ** 20);
    assert.equal(parseBytes("128974848"), 128974848);
    assert.equal(parseBytes("129e6"), 129e6);
    assert.equal(parseBytes("500m"), 1); // 0.5 byte rounds up
  });
  test("bad quantities say which field and why", () => {
    assert.throws(() => parseCpuMillis("abc", "spec.containers[0].resources.requests.cpu"), (e: unknown) => e instanceof QuantityError && e.field.endsWith("requests.cpu"));
    assert.throws(() => parseBytes("-1Gi"), QuantityError);
    assert.throws(() => parseBytes("1Gb"), QuantityError);
  });
});

describe("pod compilation", () => {
  test("requests: sum of containers, max with init containers, plus overhead", () => {
    const p = compilePod({
      metadata: { name: "p" },
      spec: {
        containers: [{ resources: { requests: { cpu: "100m", memory: "64Mi" } } }, { resources: { requests: { cpu: "200m", "nvidia.com/gpu": "1" } } }],
        initContainers: [{ resources: { requests: { cpu: "500m" } } }],
        overhead: { cpu: "10m" },
      },
    });
    assert.equal(p.cpu, 510);
    assert.equal(p.memory, 64 * 2 ** 20);
    assert.equal(p.extended?.get("nvidia.com/gpu"), 1);
  });
  test("identical requirements share a class key; different ones do not", () => {
    const a = compilePod(pod("a", { cpu: "1", memory: "1Gi" })), b = compilePod(pod("b", { cpu: "1", memory: "1Gi" }));
    const c = compilePod(pod("c", { cpu: "1", memory: "1Gi", nodeSelector: { disk: "ssd" } }));
    assert.equal(a.classKey, b.classKey);
    assert.notEqual(a.classKey, c.classKey);
  });
});

describe("filters", () => {
  test("resources: cpu, memory, pods, ephemeral-storage, extended", () => {
    const s = cluster([node("small", { cpu: "1", memory: "1Gi", pods: 1, extra: { "example.com/fpga": "1" } }), node("big", { cpu: "8", memory: "32Gi" })]);
    assert.equal(place(s, pod("cpu", { cpu: "2" })), "big");
    assert.equal(place(s, pod("mem", { memory: "4Gi" })), "big");
    assert.equal(place(s, pod("fpga", { extra: { "example.com/fpga": "1" } })), "small");
    assert.equal(place(s, pod("fpga2", { extra: { "example.com/fpga": "1" } })), undefined);
    assert.equal(place(s, pod("eph", { ephemeral: "20Gi" })), undefined);
    s.onPodAdd(pod("toomuch", { cpu: "64" }));
    const d = s.scheduleOne()!;
    assert.equal(d.kind, "unschedulable");
    assert.match(d.kind === "unschedulable" ? d.message : "", /^0\/2 nodes are available: .*Insufficient cpu/);
  });
  test("pods limit: a full node takes no more pods", () => {
    const s = cluster([node("n", { pods: 2 })]);
    assert.equal(place(s, pod("a")), "n");
    assert.equal(place(s, pod("b")), "n");
    assert.equal(place(s, pod("c")), undefined);
  });
  test("nodeName pins the pod", () => {
    const s = cluster([node("a"), node("b"), node("c")]);
    assert.equal(place(s, pod("p", { nodeName: undefined, nodeSelector: { "kubernetes.io/hostname": "c" } })), "c");
    // spec.nodeName set means already bound; the filter is exercised through the algorithm directly
    const info = compilePod(pod("q", { nodeName: "b" }));
    assert.equal(s.algorithm.schedule(info).node, "b");
  });
  test("unschedulable nodes are skipped unless tolerated", () => {
    const s = cluster([node("cordoned", { unschedulable: true })]);
    assert.equal(place(s, pod("a")), undefined);
    assert.equal(place(s, pod("b", { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }] })), "cordoned");
  });
  test("nodeSelector and required node affinity (In, NotIn, Exists, Gt)", () => {
    const s = cluster([node("ssd", { labels: { disk: "ssd", cores: "16" } }), node("hdd", { labels: { disk: "hdd", cores: "4" } })]);
    assert.equal(place(s, pod("a", { nodeSelector: { disk: "hdd" } })), "hdd");
    assert.equal(place(s, pod("b", { nodeSelector: { disk: "nvme" } })), undefined);
    const aff = (op: string, key: string, values?: string[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key, operator: op, values }] }] } } });
    assert.equal(place(s, pod("c", { affinity: aff("NotIn", "disk", ["ssd"]) })), "hdd");
    assert.equal(place(s, pod("d", { affinity: aff("Gt", "cores", ["8"]) })), "ssd");
    assert.equal(place(s, pod("e", { affinity: aff("Exists", "gpu") })), undefined);
  });
  test("taints: NoSchedule and NoExecute need a toleration, PreferNoSchedule does not", () => {
    const s = cluster([node("gpu", { taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }] }), node("exec", { taints: [{ key: "dedicated", value: "db", effect: "NoExecute" }] })]);
    assert.equal(place(s, pod("plain")), undefined);
    assert.equal(place(s, pod("tol", { tolerations: [{ key: "gpu", operator: "Equal", value: "true", effect: "NoSchedule" }] })), "gpu");
    assert.equal(place(s, pod("wrongvalue", { tolerations: [{ key: "dedicated", value: "web", effect: "NoExecute" }] })), undefined);
    assert.equal(place(s, pod("exists", { tolerations: [{ key: "dedicated", operator: "Exists" }] })), "exec");
    const soft = cluster([node("soft", { taints: [{ key: "x", effect: "PreferNoSchedule" }] })]);
    assert.equal(place(soft, pod("any")), "soft");
  });
  test("PreferNoSchedule steers away when there is a choice", () => {
    const s = cluster([node("soft", { taints: [{ key: "x", effect: "PreferNoSchedule" }] }), node("clean")], "least-allocated");
    for (let i = 0; i < 4; i++) assert.equal(place(s, pod(`p${i}`, { cpu: "100m" })), "clean");
  });
  test("host ports conflict on the same node", () => {
    const s = cluster([node("a"), node("b")]);
    const first = place(s, pod("web1", { hostPort: 8080 }));
    const second = place(s, pod("web2", { hostPort: 8080 }));
    assert.ok(first && second && first !== second);
    assert.equal(place(s, pod("web3", { hostPort: 8080 })), undefined);
    assert.ok(place(s, pod("other", { hostPort: 9090 })));
  });
  test("required pod affinity: next to matching pods; the first of a group may go anywhere", () => {
    const s = cluster([node("a", { labels: { [ZONE]: "z1" } }), node("b", { labels: { [ZONE]: "z2" } })]);
    const term = { labelSelector: { matchLabels: { app: "cache" } }, topologyKey: ZONE };
    const first = place(s, pod("c0", { labels: { app: "cache" }, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } }));
    assert.ok(first);
    for (let i = 0; i < 3; i++) assert.equal(place(s, pod(`web${i}`, { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } } })), first);
    assert.equal(place(s, pod("lonely", { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "none" } }, topologyKey: ZONE }] } } })), undefined);
  });
  test("required pod anti-affinity: own terms and existing pods' terms", () => {
    const s = cluster([node("a"), node("b"), node("c")]);
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: "kubernetes.io/hostname" }] } };
    const nodes = new Set([0, 1, 2].map((i) => place(s, pod(`db${i}`, { labels: { app: "db" }, affinity: anti }))));
    assert.equal(nodes.size, 3);
    assert.equal(place(s, pod("db3", { labels: { app: "db" }, affinity: anti })), undefined);
    // A pod without terms but matching the existing pods' anti-affinity is kept away too.
    assert.equal(place(s, pod("sneaky", { labels: { app: "db" } })), undefined);
    assert.ok(place(s, pod("other", { labels: { app: "web" } })));
  });
  test("topology spread DoNotSchedule keeps the skew within maxSkew", () => {
    const nodes = ["z1", "z1", "z2", "z3"].map((z, i) => node(`n${i}`, { labels: { [ZONE]: z } }));
    const s = cluster(nodes, "most-allocated"); // best fit would pile everything on one node
    const spread = [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "w" } } }];
    const zones: Record<string, number> = {};
    for (let i = 0; i < 9; i++) {
      const n = place(s, pod(`w${i}`, { labels: { app: "w" }, cpu: "100m", topologySpreadConstraints: spread }))!;
      const z = nodes.find((x) => x.metadata!.name === n)!.metadata!.labels![ZONE]!;
      zones[z] = (zones[z] ?? 0) + 1;
      const counts = Object.values(zones);
      const min = Object.keys(zones).length < 3 ? 0 : Math.min(...counts);
      assert.ok(Math.max(...counts) - min <= 1, `skew too large: ${JSON.stringify(zones)}`);
    }
    assert.deepEqual(zones, { z1: 3, z2: 3, z3: 3 });
  });
});

describe("filters, corner cases", () => {
  test("affinity terms look in the pod's own namespace unless told otherwise", () => {
    const s = cluster([node("a", { labels: { [ZONE]: "z1" } }), node("b", { labels: { [ZONE]: "z2" } })], "least-allocated");
    running(s, pod("db-prod", { labels: { app: "db" }, namespace: "prod" }), "a");
    const anti = (namespaces?: string[]) => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: "db" } }, topologyKey: ZONE, namespaces }] } });
    // In "dev" there is no db: both zones are fine, so both nodes get used over a few pods.
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(place(s, pod(`d${i}`, { namespace: "dev", cpu: "100m", affinity: anti() }))!);
    assert.equal(seen.size, 2);
    // Naming the prod namespace keeps the pod out of z1.
    for (let i = 0; i < 3; i++) assert.equal(place(s, pod(`p${i}`, { namespace: "dev", affinity: anti(["prod"]) })), "b");
  });
  test("a pod bound to a node the cache has not seen yet is counted when the node appears", () => {
    const s = cluster([]);
    running(s, pod("early", { cpu: "3" }), "late-node");
    s.onNodeAdd(node("late-node", { cpu: "4" }));
    assert.equal(s.cache.node("late-node")!.reqCpu, 3000);
    assert.equal(place(s, pod("big", { cpu: "2" })), undefined);
    assert.equal(place(s, pod("fits", { cpu: "1" })), "late-node");
  });
  test("unschedulable pods are retried after the periodic flush even without an event", () => {
    let now = 0;
    const Ctor = cluster([]).constructor as typeof import("../../controlplane/scheduler/core.js").Scheduler;
    const s = new Ctor({ now: () => now });
    s.onNodeAdd(node("a", { cpu: "1" }));
    s.onPodAdd(pod("p", { cpu: "2" }));
    assert.equal(s.scheduleOne()!.kind, "unschedulable");
    assert.equal(s.scheduleOne(), undefined);
    now += 61_000;
    assert.equal(s.scheduleOne()?.pod.key, "default/p");
  });
});

describe("scores", () => {
  const n = new NodeInfo("n");
  n.setNode(node("n", { cpu: "4", memory: "4Gi" }));
  const small = compilePod(pod("s", { cpu: "1", memory: "1Gi" }));
  test("least- and most-allocated are mirror images", () => {
    assert.equal(leastAllocated(small, n), 75);
    assert.equal(mostAllocated(small, n), 25);
  });
  test("balanced allocation prefers equal fractions", () => {
    assert.equal(balancedAllocation(small, n), 100);
    const cpuOnly = compilePod(pod("c", { cpu: "2", memory: "1" }));
    assert.ok(balancedAllocation(cpuOnly, n) < 100);
  });
  test("hybrid penalizes stranding: of two equally full results, the balanced one wins", () => {
    const a = new NodeInfo("a"); a.setNode(node("a", { cpu: "4", memory: "4Gi" }));
    const b = new NodeInfo("b"); b.setNode(node("b", { cpu: "4", memory: "4Gi" }));
    a.addPod(compilePod(pod("x", { cpu: "2", memory: "1Gi" }))); // cpu-heavy already
    b.addPod(compilePod(pod("y", { cpu: "1", memory: "2Gi" }))); // memory-heavy already
    const cpuHeavy = compilePod(pod("z", { cpu: "1", memory: "2Gi" }));
    // Both end at 3/4 cpu... a: 3 cpu 3Gi (balanced); b: 2 cpu 4Gi (memory exhausted, cpu stranded).
    assert.ok(hybrid(cpuHeavy, a) > hybrid(cpuHeavy, b));
    assert.equal(mostAllocated(cpuHeavy, a), mostAllocated(cpuHeavy, b));
  });
  test("least-allocated spreads, most-allocated packs", () => {
    const spread = cluster([node("a"), node("b")], "least-allocated");
    assert.notEqual(place(spread, pod("p1", { cpu: "1" })), place(spread, pod("p2", { cpu: "1" })));
    const pack = cluster([node("a"), node("b")], "most-allocated");
    assert.equal(place(pack, pod("p1", { cpu: "1" })), place(pack, pod("p2", { cpu: "1" })));
  });
  test("image locality prefers the node that has the image", () => {
    const s = cluster([node("empty"), node("cached", { images: [{ names: ["docker.io/library/postgres:16"], sizeBytes: 400 * 2 ** 20 }] })], profileFromConfig({ name: "img", scores: { ImageLocality: 1 } }));
    assert.equal(place(s, pod("pg", { image: "postgres:16" })), "cached");
  });
  test("preferred node affinity", () => {
    const s = cluster([node("a", { labels: { tier: "gold" } }), node("b", { labels: { tier: "silver" } })], "least-allocated");
    const pref = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: "tier", operator: "In", values: ["silver"] }] } }] } };
    for (let i = 0; i < 3; i++) assert.equal(place(s, pod(`p${i}`, { affinity: pref })), "b");
  });
  test("preferred pod affinity pulls toward matching pods", () => {
    const s = cluster([node("a", { labels: { [ZONE]: "z1" } }), node("b", { labels: { [ZONE]: "z2" } })], "least-allocated");
    running(s, pod("cache", { labels: { app: "cache" } }), "b");
    const pref = { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: "cache" } }, topologyKey: ZONE } }] } };
    assert.equal(place(s, pod("web", { affinity: pref })), "b");
  });
  test("default spreading puts a ReplicaSet's pods in different zones (the old score name still works)", () => {
    const s = cluster([node("a", { labels: { [ZONE]: "z1" } }), node("b", { labels: { [ZONE]: "z2" } }), node("c", { labels: { [ZONE]: "z3" } })], profileFromConfig({ name: "spread", scores: { ZoneSpread: 1 } }));
    s.onControllerUpdate("ReplicaSet", { metadata: { name: "web", namespace: "default" }, spec: { selector: { matchLabels: { app: "web" } } } });
    const placed = new Set([0, 1, 2].map((i) => place(s, pod(`r${i}`, { owner: "web", labels: { app: "web" } }))));
    assert.equal(placed.size, 3);
  });
});

describe("preemption", () => {
  test("evicts the fewest lowest-priority pods, never equal or higher priority", () => {
    const s = cluster([node("a", { cpu: "4" }), node("b", { cpu: "4" })]);
    running(s, pod("a-low1", { cpu: "1", priority: 10 }), "a");
    running(s, pod("a-low2", { cpu: "1", priority: 10 }), "a");
    running(s, pod("a-high", { cpu: "2", priority: 1000 }), "a");
    running(s, pod("b-mid", { cpu: "2", priority: 100 }), "b");
    running(s, pod("b-equal", { cpu: "2", priority: 500 }), "b");
    s.onPodAdd(pod("pre", { cpu: "2", priority: 500 }));
    const d = s.scheduleOne()!;
    assert.equal(d.kind, "preempt");
    if (d.kind !== "preempt") return;
    // On a: evicting both priority-10 pods frees 2 cpu; on b only b-mid (100) may go.
    // Lowest highest-victim priority wins: node a, victims a-low1 and a-low2.
    assert.equal(d.node, "a");
    assert.deepEqual(d.victims.map((v) => v.key).sort(), ["default/a-low1", "default/a-low2"]);
    for (const v of d.victims) assert.ok(v.priority < 500);
    assert.equal(s.nominatedNodeOf("uid-pre"), "a");
  });
  test("no victims of equal or higher priority: no preemption", () => {
    const s = cluster([node("a", { cpu: "2" })]);
    running(s, pod("same", { cpu: "2", priority: 100 }), "a");
    s.onPodAdd(pod("p", { cpu: "1", priority: 100 }));
    assert.equal(s.scheduleOne()!.kind, "unschedulable");
    s.onPodAdd(pod("q", { cpu: "1", priority: 50 }));
    assert.equal(s.scheduleOne()!.kind, "unschedulable");
  });
  test("reprieve keeps victims that need not go", () => {
    const s = cluster([node("a", { cpu: "4" })]);
    running(s, pod("l1", { cpu: "1", priority: 1 }), "a");
    running(s, pod("l2", { cpu: "1", priority: 2 }), "a");
    running(s, pod("l3", { cpu: "2", priority: 3 }), "a");
    s.onPodAdd(pod("p", { cpu: "1", priority: 100 }));
    const d = s.scheduleOne()!;
    assert.equal(d.kind, "preempt");
    assert.deepEqual(d.kind === "preempt" && d.victims.map((v) => v.key), ["default/l1"]);
  });
  test("taints are not cured by eviction; preemptionPolicy Never", () => {
    const s = cluster([node("t", { cpu: "1", taints: [{ key: "k", effect: "NoSchedule" }] })]);
    running(s, pod("low", { cpu: "1", priority: 0, tolerations: [{ operator: "Exists" }] }), "t");
    s.onPodAdd(pod("p", { cpu: "1", priority: 100 }));
    assert.equal(s.scheduleOne()!.kind, "unschedulable");
    const s2 = cluster([node("a", { cpu: "1" })]);
    running(s2, pod("low", { cpu: "1", priority: 0 }), "a");
    s2.onPodAdd(pod("p", { cpu: "1", priority: 100, preemptionPolicy: "Never" }));
    assert.equal(s2.scheduleOne()!.kind, "unschedulable");
  });
  test("the preemptor lands once the victims are gone, and its room is held", () => {
    let now = 0;
    const s = new (cluster([]).constructor as typeof import("../../controlplane/scheduler/core.js").Scheduler)({ profile: builtinProfile("default"), now: () => now });
    s.onNodeAdd(node("a", { cpu: "2" }));
    running(s, pod("low", { cpu: "2", priority: 0 }), "a");
    s.onPodAdd(pod("p", { cpu: "2", priority: 100 }));
    const d = s.scheduleOne()!;
    assert.equal(d.kind, "preempt");
    if (d.kind !== "preempt") return;
    for (const v of d.victims) s.onPodDelete(v);
    // A lower-priority newcomer may not take the room held for the nominated pod.
    s.onPodAdd(pod("late", { cpu: "1", priority: 0 }));
    now += 2000; // past the preemptor's backoff
    const next = s.scheduleOne()!;
    assert.equal(next.kind, "bind");
    assert.equal(next.pod.key, "default/p");
    const late = s.scheduleOne();
    assert.equal(late?.kind, "unschedulable");
  });
});

describe("queue", () => {
  test("priority first, then arrival; backoff; re-queue on a helpful event only", () => {
    let now = 0;
    const q = new SchedulingQueue({ now: () => now });
    q.add(compilePod(pod("low1", { priority: 1 })));
    q.add(compilePod(pod("high", { priority: 9 })));
    q.add(compilePod(pod("low2", { priority: 1 })));
    assert.deepEqual([q.pop(), q.pop(), q.pop()].map((x) => x!.info.key), ["default/high", "default/low1", "default/low2"]);
    q.add(compilePod(pod("u")));
    const u = q.pop()!;
    q.markUnschedulable(u, new Set(["TaintToleration"]));
    assert.equal(q.onClusterEvent("PodDelete"), 0); // a deleted pod cannot cure a taint
    assert.equal(q.onClusterEvent("NodeUpdate"), 1);
    assert.equal(q.pop(), undefined); // still backing off (1 s)
    now += 1000;
    assert.equal(q.pop()!.info.key, "default/u");
    assert.equal(q.backoffFor(1), 1000);
    assert.equal(q.backoffFor(3), 4000);
    assert.equal(q.backoffFor(10), 10_000);
  });
  test("a cluster change moves a pending pod that now fits", () => {
    const s = cluster([node("a", { cpu: "1" })]);
    running(s, pod("hog", { cpu: "1", priority: 1000 }), "a");
    s.onPodAdd(pod("wait", { cpu: "1" }));
    assert.equal(s.scheduleOne()!.kind, "unschedulable");
    assert.equal(s.queue.unschedulableCount, 1);
    s.onNodeAdd(node("b", { cpu: "2" }));
    assert.equal(s.queue.unschedulableCount, 0);
  });
});

describe("cache", () => {
  test("assume, confirm, forget; a failed binding goes back to the queue", () => {
    const s = cluster([node("a", { cpu: "1" })]);
    s.onPodAdd(pod("p", { cpu: "1" }));
    const d = s.scheduleOne()!;
    assert.equal(d.kind, "bind");
    assert.equal(s.cache.isAssumed("uid-p"), true);
    assert.equal(s.cache.node("a")!.reqCpu, 1000);
    s.bindDone("uid-p", false);
    assert.equal(s.cache.node("a")!.reqCpu, 0);
    assert.equal(s.queue.backoffCount, 1);
  });
  test("assumed pods expire if never observed bound", () => {
    let now = 0;
    const s = new (cluster([]).constructor as typeof import("../../controlplane/scheduler/core.js").Scheduler)({ now: () => now });
    s.onNodeAdd(node("a"));
    s.onPodAdd(pod("p", { cpu: "1" }));
    s.scheduleOne();
    s.bindDone("uid-p", true);
    now += 60_000;
    assert.deepEqual(s.cache.cleanupExpired(), ["uid-p"]);
    assert.equal(s.cache.node("a")!.reqCpu, 0);
  });
  test("node removal keeps the dense list consistent", () => {
    const s = cluster(["a", "b", "c"].map((n) => node(n)));
    s.onNodeDelete("a");
    assert.deepEqual(s.cache.list.map((n) => [n.name, n.index]).sort(), [["b", 1], ["c", 0]].sort());
    assert.ok(place(s, pod("p")));
  });
});

describe("profiles", () => {
  test("config overrides weights and techniques; unknown names are errors", () => {
    const p = profileFromConfig({ name: "mine", base: "least-allocated", scores: { Hybrid: 3 }, techniques: { relaxedRandomization: false } });
    assert.deepEqual(p.scores, { Hybrid: 3 });
    assert.equal(p.techniques.relaxedRandomization, false);
    assert.equal(p.techniques.equivalenceClasses, true);
    assert.throws(() => profileFromConfig({ scores: { Nope: 1 } }), (e: unknown) => e instanceof ProfileError && e.field === "profile.scores.Nope");
    assert.throws(() => profileFromConfig({ techniques: { scoreCaching: "yes" } }), ProfileError);
    assert.throws(() => builtinProfile("fastest"), ProfileError);
  });
  test("profiles from a YAML file, picked by name", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "keel-profile-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "sched.yaml");
    writeFileSync(file, "profiles:\n  - name: packer\n    scores: { MostAllocated: 5, NodeAffinity: 1 }\n  - name: spreader\n    base: least-allocated\n    preemption: false\n");
    assert.deepEqual(loadProfiles(file).map((p) => p.name), ["packer", "spreader"]);
    assert.deepEqual(resolveProfile(`${file}#packer`).scores, { MostAllocated: 5, NodeAffinity: 1 });
    assert.equal(resolveProfile(`${file}#spreader`).preemption, false);
    assert.throws(() => resolveProfile(`${file}#nope`), ProfileError);
    writeFileSync(file, "scores: [1, 2\n");
    assert.throws(() => loadProfiles(file), ProfileError);
  });
  test("several profiles, chosen by the pod's schedulerName; other schedulers' pods are left alone", () => {
    const Ctor = cluster([]).constructor as typeof import("../../controlplane/scheduler/core.js").Scheduler;
    const s = new Ctor({ profile: builtinProfile("least-allocated"), profiles: [{ ...builtinProfile("most-allocated"), name: "packer" }] });
    s.onNodeAdd(node("a"));
    s.onNodeAdd(node("b"));
    const spreadA = place(s, pod("s1", { cpu: "1" })), spreadB = place(s, pod("s2", { cpu: "1" }));
    assert.notEqual(spreadA, spreadB);
    const p1 = place(s, pod("p1", { cpu: "1", schedulerName: "packer" })), p2 = place(s, pod("p2", { cpu: "1", schedulerName: "packer" }));
    assert.equal(p1, p2);
    s.onPodAdd(pod("theirs", { schedulerName: "someone-else" }));
    assert.equal(s.queue.size, 0);
  });
  test("finished pods free their node", () => {
    const s = cluster([node("a", { cpu: "1" })]);
    running(s, pod("done", { cpu: "1" }), "a");
    assert.equal(s.cache.node("a")!.reqCpu, 1000);
    s.onPodUpdate({ ...pod("done", { cpu: "1", nodeName: "a" }), status: { phase: "Succeeded" } });
    assert.equal(s.cache.node("a")!.reqCpu, 0);
  });
});
