// FileLock (the image store's GC lock, IPAM's, host ports'): shared holders run together on one
// hold of the lock directory, an exclusive one runs alone, and one queued holds back the shared
// ones behind it; in-process exclusive waiters queue rather than poll.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLock } from "../../lib/file-lock.js";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test("shared holders overlap, hold the lock directory while any runs, and an exclusive one runs alone", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keel-file-lock-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "gc.lock");
  const lock = FileLock.for(path);
  assert.equal(FileLock.for(path), lock, "one lock per path in a process");
  const log: string[] = [];
  let inShared = 0, maxShared = 0;
  const shared = (name: string, ms: number) => lock.shared(async () => {
    inShared++; maxShared = Math.max(maxShared, inShared);
    assert.ok(existsSync(`${path}.lock`), "the lock directory is held by the shared holders");
    log.push(`+${name}`);
    await tick(ms);
    log.push(`-${name}`);
    inShared--;
  });
  const a = shared("a", 30), b = shared("b", 30);
  await tick(1);
  const gc = lock.exclusive(async () => {
    assert.equal(inShared, 0, "no lease write during a collection");
    log.push("+gc");
    await tick(10);
    log.push("-gc");
  });
  await tick(1);
  const c = shared("c", 5); // queued behind the collection
  await Promise.all([a, b, gc, c]);
  assert.equal(maxShared, 2);
  assert.ok(log.indexOf("+gc") > log.indexOf("-a") && log.indexOf("+gc") > log.indexOf("-b"), log.join(" "));
  assert.ok(log.indexOf("+c") > log.indexOf("-gc"), `a lease write queued after a collection waits for it: ${log.join(" ")}`);
  assert.ok(!existsSync(`${path}.lock`), "released when nobody holds it");
});

test("a holder's failure releases the lock for the next", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keel-file-lock-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lock = FileLock.for(join(dir, "gc.lock"));
  await assert.rejects(lock.shared(async () => { throw new Error("boom"); }), /boom/);
  await assert.rejects(lock.exclusive(async () => { throw new Error("bang"); }), /bang/);
  assert.equal(await lock.exclusive(async () => 7), 7);
  assert.equal(await lock.shared(async () => 8), 8);
});

test("exclusive holders queued in one process pass the lock directory on without releasing it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keel-file-lock-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "ipam");
  const lock = FileLock.for(path);
  const inodes: number[] = [];
  await Promise.all([1, 2, 3].map(() => lock.exclusive(async () => {
    inodes.push(statSync(`${path}.lock`).ino);
    await tick(2);
  })));
  assert.equal(new Set(inodes).size, 1, "one lock directory for the three");
  assert.ok(!existsSync(`${path}.lock`), "released after the last");
});
