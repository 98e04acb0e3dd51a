// Simulated nodes, traces, the generator, the runner and cell compaction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateCell, generateTrace, machinesFor, PRIORITY_PROD } from "../../controlplane/simulate/generator.js";
import { formatTrace, parseTrace, TraceError, recordToPod } from "../../controlplane/simulate/trace.js";
import { parseNodeSpec, NodeSpecError } from "../../controlplane/simulate/nodes.js";
import { runTrace } from "../../controlplane/simulate/runner.js";
import { compactCell, lowerBound, traceDemand } from "../../controlplane/simulate/compaction.js";
import { builtinProfile } from "../../controlplane/scheduler/profile.js";
import { compilePod } from "../../controlplane/scheduler/pod-info.js";

test("the trace generator is deterministic for a seed", () => {
  const a = generateTrace({ tasks: 500, seed: 5 }), b = generateTrace({ tasks: 500, seed: 5 }), c = generateTrace({ tasks: 500, seed: 6 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(formatTrace(a), formatTrace(b));
  assert.deepEqual(generateCell({ machines: 30, seed: 5 }), generateCell({ machines: 30, seed: 5 }));
  assert.equal(a.length, 500);
  assert.ok(a.some((r) => r.priority === PRIORITY_PROD) && a.some((r) => r.priority < PRIORITY_PROD));
  // Heavy tail: the largest cpu request is many times the median.
  const cpus = a.map((r) => Number(r.cpu)).sort((x, y) => x - y);
  assert.ok(cpus[cpus.length - 1]! > 4 * cpus[Math.floor(cpus.length / 2)]!);
});

test("traces round-trip and bad lines are reported with file and line", () => {
  const t = generateTrace({ tasks: 20, seed: 1 });
  assert.deepEqual(parseTrace(formatTrace(t)), t);
  assert.throws(() => parseTrace('{"name":"a","cpu":1}\n', "t.jsonl"), (e: unknown) => e instanceof TraceError && e.line === 1 && /memory is required/.test(e.message));
  assert.throws(() => parseTrace('{"cpu":1,"memory":1}\nnot json\n', "t.jsonl"), (e: unknown) => e instanceof TraceError && e.line === 2);
  assert.throws(() => parseTrace('{"name":"a","cpu":1,"memory":1}\n{"name":"a","cpu":1,"memory":1}\n'), /duplicate/);
  const p = compilePod(recordToPod({ arrival: 0, name: "x", priority: 5, cpu: 0.25, memory: "1Gi", owner: "j" }));
  assert.equal(p.cpu, 250);
  assert.equal(p.memory, 2 ** 30);
  assert.equal(p.priority, 5);
  assert.ok(p.owner);
});

test("node specs", () => {
  const ns = parseNodeSpec("2x4c8g,1x8c16g:gpu=true:taint=gpu=yes:NoSchedule", { zones: 2 });
  assert.equal(ns.length, 3);
  assert.equal(ns[2]!.metadata!.labels!.gpu, "true");
  assert.deepEqual(ns[2]!.spec!.taints, [{ key: "gpu", value: "yes", effect: "NoSchedule" }]);
  assert.equal(ns[1]!.metadata!.labels!["topology.kubernetes.io/zone"], "zone-b");
  assert.throws(() => parseNodeSpec("3 nodes"), NodeSpecError);
});

test("the runner reports placement, utilization and pending pods", () => {
  const nodes = parseNodeSpec("2x4c8g");
  const trace = parseTrace([
    '{"name":"a","cpu":2,"memory":"2Gi","priority":100}',
    '{"name":"b","cpu":2,"memory":"2Gi","priority":100}',
    '{"name":"c","cpu":4,"memory":"4Gi","priority":100}',
    '{"name":"d","cpu":8,"memory":"1Gi","priority":100}',
  ].join("\n"));
  const r = runTrace(trace, { profile: builtinProfile("default"), nodes, allAtOnce: true });
  assert.equal(r.placed, 3);
  assert.deepEqual(r.pending.map((p) => p.name), ["d"]);
  assert.match(r.pending[0]!.reason, /0\/2 nodes are available: 2 Insufficient cpu/);
  assert.equal(r.utilization.cpu, 1);
  assert.equal(r.utilization.memory, 0.5);
  assert.equal(r.nodesUsed, 2);
});

test("departures free room for later arrivals; preempted tasks come back pending", () => {
  const nodes = parseNodeSpec("1x4c8g");
  const trace = parseTrace([
    '{"name":"batch","arrival":0,"cpu":4,"memory":"1Gi","priority":100,"duration":10}',
    '{"name":"later","arrival":5,"cpu":4,"memory":"1Gi","priority":100}',
    '{"name":"low","arrival":20,"cpu":1,"memory":"1Gi","priority":0}',
    '{"name":"prod","arrival":30,"cpu":4,"memory":"1Gi","priority":1000}',
  ].join("\n"));
  const r = runTrace(trace, { profile: builtinProfile("default"), nodes });
  // batch leaves at 10, later lands then; prod preempts later (priority 100 < 1000).
  assert.equal(r.placements.get("prod"), nodes[0]!.metadata!.name);
  assert.ok(r.preemptions >= 1);
  assert.deepEqual(r.pending.map((p) => p.name).sort(), ["later", "low"]);
});

test("cell compaction: never below the lower bound, and repeatable", () => {
  const trace = generateTrace({ tasks: 300, seed: 9 });
  const nodes = generateCell({ machines: machinesFor(trace, 0.6), seed: 9 });
  const a = compactCell(trace, { profile: builtinProfile("default"), nodes, seeds: 3 });
  const b = compactCell(trace, { profile: builtinProfile("default"), nodes, seeds: 3 });
  assert.deepEqual(a.perSeed, b.perSeed);
  a.perSeed.forEach((m, i) => assert.ok(m >= a.lowerBoundPerSeed[i]! && m <= nodes.length, `seed ${i}: ${m}`));
  const d = traceDemand(trace);
  assert.equal(lowerBound(nodes, { cpu: 0, memory: 0 }), 1);
  assert.ok(lowerBound(nodes, d) <= nodes.length);
});
