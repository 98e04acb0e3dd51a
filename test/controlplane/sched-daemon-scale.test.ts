// Hundreds of simulated nodes in one process: a Deployment of 600 pods goes through the
// controller-manager and the scheduler daemon to Running, and no node is over-committed.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { Pod, Node } from "../../api/core.js";
import type { Deployment } from "../../api/apps.js";
import { R } from "../../controlplane/kit/index.js";
import { isPodReady } from "../../controlplane/controllers/index.js";
import { simNodeSpecs } from "../../controlplane/sim-nodes/index.js";
import { startCluster, waitFor, type Cluster } from "./controllers-fixture.js";

let c: Cluster | undefined;
after(async () => { await c?.close(); });

test("200 simulated nodes, 600 pods: all Running, none over capacity, spread over the nodes", async () => {
  c = await startCluster({ nodes: simNodeSpecs(200, { prefix: "keel-big", capacity: { cpu: "2", memory: "4Gi", pods: "110" }, zones: 4 }) });
  assert.equal((await c.client.list<Node>(R.nodes)).items.length, 200);
  const dep: Deployment = {
    metadata: { name: "many", namespace: "default" },
    spec: {
      replicas: 600, selector: { matchLabels: { app: "many" } },
      template: { metadata: { labels: { app: "many" } }, spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "500m", memory: "256Mi" } } }] } },
    },
  };
  const t0 = Date.now();
  await c.client.create(R.deployments, "default", dep);
  await waitFor("600 ready", async () => (await c!.client.list<Pod>(R.pods, "default", { labelSelector: "app=many" })).items.filter(isPodReady).length === 600, 120_000, 250);
  const took = Date.now() - t0;
  const pods = (await c.client.list<Pod>(R.pods, "default", { labelSelector: "app=many" })).items;
  const perNode = new Map<string, number>();
  for (const p of pods) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
  assert.ok([...perNode.values()].every((n) => n <= 4), "a node holds more than 2 cpu of 500m pods");
  assert.ok(perNode.size >= 150, `only ${perNode.size} nodes used`);
  process.stderr.write(`# 600 pods Running on ${perNode.size} of 200 simulated nodes in ${took} ms\n`);
});
