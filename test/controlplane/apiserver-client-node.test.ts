// @kubernetes/client-node against the keel API server: typed list with paging, a watch that
// resumes from a resourceVersion, and an informer that survives an API server restart.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, Watch, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";

const dir = mkdtempSync(join(tmpdir(), "keel-apiserver-client-node-"));
let server: RunningApiServer | undefined;
const cleanups: (() => unknown)[] = [];

after(async () => {
  for (const c of cleanups.reverse()) await c();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function until<T>(check: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = check();
      if (v !== undefined && v !== false) return resolve(v);
      if (Date.now() > deadline) return reject(new Error("condition not met in time"));
      setTimeout(tick, 50);
    };
    tick();
  });
}

const cm = (name: string, labels: Record<string, string> = { app: "client" }): V1ConfigMap => ({ metadata: { name, labels }, data: { k: name } });

test("client-node: list with paging, watch with resumption, informer across a restart", async () => {
  server = await startApiServer({ dataDir: join(dir, "data"), listen: "127.0.0.1:0" });
  const port = new URL(server.url).port;
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  const api = kc.makeApiClient(CoreV1Api);

  for (let i = 0; i < 5; i++) await api.createNamespacedConfigMap({ namespace: "default", body: cm(`item-${i}`) });
  const page1 = await api.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=client", limit: 2 });
  assert.deepEqual(page1.items.map((c) => c.metadata?.name), ["item-0", "item-1"]);
  assert.ok(page1.metadata?._continue);
  const page2 = await api.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=client", limit: 10, _continue: page1.metadata?._continue });
  assert.deepEqual(page2.items.map((c) => c.metadata?.name), ["item-2", "item-3", "item-4"]);

  // A watch from the list's resourceVersion sees only later changes, in order.
  const rv = page2.metadata!.resourceVersion!;
  const seen: string[] = [];
  const w = await new Watch(kc).watch("/api/v1/namespaces/default/configmaps", { resourceVersion: rv, labelSelector: "app=client" },
    (type, obj: V1ConfigMap) => seen.push(`${type} ${obj.metadata?.name}`), () => undefined);
  cleanups.push(() => w.abort());
  await api.createNamespacedConfigMap({ namespace: "default", body: cm("item-5") });
  await api.deleteNamespacedConfigMap({ name: "item-0", namespace: "default" });
  await until(() => seen.length >= 2 || undefined);
  assert.deepEqual(seen, ["ADDED item-5", "DELETED item-0"]);
  w.abort();

  // An informer keeps its cache in step, and catches up after the API server restarts.
  const informer = makeInformer(kc, "/api/v1/namespaces/default/configmaps", () => api.listNamespacedConfigMap({ namespace: "default", labelSelector: "app=client" }), "app=client");
  let stopped = false;
  informer.on("error", () => { if (!stopped) setTimeout(() => { if (!stopped) void informer.start().catch(() => undefined); }, 200); });
  cleanups.push(async () => { stopped = true; await informer.stop(); });
  await informer.start();
  const names = () => informer.list().map((c) => c.metadata!.name!).sort();
  await until(() => names().length === 5 || undefined);
  await server.close();
  server = await startApiServer({ dataDir: join(dir, "data"), listen: `127.0.0.1:${port}` });
  const api2 = new KubeConfig();
  api2.loadFromFile(server.kubeconfigPath);
  await api2.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: "default", body: cm("after-restart") });
  await until(() => names().includes("after-restart") || undefined);
  assert.deepEqual(names(), ["after-restart", "item-1", "item-2", "item-3", "item-4", "item-5"]);
});
