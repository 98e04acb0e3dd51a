// The API server's REST semantics over HTTPS with a bearer token: errors, concurrency,
// pagination, watch, subresources, deletion lifecycle.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";

let dir = "";
let server: RunningApiServer;

interface Resp { status: number; headers: Record<string, string | string[] | undefined>; body: any; text: string }

function call(method: string, path: string, body?: unknown, opts: { contentType?: string; token?: string | null; accept?: string } = {}): Promise<Resp> {
  const url = new URL(path, server.url);
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method, ca: server.caCertPem,
      headers: {
        ...(opts.token === null ? {} : { Authorization: `Bearer ${opts.token ?? server.adminToken}` }),
        ...(payload ? { "Content-Type": opts.contentType ?? "application/json", "Content-Length": payload.length } : {}),
        ...(opts.accept ? { Accept: opts.accept } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode!, headers: res.headers, body: parsed, text });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** Opens a watch and collects its events until `until` says stop (or the stream ends). */
function watch(path: string, until: (events: any[]) => boolean, timeoutMs = 10_000): Promise<any[]> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    let buf = "";
    const req = request(url, { ca: server.caCertPem, headers: { Authorization: `Bearer ${server.adminToken}` } }, (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) events.push(JSON.parse(line));
        }
        if (until(events)) { clearTimeout(timer); req.destroy(); resolve(events); }
      });
      res.on("end", () => { clearTimeout(timer); resolve(events); });
    });
    const timer = setTimeout(() => { req.destroy(); reject(new Error(`watch timed out with ${JSON.stringify(events)}`)); }, timeoutMs);
    req.on("error", (e) => { if (!until(events)) reject(e); });
    req.end();
  });
}

const cm = (name: string, data: Record<string, string> = { a: "1" }, labels: Record<string, string> = {}) =>
  ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data });
const CMS = "/api/v1/namespaces/default/configmaps";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "keel-apiserver-http-"));
  server = await startApiServer({ dataDir: join(dir, "data"), listen: "127.0.0.1:0" });
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("anonymous requests get 401, health and version are public", async () => {
  const r = await call("GET", "/api/v1/namespaces", undefined, { token: null });
  assert.equal(r.status, 401);
  assert.equal(r.body.kind, "Status");
  assert.equal(r.body.reason, "Unauthorized");
  assert.equal((await call("GET", "/api/v1/namespaces", undefined, { token: "wrong" })).status, 401);
  assert.equal((await call("POST", CMS, cm("anon"), { token: null })).status, 401);
  assert.equal((await call("GET", `${CMS}/anon`)).status, 404, "the anonymous write changed nothing");
  for (const p of ["/healthz", "/livez", "/readyz"]) assert.equal((await call("GET", p, undefined, { token: null })).text, "ok");
  assert.equal((await call("GET", "/version", undefined, { token: null })).body.major, "1");
});

test("bad bodies: malformed JSON 400, too large 413, invalid 422, each changes nothing", async () => {
  const rv0 = (await call("GET", CMS)).body.metadata.resourceVersion;
  const bad = await call("POST", CMS, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.reason, "BadRequest");
  const big = await call("POST", CMS, cm("big", { a: "x".repeat(3 * 1024 * 1024 + 10) }));
  assert.equal(big.status, 413);
  assert.equal(big.body.reason, "RequestEntityTooLarge");
  const invalid = await call("POST", CMS, cm("Not_Valid"));
  assert.equal(invalid.status, 422);
  assert.equal(invalid.body.reason, "Invalid");
  assert.equal(invalid.body.details.causes[0].field, "metadata.name");
  const kindMismatch = await call("POST", CMS, { ...cm("k"), kind: "Secret" });
  assert.equal(kindMismatch.status, 400);
  const strict = await call("POST", `${CMS}?fieldValidation=Strict`, { ...cm("strict"), extra: 1 });
  assert.equal(strict.status, 400);
  assert.match(strict.body.message, /unknown field "extra"/);
  assert.equal((await call("GET", CMS)).body.metadata.resourceVersion, rv0, "no write happened");
  const warn = await call("POST", `${CMS}?fieldValidation=Warn`, { ...cm("warned"), extra: 1 });
  assert.equal(warn.status, 201);
  assert.match(String(warn.headers.warning), /unknown field \\"extra\\"/);
  assert.equal(warn.body.extra, undefined, "unknown fields are dropped");
  const dry = await call("POST", `${CMS}?dryRun=All`, cm("dry"));
  assert.equal(dry.status, 201);
  assert.equal((await call("GET", `${CMS}/dry`)).status, 404);
});

test("object semantics: uid, generateName, resourceVersion, 409 on stale, generation", async () => {
  const created = await call("POST", CMS, { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" }, data: { a: "1" } });
  assert.equal(created.status, 201);
  assert.match(created.body.metadata.name, /^gen-[a-z0-9]{5}$/);
  assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.equal((await call("POST", CMS, cm(created.body.metadata.name))).status, 409);
  const obj = created.body;
  const upd = await call("PUT", `${CMS}/${obj.metadata.name}`, { ...obj, data: { a: "2" } });
  assert.equal(upd.status, 200);
  assert.ok(Number(upd.body.metadata.resourceVersion) > Number(obj.metadata.resourceVersion));
  const stale = await call("PUT", `${CMS}/${obj.metadata.name}`, { ...obj, data: { a: "3" } });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.reason, "Conflict");
  assert.equal((await call("GET", `${CMS}/${obj.metadata.name}`)).body.data.a, "2");
  // generation moves with spec changes only
  const dep = {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "gen" },
    spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i" }] } } },
  };
  const D = "/apis/apps/v1/namespaces/default/deployments";
  const d1 = (await call("POST", D, dep)).body;
  assert.equal(d1.metadata.generation, 1);
  const d2 = (await call("PATCH", `${D}/gen`, { metadata: { labels: { x: "y" } } }, { contentType: "application/merge-patch+json" })).body;
  assert.equal(d2.metadata.generation, 1);
  const d3 = (await call("PATCH", `${D}/gen`, { spec: { replicas: 5 } }, { contentType: "application/strategic-merge-patch+json" })).body;
  assert.equal(d3.metadata.generation, 2);
  // status subresource: the main resource ignores status, /status ignores the rest
  const withStatus = await call("PATCH", `${D}/gen`, { status: { replicas: 9 } }, { contentType: "application/merge-patch+json" });
  assert.equal(withStatus.body.status?.replicas, undefined);
  const st = await call("PATCH", `${D}/gen/status`, { spec: { replicas: 1 }, status: { replicas: 9 } }, { contentType: "application/merge-patch+json" });
  assert.equal(st.status, 200);
  assert.equal(st.body.status.replicas, 9);
  assert.equal(st.body.spec.replicas, 5);
  // scale subresource
  const scale = await call("GET", `${D}/gen/scale`);
  assert.equal(scale.body.kind, "Scale");
  assert.equal(scale.body.spec.replicas, 5);
  assert.equal(scale.body.status.selector, "a=b");
  const scaled = await call("PUT", `${D}/gen/scale`, { ...scale.body, spec: { replicas: 2 } });
  assert.equal(scaled.status, 200);
  assert.equal((await call("GET", `${D}/gen`)).body.spec.replicas, 2);
  const unsupported = await call("PATCH", `${D}/gen`, { spec: {} }, { contentType: "text/plain" });
  assert.equal(unsupported.status, 415);
});

test("list: label selectors, limit and continue, tables", async () => {
  for (let i = 0; i < 7; i++) assert.equal((await call("POST", CMS, cm(`page-${i}`, { i: String(i) }, { page: "yes", parity: i % 2 ? "odd" : "even" }))).status, 201);
  const seen: string[] = [];
  let cont = "";
  let pages = 0;
  do {
    const r = await call("GET", `${CMS}?labelSelector=page%3Dyes&limit=3${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.items.length <= 3);
    seen.push(...r.body.items.map((o: any) => o.metadata.name));
    cont = r.body.metadata.continue ?? "";
    pages++;
  } while (cont && pages < 10);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`));
  assert.equal(pages, 3);
  const odd = await call("GET", `${CMS}?labelSelector=${encodeURIComponent("parity in (odd),page")}&limit=2`);
  assert.deepEqual(odd.body.items.map((o: any) => o.metadata.name), ["page-1", "page-3"]);
  assert.ok(odd.body.metadata.continue);
  const rest = await call("GET", `${CMS}?labelSelector=${encodeURIComponent("parity in (odd),page")}&limit=2&continue=${encodeURIComponent(odd.body.metadata.continue)}`);
  assert.deepEqual(rest.body.items.map((o: any) => o.metadata.name), ["page-5"]);
  const table = await call("GET", `${CMS}?labelSelector=page%3Dyes&limit=2`, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" });
  assert.equal(table.body.kind, "Table");
  assert.deepEqual(table.body.columnDefinitions.map((c: any) => c.name), ["Name", "Data", "Age"]);
  assert.deepEqual(table.body.rows[0].cells.slice(0, 2), ["page-0", 1]);
  assert.equal(table.body.rows[0].object.kind, "PartialObjectMetadata");
  const del = await call("DELETE", `${CMS}?labelSelector=parity%3Deven`);
  assert.equal(del.status, 200);
  assert.equal(del.body.items.length, 4);
  assert.equal((await call("GET", `${CMS}?labelSelector=page`)).body.items.length, 3);
});

test("watch: initial events, resumption, selector transitions, bookmarks, 410 after compaction", async () => {
  const start = (await call("GET", CMS)).body.metadata.resourceVersion;
  const done = watch(`${CMS}?watch=true&resourceVersion=${start}&labelSelector=w%3D1&allowWatchBookmarks=true`,
    (evs) => evs.filter((e) => e.type !== "BOOKMARK").length >= 4);
  await new Promise((r) => setTimeout(r, 200));
  await call("POST", CMS, cm("watched", { a: "1" }, { w: "1" }));
  await call("PATCH", `${CMS}/watched`, { data: { a: "2" } }, { contentType: "application/merge-patch+json" });
  await call("POST", CMS, cm("unwatched", { a: "1" }, { w: "2" }));
  await call("PATCH", `${CMS}/watched`, { metadata: { labels: { w: "2" } } }, { contentType: "application/merge-patch+json" });
  await call("PATCH", `${CMS}/unwatched`, { metadata: { labels: { w: "1" } } }, { contentType: "application/merge-patch+json" });
  const evs = (await done).filter((e) => e.type !== "BOOKMARK");
  assert.deepEqual(evs.map((e) => `${e.type} ${e.object.metadata.name}`), ["ADDED watched", "MODIFIED watched", "DELETED watched", "ADDED unwatched"]);
  const revs = evs.map((e) => Number(e.object.metadata.resourceVersion));
  assert.deepEqual(revs, [...revs].sort((a, b) => a - b), "in revision order");
  // resume from the middle: only later events
  const resumed = await watch(`${CMS}?watch=true&resourceVersion=${revs[1]}&labelSelector=w%3D1`, (e) => e.length >= 2);
  assert.deepEqual(resumed.map((e) => `${e.type} ${e.object.metadata.name}`), ["DELETED watched", "ADDED unwatched"]);
  // without a resourceVersion the current objects come first
  const initial = await watch(`${CMS}?watch=true&labelSelector=w%3D1`, (e) => e.length >= 1);
  assert.equal(initial[0].type, "ADDED");
  assert.equal(initial[0].object.metadata.name, "unwatched");
  // a bookmark is sent when asked
  const withBookmark = await watch(`${CMS}?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`, (e) => e.some((x) => x.type === "BOOKMARK"));
  const bm = withBookmark.find((e) => e.type === "BOOKMARK");
  assert.equal(bm.object.metadata.annotations["k8s.io/initial-events-end"], "true");
  // compaction: watching from before it is 410 Gone
  const now = Number((await call("GET", CMS)).body.metadata.resourceVersion);
  await server.store.compact(now);
  const gone = await watch(`${CMS}?watch=true&resourceVersion=${Number(start)}`, (e) => e.length >= 1);
  assert.equal(gone[0].type, "ERROR");
  assert.equal(gone[0].object.code, 410);
  assert.equal(gone[0].object.reason, "Expired");
});

test("finalizers hold an object until removed; scheduled pods delete gracefully", async () => {
  await call("POST", CMS, { ...cm("held"), metadata: { name: "held", finalizers: ["example.com/hold"] } });
  const del = await call("DELETE", `${CMS}/held`);
  assert.equal(del.status, 200);
  const held = await call("GET", `${CMS}/held`);
  assert.ok(held.body.metadata.deletionTimestamp);
  const add = await call("PATCH", `${CMS}/held`, { metadata: { finalizers: ["example.com/hold", "example.com/more"] } }, { contentType: "application/merge-patch+json" });
  assert.equal(add.status, 422, "no new finalizers while deleting");
  const release = await call("PATCH", `${CMS}/held`, { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
  assert.equal(release.status, 200);
  assert.equal((await call("GET", `${CMS}/held`)).status, 404);

  const P = "/api/v1/namespaces/default/pods";
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "graceful" }, spec: { nodeName: "node-a", terminationGracePeriodSeconds: 20, containers: [{ name: "c", image: "busybox" }] } };
  assert.equal((await call("POST", P, pod)).status, 201);
  const d1 = await call("DELETE", `${P}/graceful`);
  assert.equal(d1.body.metadata.deletionGracePeriodSeconds, 20);
  const table = await call("GET", `${P}/graceful`, undefined, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io" });
  assert.equal(table.body.rows[0].cells[2], "Terminating");
  const d2 = await call("DELETE", `${P}/graceful`, { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0 });
  assert.equal(d2.status, 200);
  assert.equal((await call("GET", `${P}/graceful`)).status, 404);
  const byNode = await call("GET", `/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a`);
  assert.equal(byNode.body.items.length, 0);
});

test("binding a pod sets spec.nodeName once", async () => {
  const P = "/api/v1/namespaces/default/pods";
  assert.equal((await call("POST", P, { apiVersion: "v1", kind: "Pod", metadata: { name: "unbound" }, spec: { containers: [{ name: "c", image: "busybox" }] } })).status, 201);
  const bind = await call("POST", `${P}/unbound/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name: "unbound" }, target: { kind: "Node", name: "node-b" } });
  assert.equal(bind.status, 201);
  const pod = (await call("GET", `${P}/unbound`)).body;
  assert.equal(pod.spec.nodeName, "node-b");
  assert.equal(pod.status.conditions.find((c: any) => c.type === "PodScheduled").status, "True");
  assert.equal(pod.status.phase, "Pending");
  const again = await call("POST", `${P}/unbound/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name: "unbound" }, target: { kind: "Node", name: "node-c" } });
  assert.equal(again.status, 409);
  assert.match(again.body.message, /already assigned to node "node-b"/);
  const onB = await call("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-b");
  assert.deepEqual(onB.body.items.map((p: any) => p.metadata.name), ["unbound"]);
  assert.equal((await call("DELETE", `${P}/unbound?gracePeriodSeconds=0`)).status, 200);
});

test("a terminating namespace refuses new objects, then goes with its objects", async () => {
  assert.equal((await call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "keel-doomed" } })).status, 201);
  const C = "/api/v1/namespaces/keel-doomed/configmaps";
  assert.equal((await call("POST", C, { ...cm("held"), metadata: { name: "held", finalizers: ["example.com/hold"] } })).status, 201);
  assert.equal((await call("POST", C, cm("plain"))).status, 201);
  assert.equal((await call("DELETE", "/api/v1/namespaces/keel-doomed")).status, 200);
  const ns = await call("GET", "/api/v1/namespaces/keel-doomed");
  assert.equal(ns.body.status.phase, "Terminating");
  const refused = await call("POST", C, cm("late"));
  assert.equal(refused.status, 403);
  assert.match(refused.body.message, /being terminated/);
  // the held object keeps the namespace alive until its finalizer is removed
  for (let i = 0; i < 50 && (await call("GET", `${C}/plain`)).status !== 404; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await call("GET", `${C}/plain`)).status, 404);
  assert.equal((await call("GET", "/api/v1/namespaces/keel-doomed")).status, 200);
  await call("PATCH", `${C}/held`, { metadata: { finalizers: null } }, { contentType: "application/merge-patch+json" });
  let status = 200;
  for (let i = 0; i < 100 && status !== 404; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await call("GET", "/api/v1/namespaces/keel-doomed")).status;
  }
  assert.equal(status, 404);
  assert.equal((await call("POST", C, cm("after"))).status, 404, "namespace is gone");
});

test("services keep their cluster IP and node ports across updates; system namespaces stay", async () => {
  const S = "/api/v1/namespaces/default/services";
  const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "np" }, spec: { type: "NodePort", selector: { a: "b" }, ports: [{ port: 80 }] } };
  const created = (await call("POST", S, svc)).body;
  assert.match(created.spec.clusterIP, /^10\.96\.\d+\.\d+$/);
  const nodePort = created.spec.ports[0].nodePort;
  assert.ok(nodePort >= 30000 && nodePort < 32768);
  const updated = await call("PUT", `${S}/np`, { ...svc, metadata: { name: "np", labels: { x: "y" } } });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.spec.clusterIP, created.spec.clusterIP);
  assert.equal(updated.body.spec.ports[0].nodePort, nodePort);
  const moved = await call("PATCH", `${S}/np`, { spec: { clusterIP: "10.96.0.77" } }, { contentType: "application/merge-patch+json" });
  assert.equal(moved.status, 422, "clusterIP is immutable");
  const ns = await call("DELETE", "/api/v1/namespaces/default");
  assert.equal(ns.status, 403);
  assert.equal((await call("GET", "/api/v1/namespaces/default")).body.status.phase, "Active");
});

test("discovery and OpenAPI v3", async () => {
  const apis = await call("GET", "/apis");
  assert.ok(apis.body.groups.some((g: any) => g.name === "apps" && g.preferredVersion.groupVersion === "apps/v1"));
  const v1 = await call("GET", "/api/v1");
  const pods = v1.body.resources.find((r: any) => r.name === "pods");
  assert.deepEqual(pods.shortNames, ["po"]);
  assert.ok(v1.body.resources.some((r: any) => r.name === "pods/status"));
  const agg = await call("GET", "/apis", undefined, { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json" });
  assert.equal(agg.body.kind, "APIGroupDiscoveryList");
  const appsV1 = agg.body.items.find((g: any) => g.metadata.name === "apps").versions[0];
  const deploy = appsV1.resources.find((r: any) => r.resource === "deployments");
  assert.deepEqual(deploy.responseKind, { group: "apps", version: "v1", kind: "Deployment" });
  assert.ok(deploy.subresources.some((s: any) => s.subresource === "scale" && s.responseKind.kind === "Scale"));
  const legacy = await call("GET", "/api", undefined, { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" });
  assert.equal(legacy.body.items[0].metadata.name, "");
  const idx = await call("GET", "/openapi/v3");
  const ref = idx.body.paths["apis/apps/v1"].serverRelativeURL;
  const doc = await call("GET", ref);
  const patch = doc.body.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
  assert.deepEqual(patch["x-kubernetes-group-version-kind"], { group: "apps", version: "v1", kind: "Deployment" });
  assert.ok(patch.parameters.some((p: any) => p.name === "fieldValidation" && p.in === "query"));
  assert.ok(patch.requestBody.content["application/strategic-merge-patch+json"]);
  const containers = doc.body.components.schemas["io.k8s.api.core.v1.PodSpec"].properties.containers;
  assert.equal(containers["x-kubernetes-patch-merge-key"], "name");
});
