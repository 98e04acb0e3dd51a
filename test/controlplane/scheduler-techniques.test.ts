// Borg's techniques change speed, not correctness.
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinProfile, type Profile } from "../../controlplane/scheduler/profile.js";
import { generateCell, generateTrace } from "../../controlplane/simulate/generator.js";
import { runTrace } from "../../controlplane/simulate/runner.js";
import { recordToPod, type TraceRecord } from "../../controlplane/simulate/trace.js";
import { compilePod } from "../../controlplane/scheduler/pod-info.js";
import type { NodeLike } from "../../controlplane/scheduler/types.js";
import { cluster, node, place, pod } from "./scheduler-fixtures.js";

function withTechniques(base: string, eq: boolean, sc: boolean, rr: boolean): Profile {
  const p = builtinProfile(base);
  return { ...p, techniques: { ...p.techniques, equivalenceClasses: eq, scoreCaching: sc, relaxedRandomization: rr } };
}

/** Every node's placed requests fit its allocatable, and each pod's node selector holds. */
function assertFeasible(trace: readonly TraceRecord[], nodes: readonly NodeLike[], placements: Map<string, string>): void {
  const byName = new Map(nodes.map((n) => [n.metadata!.name!, n]));
  const used = new Map<string, { cpu: number; mem: number }>();
  for (const r of trace) {
    const at = placements.get(r.name);
    if (!at) continue;
    const p = compilePod(recordToPod(r));
    const u = used.get(at) ?? { cpu: 0, mem: 0 };
    u.cpu += p.cpu; u.mem += p.memory;
    used.set(at, u);
    for (const [k, v] of Object.entries(r.constraints?.nodeSelector ?? {})) assert.equal(byName.get(at)!.metadata!.labels![k], v, `${r.name} on ${at} breaks its node selector`);
  }
  for (const [name, u] of used) {
    const a = byName.get(name)!.status!.allocatable!;
    assert.ok(u.cpu <= Number(a.cpu) * 1000, `cpu overcommitted on ${name}`);
    assert.ok(u.mem <= Number(a.memory), `memory overcommitted on ${name}`);
  }
}

const trace = generateTrace({ tasks: 800, seed: 7, constrainedFraction: 0.2 });
const nodes = generateCell({ machines: 40, seed: 7, platforms: true });

for (const base of ["default", "least-allocated", "most-allocated"]) {
  test(`${base}: equivalence classes and score caching give the same placements`, () => {
    const plain = runTrace(trace, { profile: withTechniques(base, false, false, false), nodes, allAtOnce: true });
    for (const [eq, sc] of [[true, false], [false, true], [true, true]] as const) {
      const fast = runTrace(trace, { profile: withTechniques(base, eq, sc, false), nodes, allAtOnce: true });
      assert.deepEqual(fast.placements, plain.placements, `eq=${eq} sc=${sc}`);
      assert.equal(fast.pending.length, plain.pending.length);
    }
    assertFeasible(trace, nodes, plain.placements);
  });
}

test("relaxed randomization places pods feasibly (and the same ones fit on a roomy cell)", () => {
  const roomy = generateCell({ machines: 200, seed: 3, platforms: true });
  const profile = { ...withTechniques("default", true, true, true), techniques: { ...builtinProfile("default").techniques, minFeasibleNodes: 10, feasiblePercent: 5 } };
  const r = runTrace(trace, { profile, nodes: roomy, allAtOnce: true });
  assert.equal(r.pending.length, 0);
  assertFeasible(trace, roomy, r.placements);
});

test("with arrivals and departures over time, the techniques agree too", () => {
  const t = generateTrace({ tasks: 400, seed: 11, arrivalsPerSecond: 2 });
  const small = generateCell({ machines: 8, seed: 11 });
  const a = runTrace(t, { profile: withTechniques("default", false, false, false), nodes: small });
  const b = runTrace(t, { profile: withTechniques("default", true, true, false), nodes: small });
  assert.deepEqual(b.placements, a.placements);
  assert.deepEqual(b.pending.map((p) => p.name), a.pending.map((p) => p.name));
});

test("pods with ports, anti-affinity and spread constraints: caching changes nothing", () => {
  // Every third job spreads over zones, every fifth wants one task per node, every seventh a host port.
  const base = generateTrace({ tasks: 500, seed: 21 });
  const t: TraceRecord[] = base.map((r) => {
    const job = Number(r.owner!.slice(3));
    const sel = { matchLabels: { "keel.dev/owner": r.owner! } };
    return {
      ...r, cpu: Math.min(Number(r.cpu), 2), memory: Math.min(Number(r.memory), 8 * 2 ** 30),
      constraints: {
        topologySpreadConstraints: job % 3 === 0 ? [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: sel }] : undefined,
        affinity: job % 5 === 0 ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: sel, topologyKey: "kubernetes.io/hostname" }] } } : undefined,
        hostPorts: job % 7 === 0 ? [8000 + (job % 3)] : undefined,
      },
    };
  });
  const cell = generateCell({ machines: 12, seed: 21 });
  const plain = runTrace(t, { profile: withTechniques("default", false, false, false), nodes: cell, allAtOnce: true });
  const fast = runTrace(t, { profile: withTechniques("default", true, true, false), nodes: cell, allAtOnce: true });
  assert.deepEqual(fast.placements, plain.placements);
  assert.deepEqual(fast.pending.map((p) => p.name), plain.pending.map((p) => p.name));
  assert.ok(plain.pending.some((p) => /anti-affinity|spread|ports/.test(p.reason)), "the constraints should leave some tasks pending");
  assertFeasible(t, cell, plain.placements);
  // The constraints held: one task per node for anti-affinity jobs, no port clash.
  const seen = new Set<string>();
  for (const r of t) {
    const at = plain.placements.get(r.name);
    if (!at) continue;
    const job = Number(r.owner!.slice(3));
    if (job % 5 === 0) { assert.ok(!seen.has(`${r.owner}@${at}`), `${r.owner} twice on ${at}`); seen.add(`${r.owner}@${at}`); }
    for (const port of r.constraints?.hostPorts ?? []) { assert.ok(!seen.has(`port${port}@${at}`), `port ${port} twice on ${at}`); seen.add(`port${port}@${at}`); }
  }
});

test("cached verdicts are dropped when a node changes", () => {
  const s = cluster([node("a")], withTechniques("default", true, true, false));
  assert.equal(place(s, pod("p1", { cpu: "1" })), "a");
  s.onNodeUpdate(node("a", { taints: [{ key: "maint", effect: "NoSchedule" }] }));
  assert.equal(place(s, pod("p2", { cpu: "1" })), undefined, "a stale 'feasible' verdict was reused");
  s.onNodeUpdate(node("a"));
  s.onNodeAdd(node("b", { cpu: "1" }));
  // Same class as p1 again: node a is feasible once more and b is new.
  assert.ok(place(s, pod("p3", { cpu: "1" })));
});
