// Watch fan-out and streamed lists: many watchers of one resource (plain, label-selected, as a
// Table) each get their own correct events although each store event is decoded and
// serialized once for all of them; a list larger than a store page streams out whole, and
// paginates with limit/continue as before.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { KubeObject } from "../../api/meta.js";
import { R, type RawWatchEvent, type WatchHandle } from "../../controlplane/kit/index.js";
import { startApiFixture, waitFor, type ApiFixture } from "./kit-fixture.js";

let fx: ApiFixture;
const handles: WatchHandle[] = [];
before(async () => { fx = await startApiFixture("keel-fanout-"); });
after(async () => {
  for (const h of handles) h.stop();
  await fx?.close();
});

const cm = (name: string, labels: Record<string, string>, v: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data: { v } }) as KubeObject;
type Ev = { type: string; name?: string; v?: string };
const brief = (e: RawWatchEvent<KubeObject>): Ev => ({ type: e.type, name: e.object.metadata.name, v: (e.object as KubeObject & { data?: { v?: string } }).data?.v });

test("30 watchers with and without selectors each see exactly their events", async () => {
  const rv = (await fx.client.list(R.configmaps, "default")).metadata!.resourceVersion!;
  const plain: Ev[][] = [], red: Ev[][] = [];
  for (let i = 0; i < 15; i++) {
    const p: Ev[] = [], r: Ev[] = [];
    plain.push(p);
    red.push(r);
    handles.push(fx.client.watch(R.configmaps, "default", { resourceVersion: rv, allowWatchBookmarks: false }, (e) => p.push(brief(e)), () => {}));
    handles.push(fx.client.watch(R.configmaps, "default", { resourceVersion: rv, allowWatchBookmarks: false, labelSelector: "color=red" }, (e) => r.push(brief(e)), () => {}));
  }
  await fx.client.create(R.configmaps, "default", cm("a", { color: "red" }, "1"));
  await fx.client.create(R.configmaps, "default", cm("b", { color: "blue" }, "1"));
  await fx.client.patch(R.configmaps, "default", "a", { data: { v: "2" } });
  await fx.client.patch(R.configmaps, "default", "b", { metadata: { labels: { color: "red" } } }); // enters the selection
  await fx.client.patch(R.configmaps, "default", "a", { metadata: { labels: { color: "green" } } }); // leaves it
  await fx.client.delete(R.configmaps, "default", "b");
  const wantPlain: Ev[] = [
    { type: "ADDED", name: "a", v: "1" }, { type: "ADDED", name: "b", v: "1" }, { type: "MODIFIED", name: "a", v: "2" },
    { type: "MODIFIED", name: "b", v: "1" }, { type: "MODIFIED", name: "a", v: "2" }, { type: "DELETED", name: "b", v: "1" },
  ];
  const wantRed: Ev[] = [
    { type: "ADDED", name: "a", v: "1" }, { type: "MODIFIED", name: "a", v: "2" }, { type: "ADDED", name: "b", v: "1" },
    { type: "DELETED", name: "a", v: "2" }, { type: "DELETED", name: "b", v: "1" },
  ];
  await waitFor("every watcher has its events", () => plain.every((p) => p.length >= wantPlain.length) && red.every((r) => r.length >= wantRed.length));
  for (const p of plain) assert.deepEqual(p, wantPlain);
  for (const r of red) assert.deepEqual(r, wantRed);
});

test("a Table watch and a plain watch of the same events", async () => {
  const rv = (await fx.client.list(R.configmaps, "default")).metadata!.resourceVersion!;
  const base = `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`;
  const plain: unknown[] = [];
  handles.push(fx.client.watch(R.configmaps, "default", { resourceVersion: rv, allowWatchBookmarks: false }, (e) => plain.push(e), () => {}));
  // The kit client asks for plain JSON; a Table watch is checked by its row cells.
  const tableWatch = await fetchTableWatch(base);
  await fx.client.create(R.configmaps, "default", cm("t1", {}, "1"));
  await waitFor("both saw t1", async () => plain.length >= 1 && (await tableWatch.events()).length >= 1);
  const ev = (await tableWatch.events())[0] as { type: string; object: { kind: string; rows: { cells: unknown[] }[] } };
  tableWatch.stop();
  assert.equal(ev.type, "ADDED");
  assert.equal(ev.object.kind, "Table");
  assert.equal(ev.object.rows[0]!.cells[0], "t1");
  assert.equal((plain[0] as RawWatchEvent<KubeObject>).object.metadata.name, "t1");
});

/** A raw watch asking for Tables (what `kubectl get -w` does). */
async function fetchTableWatch(path: string): Promise<{ events(): Promise<unknown[]>; stop(): void }> {
  const { request } = await import("node:https");
  const events: unknown[] = [];
  const u = new URL(path, fx.server.url);
  const req = request(u, { headers: { Authorization: `Bearer ${fx.server.adminToken}`, Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" }, ca: fx.server.caCertPem }, (res) => {
    let buf = "";
    res.setEncoding("utf8");
    res.on("data", (c: string) => {
      buf += c;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) { events.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
    });
    res.on("error", () => {});
  });
  req.on("error", () => {});
  req.end();
  return { events: async () => events, stop: () => req.destroy() };
}

test("a list larger than a store page streams out whole; limit/continue still pages", async () => {
  await fx.client.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "big" } });
  const N = 1100; // more than one store page (1000)
  for (let i = 0; i < N; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => fx.client.create(R.configmaps, "big", cm(`c-${String(i + j).padStart(5, "0")}`, { n: String((i + j) % 2) }, "x"))));
  }
  const all = await fx.client.list(R.configmaps, "big");
  assert.equal(all.items.length, N);
  assert.equal(all.kind, "ConfigMapList");
  assert.ok(Number(all.metadata!.resourceVersion) > 0);
  assert.equal(all.metadata!.continue, undefined);
  assert.deepEqual(all.items.map((o) => o.metadata.name), [...all.items.map((o) => o.metadata.name!)].sort());
  const even = await fx.client.list(R.configmaps, "big", { labelSelector: "n=0" });
  assert.equal(even.items.length, N / 2);
  const page1 = await fx.client.list(R.configmaps, "big", { limit: 700 });
  assert.equal(page1.items.length, 700);
  assert.ok(page1.metadata!.continue);
  const page2 = await fx.client.list(R.configmaps, "big", { limit: 700, continue: page1.metadata!.continue });
  assert.equal(page2.items.length, N - 700);
  assert.equal(page2.metadata!.continue, undefined);
  // An error before anything was sent is still a Status.
  await assert.rejects(fx.client.list(R.configmaps, "big", { continue: "not-a-token" }), /400|410|BadRequest|Expired/);
});
