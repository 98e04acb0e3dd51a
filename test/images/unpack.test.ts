// Layer unpack: what a layer holds comes out right (files, dirs, symlinks, hard links, devices,
// fifos, modes, owners, mtimes; gzip, zstd and plain tar), and hostile layers are refused with a
// HostileLayerError while nothing outside the layer directory changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, lstat, readlink, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { unpackLayer, symlinkStaysInside } from "../../images/unpack.js";
import { HostileLayerError } from "../../images/errors.js";
import { sha256 } from "../../images/digest.js";
import { rawTar, tempDir, type RawEntry } from "./helpers.js";

async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    out.push(rel);
    if (e.isDirectory()) out.push(...(await tree(dir, rel)));
  }
  return out;
}

test("a layer's entries come out with their types, modes, owners and times", async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const layer = join(dir, "layer");
  await mkdir(layer);
  const mtime = new Date("2020-01-02T03:04:05Z");
  const tar = await rawTar([
    { name: "etc/", type: "directory", mode: 0o755, mtime },
    { name: "etc/hello", data: "hi\n", mode: 0o640, uid: 1000, gid: 1001, mtime },
    { name: "etc/hello-link", type: "link", linkname: "etc/hello" },
    { name: "bin/sh", type: "symlink", linkname: "/bin/busybox", mtime },
    { name: "usr/bin/suid", data: "x", mode: 0o4755, uid: 0, gid: 0 },
    { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
    { name: "run/fifo", type: "fifo", mode: 0o600 },
    { name: "tmp/", type: "directory", mode: 0o1777 },
  ]);
  const res = await unpackLayer(Readable.from([gzipSync(tar)]), layer);
  assert.equal(res.diffId, sha256(tar));
  assert.equal(res.compression, "gzip");
  assert.equal(await readFile(join(layer, "etc/hello"), "utf8"), "hi\n");
  const st = await stat(join(layer, "etc/hello"));
  assert.equal(st.mode & 0o7777, 0o640);
  assert.equal(st.uid, 1000);
  assert.equal(st.gid, 1001);
  assert.equal(st.mtime.getTime(), mtime.getTime());
  assert.equal(st.nlink, 2, "hard link shares the inode");
  assert.equal((await stat(join(layer, "etc/hello-link"))).ino, st.ino);
  assert.equal(await readlink(join(layer, "bin/sh")), "/bin/busybox");
  assert.equal((await stat(join(layer, "usr/bin/suid"))).mode & 0o7777, 0o4755);
  const dev = await lstat(join(layer, "dev/null"));
  assert.ok(dev.isCharacterDevice());
  assert.equal(dev.rdev, (1 << 8) | 3);
  assert.ok((await lstat(join(layer, "run/fifo"))).isFIFO());
  assert.equal((await stat(join(layer, "tmp"))).mode & 0o7777, 0o1777);
  assert.equal((await stat(join(layer, "etc"))).mtime.getTime(), mtime.getTime(), "directory times are set after their children");
});

test("zstd and plain tar layers unpack too", async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tar = await rawTar([{ name: "a/b.txt", data: "zstd!" }]);
  const zst = execFileSync("zstd", ["-q", "-c"], { input: tar });
  for (const [name, bytes, kind] of [["z", zst, "zstd"], ["p", tar, "none"]] as const) {
    await mkdir(join(dir, name));
    const res = await unpackLayer(Readable.from([bytes]), join(dir, name));
    assert.equal(res.compression, kind);
    assert.equal(res.diffId, sha256(tar));
    assert.equal(await readFile(join(dir, name, "a/b.txt"), "utf8"), "zstd!");
  }
});

test("symlink targets are judged from the link's place: only climbing out of the root escapes", () => {
  assert.ok(symlinkStaysInside(["bin", "sh"], "/bin/busybox"));
  assert.ok(symlinkStaysInside(["a", "b", "c"], "../../x"));
  assert.ok(!symlinkStaysInside(["a", "b"], "../../x"));
  assert.ok(!symlinkStaysInside(["x"], "/../../etc"));
});

interface HostileCase {
  what: string;
  entries: RawEntry[];
  lower?: RawEntry[];
}

const hostile: HostileCase[] = [
  { what: '".." in a name', entries: [{ name: "../evil", data: "x" }] },
  { what: '".." in the middle of a name', entries: [{ name: "a/../../evil", data: "x" }] },
  { what: "a relative symlink that escapes", entries: [{ name: "esc", type: "symlink", linkname: "../../../../evil" }] },
  { what: "an absolute symlink that climbs out", entries: [{ name: "esc", type: "symlink", linkname: "/../../evil" }] },
  {
    what: "writing through an absolute symlink planted earlier in the same layer",
    entries: [
      { name: "link", type: "symlink", linkname: "/" },
      { name: "link/evil", data: "x" },
    ],
  },
  {
    what: "writing through a relative symlink to the parent, planted in the same layer",
    entries: [
      { name: "sub/", type: "directory" },
      { name: "sub/up", type: "symlink", linkname: ".." },
      { name: "sub/up/evil", data: "x" },
    ],
  },
  { what: "a hard link to outside", entries: [{ name: "hl", type: "link", linkname: "../../etc/passwd" }] },
  { what: "a hard link to an absolute host path", entries: [{ name: "hl", type: "link", linkname: "/etc/passwd" }] },
  {
    what: "writing through a symlink planted in a lower layer",
    lower: [{ name: "lnk", type: "symlink", linkname: "/etc" }],
    entries: [{ name: "lnk/evil", data: "x" }],
  },
  {
    what: "a hard link through a symlink",
    entries: [
      { name: "l", type: "symlink", linkname: "/etc" },
      { name: "hl", type: "link", linkname: "l/passwd" },
    ],
  },
];

for (const c of hostile) {
  test(`hostile layer refused: ${c.what}`, async (t) => {
    const dir = await tempDir();
    t.after(() => rm(dir, { recursive: true, force: true }));
    const sandbox = join(dir, "sandbox");
    const layer = join(sandbox, "a", "b", "layer");
    await mkdir(layer, { recursive: true });
    const lowers: string[] = [];
    if (c.lower) {
      const lower = join(dir, "lower");
      await mkdir(lower);
      await unpackLayer(Readable.from([await rawTar(c.lower)]), lower);
      lowers.push(lower);
    }
    const before = await tree(dir);
    await assert.rejects(unpackLayer(Readable.from([await rawTar(c.entries)]), layer, { lowerDirs: lowers }), (e: unknown) => {
      assert.ok(e instanceof HostileLayerError, `a HostileLayerError, not ${String(e)}`);
      assert.equal(e.code, "EHOSTILELAYER");
      t.diagnostic(e.message);
      return true;
    });
    // Nothing outside the layer directory changed: the tree around it is as it was.
    const after = (await tree(dir)).filter((p) => !p.startsWith("sandbox/a/b/layer/"));
    assert.deepEqual(after, before);
    await assert.rejects(stat("/evil"));
  });
}

test("xattrs from the tar (pax SCHILY.xattr) are applied; overlay's own are not taken from a layer", async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tar = await rawTar([
    { name: "f", data: "x", pax: { "SCHILY.xattr.user.keel": "hello", "SCHILY.xattr.trusted.overlay.opaque": "y" } },
  ]);
  await unpackLayer(Readable.from([tar]), dir);
  const out = execFileSync("getfattr", ["-d", "-m", "-", "--absolute-names", join(dir, "f")], { encoding: "utf8" });
  assert.match(out, /user\.keel="hello"/);
  assert.doesNotMatch(out, /trusted\.overlay/);
});

test("a directory declared in this layer replaces a lower layer's symlink, so writing under it is fine", async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, "lower"));
  await mkdir(join(dir, "upper"));
  await unpackLayer(Readable.from([await rawTar([{ name: "lnk", type: "symlink", linkname: "/etc" }])]), join(dir, "lower"));
  const upper = await rawTar([
    { name: "lnk/", type: "directory", mode: 0o755 },
    { name: "lnk/file", data: "inside" },
    { name: ".wh..wh.plnk/", type: "directory" },
    { name: ".wh..wh.plnk/123.456", data: "aufs hard link" },
  ]);
  await unpackLayer(Readable.from([upper]), join(dir, "upper"), { lowerDirs: [join(dir, "lower")] });
  assert.equal(await readFile(join(dir, "upper/lnk/file"), "utf8"), "inside");
  assert.deepEqual((await readdir(join(dir, "upper"))).sort(), ["lnk"], "aufs metadata is not content");
});
