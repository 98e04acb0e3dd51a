// scheduling.k8s.io/v1 PriorityClass and Pod priority admission: the built-in system classes,
// priorityClassName resolved into spec.priority, unknown classes refused, one global default.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Pod } from "../../api/core.js";
import type { PriorityClass } from "../../api/scheduling.js";
import { ApiStatusError, type Resource } from "../../controlplane/kit/index.js";
import { startApiFixture, type ApiFixture } from "./kit-fixture.js";
import { KUBECTL, runKubectl } from "../fixtures/kubectl.js";

const PC: Resource = { group: "scheduling.k8s.io", version: "v1", plural: "priorityclasses", kind: "PriorityClass", namespaced: false };
const PODS: Resource = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
let fx: ApiFixture;

before(async () => { fx = await startApiFixture("keel-priority-"); });
after(async () => { await fx?.close(); });

const pod = (name: string, spec: Partial<Pod["spec"] & object> = {}): Pod =>
  ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { containers: [{ name: "c", image: "busybox" }], ...spec } }) as Pod;
const pc = (name: string, value: number, extra: Partial<PriorityClass> = {}): PriorityClass =>
  ({ apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name }, value, ...extra });

async function rejects(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiStatusError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

test("the system classes exist from the start and cannot be deleted", async () => {
  const node = await fx.client.get<PriorityClass>(PC, undefined, "system-node-critical");
  const cluster = await fx.client.get<PriorityClass>(PC, undefined, "system-cluster-critical");
  assert.equal(node.value, 2000001000);
  assert.equal(cluster.value, 2000000000);
  assert.equal(cluster.preemptionPolicy, "PreemptLowerPriority");
  await rejects(fx.client.delete(PC, undefined, "system-node-critical"), 403, /cannot delete built in priority classes/);
});

test("a pod's priorityClassName becomes its priority; an unknown class is refused", async () => {
  await fx.client.create(PC, undefined, pc("high", 1000, { preemptionPolicy: "Never", description: "important" }));
  const p = await fx.client.create<Pod>(PODS, "default", pod("p-high", { priorityClassName: "high" }));
  assert.equal(p.spec!.priority, 1000);
  assert.equal(p.spec!.preemptionPolicy, "Never");
  const crit = await fx.client.create<Pod>(PODS, "default", pod("p-crit", { priorityClassName: "system-cluster-critical" }));
  assert.equal(crit.spec!.priority, 2000000000);
  await rejects(fx.client.create(PODS, "default", pod("p-nope", { priorityClassName: "nope" })), 403, /no PriorityClass with name nope was found/);
  await rejects(fx.client.create(PODS, "default", pod("p-lie", { priorityClassName: "high", priority: 7 })), 403, /must not be provided in pod spec/);
  const plain = await fx.client.create<Pod>(PODS, "default", pod("p-plain"));
  assert.equal(plain.spec!.priority, 0);
  assert.equal(plain.spec!.priorityClassName, undefined);
});

test("the global default class applies to pods naming none, and only one default may exist", async () => {
  await fx.client.create(PC, undefined, pc("everyday", 50, { globalDefault: true }));
  const p = await fx.client.create<Pod>(PODS, "default", pod("p-default"));
  assert.equal(p.spec!.priorityClassName, "everyday");
  assert.equal(p.spec!.priority, 50);
  await rejects(fx.client.create(PC, undefined, pc("another", 60, { globalDefault: true })), 403, /everyday is already marked as default/);
  await rejects(fx.client.patch(PC, undefined, "high", { globalDefault: true }), 403, /already marked as default/);
  // Once the default is gone, pods get 0 again.
  await fx.client.delete(PC, undefined, "everyday");
  const q = await fx.client.create<Pod>(PODS, "default", pod("p-after"));
  assert.equal(q.spec!.priority, 0);
});

test("PriorityClass validation: reserved names, the user maximum, an immutable value", async () => {
  await rejects(fx.client.create(PC, undefined, pc("system-mine", 10)), 422, /'system-' prefix are reserved/);
  await rejects(fx.client.create(PC, undefined, pc("too-high", 1_000_000_001)), 422, /maximum allowed value of a user defined priority is 1000000000/);
  await rejects(fx.client.create(PC, undefined, pc("odd", 1, { preemptionPolicy: "Sometimes" as "Never" })), 422, /Unsupported value: "Sometimes"/);
  await rejects(fx.client.patch(PC, undefined, "high", { value: 2000 }), 422, /value: Forbidden: may not be changed/);
});

test("kubectl get priorityclasses prints VALUE and GLOBAL-DEFAULT", { skip: existsSync(KUBECTL) ? false : "no kubectl" }, async () => {
  const out = await runKubectl(fx.dir, fx.server.kubeconfigPath, ["get", "pc"]);
  assert.match(out, /NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE/);
  assert.match(out, /system-node-critical\s+2000001000\s+false/);
  assert.match(out, /high\s+1000\s+false/);
});
