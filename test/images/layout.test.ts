// Import → export round trips: OCI layout directories, OCI archives and `docker save` archives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { buildBusyboxImage } from "../../images/build-busybox.js";
import { exportOciArchive, exportOciLayout, importImage } from "../../images/layout.js";
import { validateIndex, validateManifest } from "../../oci/image-spec.js";
import { DigestMismatchError, ArchiveFormatError } from "../../images/errors.js";
import { rawTar, tempStore } from "./helpers.js";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

test("export writes a valid OCI layout; importing it into another store gives the same image", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  const built = await buildBusyboxImage(a.store);
  const out = join(a.root, "layout");
  await exportOciLayout(a.store, ["busybox"], out);
  assert.deepEqual(JSON.parse(await readFile(join(out, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
  validateIndex(index);
  assert.equal(index.manifests[0].digest, built.digest);
  assert.equal(index.manifests[0].annotations?.["org.opencontainers.image.ref.name"], "latest");
  // Every blob is present and hashes to its name.
  for (const hex of await readdir(join(out, "blobs", "sha256")))
    assert.equal(createHash("sha256").update(await readFile(join(out, "blobs", "sha256", hex))).digest("hex"), hex);
  validateManifest(JSON.parse(await readFile(join(out, "blobs", "sha256", built.digest.slice(7)), "utf8")));
  const imported = await importImage(b.store, out);
  assert.deepEqual(imported.map((i) => [i.name, i.digest]), [["localhost/busybox:latest", built.digest]]);
  assert.equal((await b.store.resolve("busybox")).digest, built.digest);
});

test("OCI archive round trip: export to a tar, import it, export again: identical bytes", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  const built = await buildBusyboxImage(a.store);
  const tar1 = join(a.root, "one.tar");
  const tar2 = join(b.root, "two.tar");
  await exportOciArchive(a.store, ["busybox"], tar1);
  await importImage(b.store, tar1);
  await exportOciArchive(b.store, ["localhost/busybox:latest"], tar2);
  assert.deepEqual(await readFile(tar1), await readFile(tar2));
  assert.equal((await b.store.resolve("busybox")).digest, built.digest);
});

test("busybox builds reproducibly: two stores, one digest", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  assert.equal((await buildBusyboxImage(a.store)).digest, (await buildBusyboxImage(b.store)).digest);
});

test("a docker save archive imports: a layer listed twice through a symlink is stored once", async (t) => {
  const s = await tempStore();
  t.after(s.cleanup);
  const layer = await rawTar([{ name: "hello", data: "hi", mode: 0o755 }]);
  const diffId = `sha256:${createHash("sha256").update(layer).digest("hex")}`;
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/hello"] }, rootfs: { type: "layers", diff_ids: [diffId, diffId] } }),
  );
  const cfgHex = createHash("sha256").update(config).digest("hex");
  const file = join(s.root, "saved.tar");
  await writeFile(
    file,
    await rawTar([
      { name: "manifest.json", data: JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: ["keel-test/twice:v1"], Layers: ["abc/layer.tar", "def/layer.tar"] }]) },
      { name: `${cfgHex}.json`, data: config },
      { name: "abc/", type: "directory" },
      { name: "abc/layer.tar", data: layer },
      { name: "def/", type: "directory" },
      { name: "def/layer.tar", type: "symlink", linkname: "../abc/layer.tar" },
      { name: "repositories", data: "{}" },
    ]),
  );
  const [img] = await importImage(s.store, file);
  assert.equal(img.name, "docker.io/keel-test/twice:v1");
  const r = await s.store.resolve("keel-test/twice:v1");
  assert.deepEqual(r.manifest.layers.map((l) => l.digest), [diffId, diffId]);
});

test("a docker save archive whose config and layers disagree is refused, naming the field", async (t) => {
  const s = await tempStore();
  t.after(s.cleanup);
  const layer = await rawTar([{ name: "hello", data: "hi" }]);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const cfgHex = createHash("sha256").update(config).digest("hex");
  const file = join(s.root, "bad.tar");
  await writeFile(
    file,
    await rawTar([
      { name: "manifest.json", data: JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: ["keel-test/bad:v1"], Layers: ["abc/layer.tar"] }]) },
      { name: `${cfgHex}.json`, data: config },
      { name: "abc/layer.tar", data: layer },
    ]),
  );
  await assert.rejects(importImage(s.store, file), /rootfs\.diff_ids/);
  assert.deepEqual(await s.store.listRefs(), []);
});

test("a docker save archive with one layer imports and resolves", async (t) => {
  const s = await tempStore();
  t.after(s.cleanup);
  const layer = await rawTar([{ name: "hello", data: "hi", mode: 0o755 }]);
  const diffId = `sha256:${createHash("sha256").update(layer).digest("hex")}`;
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/hello"] }, rootfs: { type: "layers", diff_ids: [diffId] } }));
  const cfgHex = createHash("sha256").update(config).digest("hex");
  const file = join(s.root, "one.tar");
  await writeFile(
    file,
    await rawTar([
      { name: "manifest.json", data: JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: ["keel-test/saved:v1"], Layers: ["abc/layer.tar"] }]) },
      { name: `${cfgHex}.json`, data: config },
      { name: "abc/layer.tar", data: layer },
    ]),
  );
  const [img] = await importImage(s.store, file);
  assert.equal(img.name, "docker.io/keel-test/saved:v1");
  const r = await s.store.resolve("keel-test/saved:v1");
  assert.equal(r.configDigest, `sha256:${cfgHex}`, "the image id other tools know is kept");
  assert.equal(r.manifest.layers[0].digest, diffId);
  assert.deepEqual(r.config.config?.Cmd, ["/hello"]);
});

test("an OCI layout whose blob does not match its digest imports nothing", async (t) => {
  const a = await tempStore();
  const b = await tempStore();
  t.after(a.cleanup);
  t.after(b.cleanup);
  const built = await buildBusyboxImage(a.store);
  const out = join(a.root, "layout");
  await exportOciLayout(a.store, ["busybox"], out);
  const man = JSON.parse(await readFile(join(out, "blobs", "sha256", built.digest.slice(7)), "utf8"));
  const layerFile = join(out, "blobs", "sha256", man.layers[0].digest.slice(7));
  const bytes = await readFile(layerFile);
  bytes[bytes.length - 5] ^= 0xff;
  await writeFile(layerFile, bytes);
  await assert.rejects(importImage(b.store, out), DigestMismatchError);
  assert.deepEqual(await b.store.listRefs(), []);
  assert.ok(!(await b.store.hasBlob(man.layers[0].digest)), "the bad blob was not kept");
  assert.deepEqual(await readdir(join(b.store.root, "ingest")), []);
});

test("an archive that is neither OCI nor docker save is refused with ArchiveFormatError", async (t) => {
  const s = await tempStore();
  t.after(s.cleanup);
  const file = join(s.root, "junk.tar");
  await mkdir(join(s.root, "x"));
  await writeFile(file, await rawTar([{ name: "hello.txt", data: "hi" }]));
  await assert.rejects(importImage(s.store, file), ArchiveFormatError);
  await rm(file);
});

test("another OCI tool reads the export: umoci unpacks it to the same files", { skip: existsSync("/usr/bin/umoci") ? false : "umoci is not installed" }, async (t) => {
  const a = await tempStore();
  t.after(a.cleanup);
  await buildBusyboxImage(a.store);
  const out = join(a.root, "layout");
  await exportOciLayout(a.store, ["busybox"], out);
  const bundle = join(a.root, "bundle");
  execFileSync("umoci", ["unpack", "--image", `${out}:latest`, bundle], { stdio: "pipe" });
  const rootfs = join(bundle, "rootfs");
  assert.match(await readFile(join(rootfs, "etc/passwd"), "utf8"), /^root:x:0:0:root:\/root:\/bin\/sh\nnobody:x:65534:/);
  assert.match(await readFile(join(rootfs, "etc/group"), "utf8"), /^root:x:0:/);
  const bins = await readdir(join(rootfs, "bin"));
  assert.ok(bins.includes("busybox") && bins.includes("sh"));
  const cfg = JSON.parse(await readFile(join(bundle, "config.json"), "utf8"));
  assert.deepEqual(cfg.process.args, ["sh"], "umoci turned our image config into the same process");
});
