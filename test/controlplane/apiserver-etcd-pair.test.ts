// Two API servers on one real etcd: each one's watches see the other's writes, in order, with
// the same resourceVersions; optimistic concurrency holds across them; a CRD made through
// one is served by the other.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "../../api/meta.js";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { ApiStatusError, KubeClient, R, type RawWatchEvent, type Resource, type WatchHandle } from "../../controlplane/kit/index.js";
import { etcdMissing, startEtcd, type EtcdServer } from "./etcd-fixture.js";
import { waitFor } from "./kit-fixture.js";

const missing = etcdMissing();

describe("two API servers on one etcd", { skip: missing ?? false }, () => {
  let etcd: EtcdServer;
  let dir = "";
  const servers: RunningApiServer[] = [];
  const clients: KubeClient[] = [];
  const watches: WatchHandle[] = [];

  before(async () => {
    etcd = await startEtcd();
    dir = mkdtempSync(join(tmpdir(), "keel-etcd-pair-"));
    for (const name of ["a", "b"]) {
      const s = await startApiServer({ dataDir: join(dir, name), listen: "127.0.0.1:0", store: etcd.spec });
      servers.push(s);
      clients.push(new KubeClient(s.kubeconfigPath, `keel-test-${name}`));
    }
  });

  after(async () => {
    for (const w of watches) w.stop();
    for (const c of clients) c.close();
    for (const s of servers) await s.close().catch(() => {});
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function collect<T extends KubeObject>(client: KubeClient, res: Resource, resourceVersion: string): RawWatchEvent<T>[] {
    const events: RawWatchEvent<T>[] = [];
    watches.push(client.watch<T>(res, "default", { resourceVersion, allowWatchBookmarks: false }, (ev) => events.push(ev), () => {}));
    return events;
  }

  test("each server's watch sees the other's creates, updates and deletes, in order", async () => {
    const [a, b] = clients as [KubeClient, KubeClient];
    const startA = (await a.list(R.configmaps, "default")).metadata!.resourceVersion!;
    const startB = (await b.list(R.configmaps, "default")).metadata!.resourceVersion!;
    const seenByB = collect(b, R.configmaps, startA);
    const seenByA = collect(a, R.configmaps, startB);
    const written: { type: string; name: string; rv: string }[] = [];
    const c1 = await a.create(R.configmaps, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "from-a" }, data: { v: "1" } } as KubeObject);
    written.push({ type: "ADDED", name: "from-a", rv: c1.metadata.resourceVersion! });
    const c2 = await b.create(R.configmaps, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "from-b" }, data: { v: "1" } } as KubeObject);
    written.push({ type: "ADDED", name: "from-b", rv: c2.metadata.resourceVersion! });
    const u1 = await b.patch(R.configmaps, "default", "from-a", { data: { v: "2" } });
    written.push({ type: "MODIFIED", name: "from-a", rv: u1.metadata.resourceVersion! });
    const d1 = (await a.delete(R.configmaps, "default", "from-b")) as KubeObject;
    written.push({ type: "DELETED", name: "from-b", rv: d1.metadata.resourceVersion! });
    for (const [who, seen] of [["a", seenByA], ["b", seenByB]] as const) {
      await waitFor(`server ${who} sees 4 events`, () => seen.length >= 4);
      assert.deepEqual(seen.map((e) => ({ type: e.type, name: e.object.metadata.name, rv: e.object.metadata.resourceVersion })), written, `as seen through ${who}`);
    }
    assert.equal((await b.get<KubeObject & { data: Record<string, string> }>(R.configmaps, "default", "from-a")).data.v, "2");
  });

  test("a stale resourceVersion written through the other server is a conflict", async () => {
    const [a, b] = clients as [KubeClient, KubeClient];
    const cm = await a.create<KubeObject & { data?: Record<string, string> }>(R.configmaps, "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "race" }, data: { v: "0" } } as KubeObject);
    await b.update(R.configmaps, { ...cm, data: { v: "b" } });
    await assert.rejects(a.update(R.configmaps, { ...cm, data: { v: "a" } }), (err: unknown) => err instanceof ApiStatusError && err.code === 409);
  });

  test("a CRD created through one server is served by the other", async () => {
    const [a, b] = clients as [KubeClient, KubeClient];
    const CRDS: Resource = { group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", kind: "CustomResourceDefinition", namespaced: false };
    await a.create(CRDS, undefined, {
      apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "widgets.pair.keel.dev" },
      spec: {
        group: "pair.keel.dev", scope: "Namespaced", names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
      },
    } as KubeObject);
    const W: Resource = { group: "pair.keel.dev", version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
    await waitFor("widgets served by b", async () => b.create(W, "default", { apiVersion: "pair.keel.dev/v1", kind: "Widget", metadata: { name: "w1" } } as KubeObject).then(() => true, () => false));
    assert.equal((await a.get(W, "default", "w1")).metadata.name, "w1");
  });
});
