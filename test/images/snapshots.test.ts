// Snapshots through a real overlay mount (the test runs in a private mount namespace): whiteouts
// and opaque directories of an upper layer give the tree other engines give; many layers mount;
// a refused layer leaves no snapshot; everything mounted is unmounted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile, stat } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { commitImage } from "../../images/layer-writer.js";
import { prepareRootfs, releaseRootfs } from "../../images/snapshots.js";
import { collectGarbage } from "../../images/gc.js";
import { HostileLayerError } from "../../images/errors.js";
import { rawTar, tempStore } from "./helpers.js";
import { exportOciLayout } from "../../images/layout.js";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, readlink } from "node:fs/promises";

/** path → what it is (file content, link target, dir), for comparing trees. */
async function describe(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, p));
    if (st.isDirectory()) out.push(`${p}/ ${(st.mode & 0o7777).toString(8)}`, ...(await describe(root, p)));
    else if (st.isSymbolicLink()) out.push(`${p} -> ${await readlink(join(root, p))}`);
    else out.push(`${p} ${(st.mode & 0o7777).toString(8)} ${await readFile(join(root, p), "utf8")}`);
  }
  return out;
}

const mounted = (path: string): boolean => readFileSync("/proc/self/mountinfo", "utf8").includes(` ${path} `);

test("a deleted file and an opaque directory in an upper layer, seen through overlay", async (t) => {
  const { store, cleanup } = await tempStore();
  t.after(cleanup);
  const lower = await rawTar([
    { name: "f", data: "gone soon" },
    { name: "keep", data: "kept" },
    { name: "a/", type: "directory", mode: 0o755 },
    { name: "a/x", data: "x" },
    { name: "a/y", data: "y" },
    { name: "o/", type: "directory", mode: 0o755 },
    { name: "o/old", data: "old" },
    { name: "o/sub/", type: "directory", mode: 0o755 },
    { name: "o/sub/deep", data: "deep" },
  ]);
  const upper = await rawTar([
    { name: ".wh.f", data: "" },
    { name: "a/.wh.x", data: "" },
    { name: "o/", type: "directory", mode: 0o755 },
    { name: "o/.wh..wh..opq", data: "" },
    { name: "o/new", data: "new" },
  ]);
  const { manifest } = await commitImage(store, { layers: [{ tar: lower }, { tar: upper }], config: { Cmd: ["sh"] } });
  await store.setRef("keel-test/whiteouts", manifest);
  const root = await prepareRootfs(store, "keel-test/whiteouts", "keel-wh-1");
  t.after(() => root.cleanup());
  assert.ok(mounted(root.rootfs));
  assert.deepEqual((await readdir(root.rootfs)).sort(), ["a", "keep", "o"]);
  assert.deepEqual(await readdir(join(root.rootfs, "a")), ["y"]);
  assert.deepEqual(await readdir(join(root.rootfs, "o")), ["new"]);
  assert.equal(await readFile(join(root.rootfs, "keep"), "utf8"), "kept");
  // The container writes to its own upper directory only.
  await writeFile(join(root.rootfs, "keep"), "changed");
  const again = await prepareRootfs(store, "keel-test/whiteouts", "keel-wh-2");
  t.after(() => again.cleanup());
  assert.equal(await readFile(join(again.rootfs, "keep"), "utf8"), "kept");
  const ro = await prepareRootfs(store, "keel-test/whiteouts", "keel-wh-ro", { readonly: true });
  t.after(() => ro.cleanup());
  assert.deepEqual((await readdir(ro.rootfs)).sort(), ["a", "keep", "o"]);
  await assert.rejects(writeFile(join(ro.rootfs, "keep"), "x"), /EROFS/);
  await ro.cleanup();
  await root.cleanup();
  await again.cleanup();
  assert.ok(!mounted(root.rootfs) && !mounted(again.rootfs) && !mounted(ro.rootfs));
  await assert.rejects(stat(root.rootfs));
});

test("an image of 150 layers mounts (short relative lowerdir names)", async (t) => {
  const { store, cleanup } = await tempStore();
  t.after(cleanup);
  const layers = [];
  for (let i = 0; i < 150; i++) layers.push({ tar: await rawTar([{ name: `layer-${String(i).padStart(3, "0")}`, data: String(i) }]) });
  const { manifest } = await commitImage(store, { layers, config: { Cmd: ["sh"] } });
  await store.setRef("keel-test/many", manifest);
  const root = await prepareRootfs(store, "keel-test/many", "keel-many");
  t.after(() => releaseRootfs(store, "keel-many"));
  const names = await readdir(root.rootfs);
  assert.equal(names.length, 150);
  assert.equal(await readFile(join(root.rootfs, "layer-149"), "utf8"), "149");
  await root.cleanup();
});

test("a hostile layer in an image: preparing fails typed and leaves no snapshot or mount", async (t) => {
  const { store, cleanup } = await tempStore();
  t.after(cleanup);
  const bad = await rawTar([
    { name: "l", type: "symlink", linkname: "/" },
    { name: "l/tmp/keel-evil", data: "x" },
  ]);
  const { manifest } = await commitImage(store, { layers: [{ tar: bad }], config: { Cmd: ["sh"] } });
  await store.setRef("keel-test/bad", manifest);
  await assert.rejects(prepareRootfs(store, "keel-test/bad", "keel-bad"), HostileLayerError);
  assert.deepEqual(await readdir(join(store.root, "snapshots")), []);
  assert.deepEqual(await readdir(join(store.root, "active")), []);
  await assert.rejects(stat("/tmp/keel-evil"));
});

test("GC keeps what refs and prepared containers use, removes the rest", async (t) => {
  const { store, cleanup } = await tempStore();
  t.after(cleanup);
  const a = await commitImage(store, { layers: [{ tar: await rawTar([{ name: "a", data: "a" }]) }], config: { Cmd: ["sh"] } });
  const b = await commitImage(store, { layers: [{ tar: await rawTar([{ name: "b", data: "b" }]) }], config: { Cmd: ["sh"] } });
  await store.setRef("keel-test/a", a.manifest);
  await store.setRef("keel-test/b", b.manifest);
  const rootB = await prepareRootfs(store, "keel-test/b", "keel-gc-b");
  t.after(() => rootB.cleanup());
  await prepareRootfs(store, "keel-test/a", "keel-gc-a").then((r) => r.cleanup());
  const stray = await store.writeBlob(Buffer.from("nobody needs me"));
  // Removing b's ref: its container still holds its snapshot, not its blobs.
  await store.deleteRef("docker.io/keel-test/b:latest");
  const gc1 = await collectGarbage(store);
  assert.ok(gc1.blobsRemoved.includes(stray.digest));
  assert.ok(gc1.blobsRemoved.includes(b.manifest.digest));
  assert.ok(!gc1.blobsRemoved.includes(a.manifest.digest));
  assert.equal(gc1.snapshotsRemoved.length, 0, "a's snapshot is referenced, b's is in use");
  assert.ok(await store.hasBlob(a.manifest.digest));
  assert.deepEqual((await store.resolve("keel-test/a")).digest, a.manifest.digest);
  await rootB.cleanup();
  const gc2 = await collectGarbage(store);
  assert.equal(gc2.snapshotsRemoved.length, 1, "b's snapshot goes once its container is gone");
  assert.ok((await readdir(join(store.root, "snapshots"))).length === 1);
});

test("overlay stacking gives the tree another engine (umoci) gives for the same layers", { skip: existsSync("/usr/bin/umoci") ? false : "umoci is not installed" }, async (t) => {
  const { store, root, cleanup } = await tempStore();
  t.after(cleanup);
  const layers = [
    await rawTar([
      { name: "etc/", type: "directory", mode: 0o755 },
      { name: "etc/a", data: "a1" },
      { name: "etc/b", data: "b1" },
      { name: "var/", type: "directory", mode: 0o755 },
      { name: "var/cache/", type: "directory", mode: 0o755 },
      { name: "var/cache/x", data: "x" },
      { name: "lnk", type: "symlink", linkname: "etc/a" },
    ]),
    await rawTar([
      { name: "etc/.wh.a", data: "" },
      { name: "etc/b", data: "b2", mode: 0o600 },
      { name: "var/cache/", type: "directory", mode: 0o700 },
      { name: "var/cache/.wh..wh..opq", data: "" },
      { name: "var/cache/y", data: "y" },
      { name: ".wh.lnk", data: "" },
    ]),
    await rawTar([
      { name: "etc/a", data: "a3" },
      { name: "var/.wh.cache", data: "" },
      { name: "var/cache", type: "symlink", linkname: "/tmp" },
    ]),
  ];
  const { manifest } = await commitImage(store, { layers: layers.map((tar) => ({ tar })), config: { Cmd: ["sh"] } });
  await store.setRef("keel-test/compare", manifest);
  const ours = await prepareRootfs(store, "keel-test/compare", "keel-compare");
  t.after(() => ours.cleanup());
  const layout = join(root, "layout");
  await exportOciLayout(store, ["keel-test/compare"], layout);
  const bundle = join(root, "umoci-bundle");
  execFileSync("umoci", ["unpack", "--image", `${layout}:latest`, bundle], { stdio: "pipe" });
  assert.deepEqual(await describe(ours.rootfs), await describe(join(bundle, "rootfs")));
  await ours.cleanup();
});
