// The per-kind condition types keep their own timestamps through a status write (they were
// once typed as meta.v1.Condition, whose schema pruned lastUpdateTime, lastProbeTime and
// lastHeartbeatTime), and strict field validation accepts them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../api/meta.js";
import { R } from "../../controlplane/kit/index.js";
import { startApiFixture, type ApiFixture } from "./kit-fixture.js";

let fx: ApiFixture;
before(async () => { fx = await startApiFixture("keel-conditions-"); });
after(async () => { await fx?.close(); });

const T1 = "2026-01-02T03:04:05Z", T2 = "2026-01-02T03:04:06Z";
type WithConditions = KubeObject & { status?: { conditions?: Record<string, unknown>[] } };

test("Deployment conditions keep lastUpdateTime", async () => {
  await fx.client.create(R.deployments, "default", {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d1" },
    spec: { selector: { matchLabels: { app: "d1" } }, template: { metadata: { labels: { app: "d1" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
  } as KubeObject);
  const cond = { type: "Progressing", status: "True", lastUpdateTime: T1, lastTransitionTime: T2, reason: "NewReplicaSetAvailable", message: "ok" };
  const out = await fx.client.patchStatus<WithConditions>(R.deployments, "default", "d1", { status: { conditions: [cond] } });
  assert.deepEqual(out.status!.conditions, [cond]);
  assert.deepEqual((await fx.client.get<WithConditions>(R.deployments, "default", "d1")).status!.conditions, [cond]);
});

test("Job conditions keep lastProbeTime; Node conditions keep lastHeartbeatTime (strict validation too)", async () => {
  await fx.client.create(R.jobs, "default", {
    apiVersion: "batch/v1", kind: "Job", metadata: { name: "j1" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
  } as KubeObject);
  const jc = { type: "Complete", status: "True", lastProbeTime: T1, lastTransitionTime: T2 };
  const job = await fx.client.patchStatus<WithConditions>(R.jobs, "default", "j1", { status: { conditions: [jc] } });
  assert.deepEqual(job.status!.conditions, [jc]);

  await fx.client.create(R.nodes, undefined, { apiVersion: "v1", kind: "Node", metadata: { name: "keel-cond-node" } });
  const nc = { type: "Ready", status: "True", lastHeartbeatTime: T1, lastTransitionTime: T2, reason: "KubeletReady", message: "ready" };
  // Strict: an unknown field would be a 400, so the schema must know lastHeartbeatTime.
  const node = await fx.client.request<WithConditions>("PATCH", "/api/v1/nodes/keel-cond-node/status?fieldValidation=Strict",
    { status: { conditions: [nc] } }, "application/merge-patch+json");
  assert.deepEqual(node.status!.conditions, [nc]);
});
