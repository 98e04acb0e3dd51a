// Pull and push against a real registry (Debian's docker-registry) on loopback: anonymous, and
// with bearer tokens from a token server that wants Basic credentials from a docker config.json.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { writeFile, rm, readdir } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, tempStore, startRegistry, startTokenServer, type TestRegistry, type TokenServer } from "./helpers.js";
import { buildBusyboxImage } from "../../images/build-busybox.js";
import { pushImage } from "../../images/registry/push.js";
import { pullImage } from "../../images/registry/pull.js";
import { closeHttpAgents } from "../../images/registry/http.js";
import { RegistryError } from "../../images/errors.js";
import { ContentStore } from "../../images/content-store.js";
import { collectGarbage } from "../../images/gc.js";
import { MediaType, type ImageManifest } from "../../oci/image-spec.js";
import { commitImage } from "../../images/layer-writer.js";
import { rawTar, selfSignedCert } from "./helpers.js";
import { mkdir, copyFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

let dir: string;
let registry: TestRegistry;
let authDir: string;
let token: TokenServer;
let authRegistry: TestRegistry;

before(async () => {
  dir = await tempDir();
  registry = await startRegistry(dir);
  authDir = join(dir, "auth");
  await (await import("node:fs/promises")).mkdir(authDir);
  token = await startTokenServer(authDir, { keel: "s3cret" });
  authRegistry = await startRegistry(authDir, token);
});

after(async () => {
  await registry?.stop();
  await authRegistry?.stop();
  await token?.stop();
  closeHttpAgents();
  await rm(dir, { recursive: true, force: true });
});

test("push a built image, pull it into another store: same digests, layers unpacked", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  const built = await buildBusyboxImage(a.store);
  const dest = `${registry.host}/keel/busybox:1`;
  const pushed = await pushImage(a.store, "busybox", dest);
  assert.equal(pushed.digest, built.digest);
  const seen: string[] = [];
  const progress = { start: (id: string) => seen.push(`start ${id}`), update: () => {}, done: (id: string, s: string) => seen.push(`${s} ${id}`) };
  const pulled = await pullImage(b.store, dest, { progress });
  assert.equal(pulled.digest, built.digest);
  assert.equal(pulled.layers, 1);
  assert.ok(pulled.bytesFetched > 1_000_000, "the busybox layer was fetched");
  assert.ok(seen.some((s) => s.startsWith("done ")));
  const img = await b.store.resolve(dest);
  assert.deepEqual(img.config.config?.Cmd, ["sh"]);
  const snaps = await readdir(join(b.root, "store", "snapshots"));
  assert.equal(snaps.filter((s) => !s.startsWith(".")).length, 1);
  // A second pull finds everything in place.
  const again = await pullImage(b.store, dest);
  assert.equal(again.bytesFetched, 0);
  // By digest, into a third store.
  const c = await tempStore();
  t.after(c.cleanup);
  const byDigest = await pullImage(c.store, `${registry.host}/keel/busybox@${built.digest}`);
  assert.equal(byDigest.digest, built.digest);
  assert.equal((await c.store.resolve(`${registry.host}/keel/busybox@${built.digest}`)).digest, built.digest);
});

test("pulling a tag that does not exist is a RegistryError with the registry's code", async (t) => {
  const s = await tempStore();
  t.after(s.cleanup);
  await assert.rejects(pullImage(s.store, `${registry.host}/keel/nothing:here`), (e: unknown) => {
    assert.ok(e instanceof RegistryError);
    assert.equal(e.status, 404);
    assert.match(e.registryCode ?? "", /UNKNOWN/);
    return true;
  });
  assert.deepEqual((await s.store.listRefs()).length, 0);
});

test("concurrent pulls of the same image into one store both succeed", async (t) => {
  const a = await tempStore();
  t.after(a.cleanup);
  await buildBusyboxImage(a.store);
  const dest = `${registry.host}/keel/concurrent:1`;
  await pushImage(a.store, "busybox", dest);
  const b = await tempStore();
  t.after(b.cleanup);
  // Two store handles, as two processes would have.
  const other = await ContentStore.open(b.store.root);
  const [x, y] = await Promise.all([pullImage(b.store, dest), pullImage(other, dest)]);
  assert.equal(x.digest, y.digest);
  const img = await b.store.resolve(dest);
  assert.equal(img.digest, x.manifestDigest);
  assert.deepEqual(await readdir(join(b.store.root, "ingest")), []);
  const gc = await collectGarbage(b.store);
  assert.deepEqual(gc.blobsRemoved, [], "nothing the pulled image needs is collected");
});

test("bearer-token auth: anonymous is refused, Basic credentials from a docker config.json get a token", async (t) => {
  const a = await tempStore();
  t.after(a.cleanup);
  await buildBusyboxImage(a.store);
  const dest = `${authRegistry.host}/keel/private:1`;
  const noAuth = join(authDir, "none.json");
  await writeFile(noAuth, "{}");
  await assert.rejects(pushImage(a.store, "busybox", dest, { authFiles: [noAuth] }), (e: unknown) => e instanceof RegistryError && e.code === "EAUTH");
  const cfg = join(authDir, "config.json");
  await writeFile(cfg, JSON.stringify({ auths: { [authRegistry.host]: { auth: Buffer.from("keel:s3cret").toString("base64") } } }));
  await pushImage(a.store, "busybox", dest, { authFiles: [cfg] });
  assert.ok(token.requests.some((r) => r.authorization?.startsWith("Basic ") && r.scope.some((s) => s.includes("keel/private"))));
  const b = await tempStore();
  t.after(b.cleanup);
  const pulled = await pullImage(b.store, dest, { authFiles: [cfg] });
  assert.equal(pulled.layers, 1);
});

test("a Docker manifest list resolves to linux/amd64: only that platform's blobs are fetched", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  const built = await buildBusyboxImage(a.store);
  // The busybox manifest in Docker schema 2 form, and a fake arm64 image next to it.
  const oci = (await a.store.readJson(built.digest, "m")) as ImageManifest;
  const docker: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { ...oci.config, mediaType: MediaType.dockerConfig },
    layers: oci.layers.map((l) => ({ ...l, mediaType: MediaType.dockerLayerGzip })),
  };
  const amd = await a.store.putJson(docker, MediaType.dockerManifest);
  const armImg = await commitImage(a.store, { layers: [{ tar: await rawTar([{ name: "arm-only", data: "arm" }]) }], config: { Cmd: ["sh"] } });
  const list = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifestList,
    manifests: [
      { ...armImg.manifest, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { ...amd, platform: { os: "linux", architecture: "amd64" } },
    ],
  };
  const listDesc = await a.store.putJson(list, MediaType.dockerManifestList);
  await a.store.setRef("keel-test/multi", listDesc);
  const dest = `${registry.host}/keel/multi:1`;
  await pushImage(a.store, "keel-test/multi", dest);
  const pulled = await pullImage(b.store, dest, { platform: { os: "linux", architecture: "amd64" } });
  assert.equal(pulled.digest, listDesc.digest, "the ref points at the list");
  assert.equal(pulled.manifestDigest, amd.digest);
  const img = await b.store.resolve(dest);
  assert.equal(img.digest, amd.digest);
  assert.equal(img.manifest.mediaType, MediaType.dockerManifest);
  assert.ok(!(await b.store.hasBlob(armImg.manifest.digest)), "the arm64 manifest was not fetched");
  await assert.rejects(pullImage(b.store, dest, { platform: { os: "linux", architecture: "s390x" } }), /no manifest for linux\/s390x \(has: linux\/arm64\/v8, linux\/amd64\)/);
});

test("a pull while garbage collection runs over and over loses nothing", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  await buildBusyboxImage(a.store);
  const dest = `${registry.host}/keel/gc-race:1`;
  await pushImage(a.store, "busybox", dest);
  let pulling = true;
  const collector = (async () => {
    let runs = 0;
    while (pulling || runs === 0) {
      await collectGarbage(b.store);
      runs++;
      // Back to back, but leaving the lock free a moment, as a real collector would.
      await new Promise((r) => setTimeout(r, 5));
    }
    return runs;
  })();
  try {
    await pullImage(b.store, dest);
  } finally {
    pulling = false;
  }
  assert.ok((await collector) >= 1);
  const img = await b.store.resolve(dest);
  for (const l of img.manifest.layers) assert.ok(await b.store.hasBlob(l.digest));
  assert.equal((await collectGarbage(b.store)).blobsRemoved.length, 0);
  // rm during use: the ref goes, the next collection takes the blobs and the snapshot.
  await b.store.deleteRef(img.name);
  const gc = await collectGarbage(b.store);
  assert.equal(gc.snapshotsRemoved.length, 1);
  assert.ok(gc.blobsRemoved.includes(img.digest));
});

test("HTTPS: a registry's CA from a certs.d directory is trusted; without it the pull fails", async (t) => {
  const tlsDir = join(dir, "tls");
  await mkdir(tlsDir);
  const tls = selfSignedCert(tlsDir);
  const reg = await startRegistry(tlsDir, undefined, tls);
  t.after(() => reg.stop());
  const certs = join(tlsDir, "certs.d");
  await mkdir(join(certs, reg.host), { recursive: true });
  await copyFile(tls.cert, join(certs, reg.host, "ca.crt"));
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  await buildBusyboxImage(a.store);
  const dest = `${reg.host}/keel/tls:1`;
  await pushImage(a.store, "busybox", dest, { certDirs: [certs] });
  const pulled = await pullImage(b.store, dest, { certDirs: [certs] });
  assert.equal(pulled.layers, 1);
  const c = await tempStore();
  t.after(c.cleanup);
  await assert.rejects(pullImage(c.store, dest, { certDirs: [] }), (e: unknown) => e instanceof RegistryError && /not trusted/.test(e.message));
  // --insecure accepts the certificate, as docker's insecure registries do.
  assert.equal((await pullImage(c.store, dest, { certDirs: [], insecure: true })).layers, 1);
});

test("two processes pulling the same image into one store at once both succeed", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  await buildBusyboxImage(a.store);
  const dest = `${registry.host}/keel/two-procs:1`;
  await pushImage(a.store, "busybox", dest);
  const pullJs = fileURLToPath(new URL("../../images/registry/pull.js", import.meta.url));
  const storeJs = fileURLToPath(new URL("../../images/content-store.js", import.meta.url));
  const httpJs = fileURLToPath(new URL("../../images/registry/http.js", import.meta.url));
  const script = `
    const { pullImage } = await import(${JSON.stringify(pullJs)});
    const { ContentStore } = await import(${JSON.stringify(storeJs)});
    const { closeHttpAgents } = await import(${JSON.stringify(httpJs)});
    const store = await ContentStore.open(${JSON.stringify(b.store.root)});
    const r = await pullImage(store, ${JSON.stringify(dest)});
    closeHttpAgents();
    process.stdout.write(r.manifestDigest);
  `;
  const run = () => promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { timeout: 60_000 });
  const [x, y] = await Promise.all([run(), run()]);
  assert.equal(x.stdout, y.stdout);
  const img = await b.store.resolve(dest);
  assert.equal(img.digest, x.stdout);
  assert.deepEqual(await readdir(join(b.store.root, "leases")), [], "both leases were released");
  assert.deepEqual((await readdir(join(b.store.root, "snapshots"))).length, 1);
});
