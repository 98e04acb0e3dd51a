// The scheduler's binding path and the cell-aware hybrid score: binds in flight never
// double-book a node (the assumed-pod cache reserves their room), a failed bind gives the room
// back, Scheduled events are rate-limited, and the hybrid weighs stranding against the cell's
// resource mix (with cached scores dropped when that mix moves).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod } from "../../api/core.js";
import { R } from "../../controlplane/kit/index.js";
import { startScheduler, TokenBucket, type RunningScheduler } from "../../controlplane/scheduler-daemon/index.js";
import { startSimNodes, simNodeSpecs, type SimNodes } from "../../controlplane/sim-nodes/index.js";
import { compilePod } from "../../controlplane/scheduler/pod-info.js";
import { NodeInfo } from "../../controlplane/scheduler/node-info.js";
import { cellMix, hybrid } from "../../controlplane/scheduler/scores.js";
import { builtinProfile } from "../../controlplane/scheduler/profile.js";
import { runTrace } from "../../controlplane/simulate/runner.js";
import { generateCell, generateTrace } from "../../controlplane/simulate/generator.js";
import { Scheduler } from "../../controlplane/scheduler/core.js";
import { node, pod } from "./scheduler-fixtures.js";
import { startApiFixture, waitFor, type ApiFixture } from "./kit-fixture.js";

test("decisions whose binds are still in flight reserve their room: no node is double-booked", () => {
  let now = 0;
  const s = new Scheduler({ profile: { ...builtinProfile("default"), techniques: { ...builtinProfile("default").techniques, relaxedRandomization: false } }, now: () => now });
  s.onNodeAdd(node("a", { cpu: "2" }));
  s.onNodeAdd(node("b", { cpu: "2" }));
  for (let i = 0; i < 6; i++) s.onPodAdd(pod(`p${i}`, { cpu: "1" }));
  // Six decisions, none of their binds answered yet.
  const ds = Array.from({ length: 6 }, () => s.scheduleOne()!);
  const bound = ds.filter((d) => d.kind === "bind") as Extract<(typeof ds)[number], { kind: "bind" }>[];
  assert.equal(bound.length, 4);
  const perNode = new Map<string, number>();
  for (const d of bound) perNode.set(d.node, (perNode.get(d.node) ?? 0) + 1);
  assert.deepEqual([...perNode.values()].sort(), [2, 2]);
  // One bind fails (say the pod was deleted meanwhile): its room comes back at once, and the
  // pods that found no room are moved toward the active queue (after their backoff).
  const failed = bound[0]!;
  s.bindDone(failed.pod.uid, false);
  assert.equal(s.cache.node(failed.node)!.reqCpu, 1000);
  s.onPodDelete(failed.pod);
  now += 2_000;
  const again = [...Array(4)].map(() => s.scheduleOne()).filter((d) => d?.kind === "bind");
  assert.equal(again.length, 1, "exactly one pending pod takes the freed room");
  assert.equal((again[0] as { node: string }).node, failed.node);
});

test("a token bucket lets a burst through, then its rate", () => {
  let now = 0;
  const b = new TokenBucket(10, 20, () => now);
  let ok = 0;
  for (let i = 0; i < 50; i++) if (b.take()) ok++;
  assert.equal(ok, 20);
  assert.equal(b.dropped, 30);
  now += 500; // half a second: 5 more
  ok = 0;
  for (let i = 0; i < 50; i++) if (b.take()) ok++;
  assert.equal(ok, 5);
});

test("the hybrid keeps a node on the cell's mix: with memory scarcer, a cpu-heavy pod goes where cpu is left over", () => {
  const GI = 2 ** 30;
  // Cell mix 0.5: the cell's pods use half as large a share of its cpu as of its memory.
  assert.equal(cellMix(100_000, 400 * GI, 25_000, 200 * GI), 0.5);
  assert.equal(cellMix(100_000, 400 * GI, 0, 0), 1, "an empty cell has no mix yet");
  const memFull = new NodeInfo("mem-full"), balanced = new NodeInfo("balanced");
  for (const n of [memFull, balanced]) n.setNode(node(n.name, { cpu: "8", memory: "32Gi" }));
  memFull.addPod(compilePod(pod("m", { cpu: "2", memory: "24Gi" }))); // c 0.25, m 0.75: memory-heavy
  balanced.addPod(compilePod(pod("b", { cpu: "3", memory: "16Gi" }))); // c 0.375, m 0.5: the node's own shape, but cpu-heavy for the cell
  const cpuHeavy = compilePod(pod("x", { cpu: "2", memory: "2Gi" }));
  // On the cell's mix, the memory-heavy node has cpu to spare (c < 0.5·m): the cpu-heavy pod belongs there.
  assert.ok(hybrid(cpuHeavy, memFull, { imageNodes: new Map(), nodeCount: 2, mix: 0.5 }) > hybrid(cpuHeavy, balanced, { imageNodes: new Map(), nodeCount: 2, mix: 0.5 }));
  // Without a mix (mix 1) stranding is judged by the node's own shape, which prefers the other node.
  assert.ok(hybrid(cpuHeavy, memFull) < hybrid(cpuHeavy, balanced));
});

test("cached scores follow the cell's mix: score caching and equivalence classes change no placement", () => {
  const nodes = generateCell({ machines: 60, seed: 3 });
  const trace = generateTrace({ tasks: 900, seed: 3 });
  const base = builtinProfile("default");
  const run = (on: boolean) => runTrace(trace, { profile: { ...base, techniques: { ...base.techniques, equivalenceClasses: on, scoreCaching: on, relaxedRandomization: false } }, nodes, allAtOnce: true });
  const a = run(true), b = run(false);
  assert.deepEqual([...a.placements].sort(), [...b.placements].sort());
});

let fx: ApiFixture | undefined;
let sim: SimNodes | undefined;
let sched: RunningScheduler | undefined;
after(async () => {
  await sched?.close().catch(() => {});
  await sim?.close().catch(() => {});
  await fx?.close();
});

test("through the API server: 48 pods created at once onto room for 32, parallel binds, no node over capacity", async () => {
  fx = await startApiFixture("keel-sched-bind-");
  // Nodes only (no fake kubelet): bound pods stay Pending, which is all this test looks at.
  sim = await startSimNodes({ kubeconfig: fx.server.kubeconfigPath, nodes: simNodeSpecs(8, { prefix: "keel-sb", capacity: { cpu: "2", memory: "4Gi", pods: "110" } }), runPods: false, leaseRenewMs: 60_000 });
  sched = await startScheduler({ kubeconfig: fx.server.kubeconfigPath, parallelism: 16 });
  const client = fx.client;
  await Promise.all(Array.from({ length: 48 }, (_, i) => client.create<Pod>(R.pods, "default", {
    metadata: { name: `sb-${i}`, namespace: "default" },
    spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "500m", memory: "256Mi" } } }] },
  } as Pod)));
  const settled = await waitFor("32 bound and 16 unschedulable", async () => {
    const pods = (await client.list<Pod>(R.pods, "default")).items.filter((p) => p.metadata.name!.startsWith("sb-"));
    const bound = pods.filter((p) => p.spec?.nodeName);
    const refused = pods.filter((p) => p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False"));
    return bound.length === 32 && refused.length === 16 ? pods : undefined;
  }, 60_000, 100);
  const perNode = new Map<string, number>();
  for (const p of settled) if (p.spec?.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  assert.equal(perNode.size, 8);
  assert.ok([...perNode.values()].every((n) => n === 4), `a node took more than its 2 cpu: ${JSON.stringify([...perNode])}`);
  // No bound pod was marked Running: the simulated nodes ran without their fake kubelet.
  assert.ok(settled.every((p) => p.status?.phase !== "Running"));
});
