// Deletion propagation for every kind: Foreground (the foregroundDeletion finalizer, blocking
// dependents deleted first) and Orphan (the orphan finalizer, dependents keep living without
// the ownerReference), carried out by the garbage collector, driven by real kubectl.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { KubeObject } from "../../api/meta.js";
import { startControllerManager, type RunningControllerManager } from "../../controlplane/controllers/index.js";
import { R, type Resource } from "../../controlplane/kit/index.js";
import { startApiFixture, waitFor, type ApiFixture } from "./kit-fixture.js";
import { KUBECTL, kubectlRun } from "../fixtures/kubectl.js";

const skip = existsSync(KUBECTL) ? false : "kubectl is not installed";
let fx: ApiFixture;
let cm: RunningControllerManager;

const kubectl = (...args: string[]) => kubectlRun(fx.dir, ["--kubeconfig", fx.server.kubeconfigPath, ...args]);

async function tryGet(res: Resource, name: string): Promise<KubeObject | undefined> {
  try { return await fx.client.get(res, "default", name); } catch { return undefined; }
}

/** An owner ConfigMap with a dependent ConfigMap and Secret (both blocking the owner's deletion). */
async function family(owner: string, depFinalizers: string[] = []): Promise<KubeObject> {
  const o = await fx.client.create<KubeObject>(R.configmaps, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: owner } });
  const ref = { apiVersion: "v1", kind: "ConfigMap", name: owner, uid: o.metadata.uid!, blockOwnerDeletion: true };
  await fx.client.create(R.configmaps, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${owner}-cm`, ownerReferences: [ref], finalizers: depFinalizers } });
  await fx.client.create(R.secrets, "default", { apiVersion: "v1", kind: "Secret", metadata: { name: `${owner}-secret`, ownerReferences: [{ ...ref, blockOwnerDeletion: false }] } });
  return o;
}

before(async () => {
  fx = await startApiFixture("keel-propagation-");
  cm = await startControllerManager({ kubeconfig: fx.server.kubeconfigPath, controllers: ["garbagecollector"], leaderElect: false });
});

after(async () => {
  await cm?.close().catch(() => {});
  await fx?.close();
});

test("Foreground: the owner waits, with foregroundDeletion and a deletionTimestamp, until blocking dependents are gone", { skip }, async () => {
  await family("fg", ["keel.dev/hold"]);
  const r = await kubectl("delete", "configmap", "fg", "--cascade=foreground", "--wait=false");
  assert.equal(r.code, 0, r.stderr);
  const owner = await tryGet(R.configmaps, "fg");
  assert.ok(owner, "the owner is still there while its dependents are");
  assert.ok(owner.metadata.deletionTimestamp);
  assert.deepEqual(owner.metadata.finalizers, ["foregroundDeletion"]);
  // The collector deletes the dependents (in the foreground too); the held one stays, and so does its owner.
  const dep = await waitFor("dependent being deleted", async () => {
    const d = await tryGet(R.configmaps, "fg-cm");
    return d?.metadata.deletionTimestamp ? d : undefined;
  });
  assert.ok(dep.metadata.finalizers?.includes("keel.dev/hold"));
  await waitFor("non-blocking secret gone", async () => !(await tryGet(R.secrets, "fg-secret")));
  await new Promise((res) => setTimeout(res, 700));
  assert.ok(await tryGet(R.configmaps, "fg"), "a blocking dependent holds the owner back");
  // Releasing the dependent lets it go, then the owner.
  await fx.client.patch(R.configmaps, "default", "fg-cm", [{ op: "remove", path: "/metadata/finalizers/0" }], "json");
  await waitFor("dependent gone", async () => !(await tryGet(R.configmaps, "fg-cm")));
  await waitFor("owner gone", async () => !(await tryGet(R.configmaps, "fg")));
});

test("kubectl delete --cascade=foreground waits and removes the whole family", { skip }, async () => {
  await family("fg2");
  const r = await kubectl("delete", "configmap", "fg2", "--cascade=foreground");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await tryGet(R.configmaps, "fg2"), undefined);
  await waitFor("dependents gone", async () => !(await tryGet(R.configmaps, "fg2-cm")) && !(await tryGet(R.secrets, "fg2-secret")));
});

test("Orphan: dependents stay, without the ownerReference; the owner goes", { skip }, async () => {
  const o = await family("orph");
  const r = await kubectl("delete", "configmap", "orph", "--cascade=orphan");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await tryGet(R.configmaps, "orph"), undefined);
  for (const [res, name] of [[R.configmaps, "orph-cm"], [R.secrets, "orph-secret"]] as const) {
    const d = await tryGet(res, name);
    assert.ok(d, `${name} is kept`);
    assert.ok(!(d.metadata.ownerReferences ?? []).some((x) => x.uid === o.metadata.uid), `${name} no longer names its owner`);
  }
});

test("Orphan through the API sets the orphan finalizer first (any kind: a Lease here)", async () => {
  // Without a running collector the finalizer stays, so what the server wrote can be seen.
  await cm.close();
  try {
    await fx.client.create(R.leases, "default", { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "l1" }, spec: {} });
    await fx.client.delete(R.leases, "default", "l1", { propagationPolicy: "Orphan" });
    const l = await fx.client.get(R.leases, "default", "l1");
    assert.deepEqual(l.metadata.finalizers, ["orphan"]);
    assert.ok(l.metadata.deletionTimestamp);
    // A second delete asking for Foreground swaps the policy's finalizer.
    await fx.client.delete(R.leases, "default", "l1", { propagationPolicy: "Foreground" });
    assert.deepEqual((await fx.client.get(R.leases, "default", "l1")).metadata.finalizers, ["foregroundDeletion"]);
    await assert.rejects(fx.client.delete(R.leases, "default", "l1", { propagationPolicy: "Sideways" as "Orphan" }), /Unsupported value: "Sideways"/);
    // Background (the default) needs no finalizer: removing the policy's finalizer deletes it.
    await fx.client.patch(R.leases, "default", "l1", { metadata: { finalizers: null } });
    assert.equal(await tryGet(R.leases, "l1"), undefined);
  } finally {
    cm = await startControllerManager({ kubeconfig: fx.server.kubeconfigPath, controllers: ["garbagecollector"], leaderElect: false });
  }
});
