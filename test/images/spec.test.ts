// Unit tests without root: image-spec validators name the field, references normalize the way
// podman's do, image config merges with user overrides the way podman's does, and the content
// store verifies blobs while writing them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ImageSpecError, validateImageConfig, validateIndex, validateManifest, MediaType } from "../../oci/image-spec.js";
import { normalizeReference, parseReference, localCandidates, localBuildName, familiarName } from "../../images/reference.js";
import { imageConfigToProcess, NoCommandError, resolveUser, withRuntimeEnv } from "../../images/image-config.js";
import { DigestMismatchError, InvalidReferenceError, SizeMismatchError } from "../../images/errors.js";
import { sha256, chainIds } from "../../images/digest.js";
import { selectPlatform } from "../../images/content-store.js";
import { tempDir, tempStore } from "./helpers.js";
import { mkdir, writeFile, rm, symlink } from "node:fs/promises";

const D = (c: string) => `sha256:${c.repeat(64)}`;

test("validators name the offending field", () => {
  const good = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: D("a"), size: 2 }, layers: [] };
  validateManifest(good);
  const cases: [unknown, string][] = [
    [{ ...good, schemaVersion: 1 }, "manifest.schemaVersion"],
    [{ ...good, layers: [{ mediaType: MediaType.ociLayerGzip, digest: "sha256:xyz", size: 1 }] }, "manifest.layers[0].digest"],
    [{ ...good, config: { ...good.config, size: -1 } }, "manifest.config.size"],
    [{ ...good, mediaType: MediaType.ociIndex }, "manifest.mediaType"],
  ];
  for (const [doc, field] of cases)
    assert.throws(() => validateManifest(doc), (e: unknown) => e instanceof ImageSpecError && e.field === field, field);
  assert.throws(
    () => validateIndex({ schemaVersion: 2, manifests: [{ mediaType: MediaType.ociManifest, digest: D("b"), size: 1, platform: { os: "linux" } }] }),
    (e: unknown) => e instanceof ImageSpecError && e.field === "index.manifests[0].platform.architecture",
  );
  const cfg = { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [D("c")] }, config: { Env: ["NOEQUALS"] } };
  assert.throws(() => validateImageConfig(cfg), (e: unknown) => e instanceof ImageSpecError && e.field === "config.config.Env[0]");
  assert.throws(() => validateImageConfig({ ...cfg, config: { ExposedPorts: { http: {} } } }), /ExposedPorts\["http"\]/);
});

test("references normalize like podman's: docker.io/library for short names, registries by a dot, colon or localhost", () => {
  assert.equal(normalizeReference("busybox"), "docker.io/library/busybox:latest");
  assert.equal(normalizeReference("user/app:1.2"), "docker.io/user/app:1.2");
  assert.equal(normalizeReference("quay.io/a/b"), "quay.io/a/b:latest");
  assert.equal(normalizeReference("127.0.0.1:5000/x/y:t"), "127.0.0.1:5000/x/y:t");
  assert.equal(normalizeReference("localhost/busybox"), "localhost/busybox:latest");
  assert.equal(normalizeReference("index.docker.io/library/alpine"), "docker.io/library/alpine:latest");
  const d = D("e");
  assert.deepEqual(parseReference(`busybox@${d}`), { registry: "docker.io", repository: "library/busybox", tag: undefined, digest: d });
  assert.throws(() => parseReference("UPPER/case"), InvalidReferenceError);
  assert.throws(() => parseReference("x@sha256:short"), InvalidReferenceError);
  assert.deepEqual(localCandidates("busybox"), ["docker.io/library/busybox:latest", "localhost/busybox:latest"]);
  assert.deepEqual(localCandidates("quay.io/a:1"), ["quay.io/a:1"]);
  assert.equal(localBuildName("myapp:v1"), "localhost/myapp:v1");
  assert.equal(familiarName("docker.io/library/busybox:latest"), "busybox:latest");
});

test("image config → process, merged the way podman does", () => {
  const config = {
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers" as const, diff_ids: [] },
    config: { Entrypoint: ["/entry"], Cmd: ["--serve"], Env: ["A=1", "PATH=/x"], WorkingDir: "/app", User: "nobody", ExposedPorts: { "80/tcp": {} } },
  };
  const p = imageConfigToProcess(config);
  assert.deepEqual(p.args, ["/entry", "--serve"]);
  assert.deepEqual(p.env, ["A=1", "PATH=/x"]);
  assert.equal(p.cwd, "/app");
  assert.equal(p.user, "nobody");
  assert.deepEqual(p.exposedPorts, ["80/tcp"]);
  assert.deepEqual(imageConfigToProcess(config, { command: ["--debug"] }).args, ["/entry", "--debug"], "a command replaces Cmd");
  assert.deepEqual(imageConfigToProcess(config, { entrypoint: ["/bin/sh"] }).args, ["/bin/sh"], "--entrypoint drops the image's Cmd");
  assert.deepEqual(imageConfigToProcess(config, { entrypoint: [], command: ["ls"] }).args, ["ls"]);
  const o = imageConfigToProcess(config, { env: ["A=2", "B", "C=3"], hostEnv: { B: "from-host" }, workdir: "/tmp", user: "0:0" });
  assert.deepEqual(o.env, ["A=2", "PATH=/x", "B=from-host", "C=3"]);
  assert.equal(o.cwd, "/tmp");
  assert.equal(o.user, "0:0");
  const bare = { ...config, config: {} };
  assert.throws(() => imageConfigToProcess(bare), NoCommandError);
  assert.ok(imageConfigToProcess(bare, { command: ["true"] }).env[0]!.startsWith("PATH=/usr/local/sbin"), "a default PATH");
});

test("users resolve against the rootfs's /etc/passwd and /etc/group, inside the root", async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, "etc"));
  await writeFile(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
  await writeFile(join(dir, "etc/group"), "root:x:0:\napp:x:1000:\nwheel:x:10:app\n");
  assert.deepEqual(resolveUser(dir, "app"), { uid: 1000, gid: 1000, additionalGids: [10], home: "/home/app" });
  assert.deepEqual(resolveUser(dir, "app:wheel"), { uid: 1000, gid: 10, additionalGids: [], home: "/home/app" });
  assert.deepEqual(resolveUser(dir, "4242"), { uid: 4242, gid: 0, additionalGids: [], home: "/" });
  assert.deepEqual(withRuntimeEnv(["PATH=/bin", "HOME=/x"], { home: "/root", hostname: "h", tty: true }), ["PATH=/bin", "HOME=/x", "HOSTNAME=h", "container=keel", "TERM=xterm"]);
  assert.throws(() => resolveUser(dir, "ghost"), /ghost/);
  // A symlinked /etc/passwd pointing at the host's file is resolved inside the root.
  const other = await tempDir();
  t.after(() => rm(other, { recursive: true, force: true }));
  await mkdir(join(other, "etc"));
  await symlink("/etc/../../etc/passwd-missing", join(other, "etc/passwd"));
  assert.throws(() => resolveUser(other, "root"), /root/);
});

test("blobs are verified while written: a wrong digest or size keeps nothing", async (t) => {
  const { store, cleanup } = await tempStore();
  t.after(cleanup);
  const data = Buffer.from("hello blobs");
  const good = await store.writeBlob(Readable.from([data]), { digest: sha256(data), size: data.length });
  assert.equal(good.digest, sha256(data));
  assert.deepEqual(await store.readBlob(good.digest), data);
  const other = Buffer.from("other bytes");
  await assert.rejects(store.writeBlob(Readable.from([other]), { digest: sha256("not these"), size: other.length }), DigestMismatchError);
  await assert.rejects(store.writeBlob(Readable.from([other]), { digest: sha256(other), size: 3 }), SizeMismatchError);
  assert.equal(await store.hasBlob(sha256("not these")), false);
  assert.equal(await store.hasBlob(sha256(other)), false);
  assert.deepEqual(await readdir(join(store.root, "ingest")), []);
  // Concurrent writers of the same content both succeed.
  const big = Buffer.alloc(1 << 20, 7);
  const rs = await Promise.all([1, 2, 3].map(() => store.writeBlob(Readable.from([big]), { digest: sha256(big), size: big.length })));
  assert.ok(rs.every((r) => r.digest === sha256(big)));
});

test("chain ids and platform selection follow the spec", () => {
  const [a, b] = [D("1"), D("2")];
  assert.deepEqual(chainIds([a, b]), [a, sha256(`${a} ${b}`)]);
  const index = {
    schemaVersion: 2 as const,
    manifests: [
      { mediaType: MediaType.ociManifest, digest: D("3"), size: 1, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { mediaType: MediaType.ociManifest, digest: D("4"), size: 1, platform: { os: "linux", architecture: "amd64" } },
    ],
  };
  assert.equal(selectPlatform(index, { os: "linux", architecture: "amd64" })?.digest, D("4"));
  assert.equal(selectPlatform(index, { os: "linux", architecture: "arm64" })?.digest, D("3"));
  assert.equal(selectPlatform(index, { os: "windows", architecture: "amd64" }), undefined);
});

test("registry auth pieces: challenges, docker config.json credentials, loopback detection", async (t) => {
  const { parseChallenge, credentialsFor } = await import("../../images/registry/auth.js");
  const { isLoopbackHost } = await import("../../images/registry/client.js");
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
    scheme: "bearer",
    params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" },
  });
  assert.deepEqual(parseChallenge('Basic realm="x"'), { scheme: "basic", params: { realm: "x" } });
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cfg = join(dir, "config.json");
  await writeFile(
    cfg,
    JSON.stringify({
      auths: {
        "https://index.docker.io/v1/": { auth: Buffer.from("hub:pw").toString("base64") },
        "reg.example:5000": { username: "u", password: "p:with:colons" },
      },
    }),
  );
  assert.deepEqual(credentialsFor("docker.io", [cfg]), { username: "hub", password: "pw" });
  assert.deepEqual(credentialsFor("reg.example:5000", [cfg]), { username: "u", password: "p:with:colons" });
  assert.equal(credentialsFor("other.example", [cfg]), undefined);
  for (const h of ["127.0.0.1:5000", "127.3.4.5", "localhost:80", "[::1]:5000"]) assert.ok(isLoopbackHost(h), h);
  for (const h of ["10.0.0.1:5000", "registry.example", "localhost.example"]) assert.ok(!isLoopbackHost(h), h);
});
