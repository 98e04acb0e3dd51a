// The spawn entry of the addon, without a rootfs: namespaces, exit codes, typed child errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native, CLONE, NativeError, type CloneMode } from "../../native/index.js";

async function run(mode: CloneMode, args: string[], extra: Partial<Parameters<typeof native.spawn>[0]> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "keel-test-"));
  const out = join(dir, "out");
  const { openSync, closeSync } = await import("node:fs");
  const fd = openSync(out, "w");
  try {
    const child = await native.spawn({ mode, cloneFlags: 0, args, env: ["PATH=/usr/bin:/bin"], stdio: [-1, fd, fd], ...extra });
    await child.exec;
    const status = await native.waitPidfd(child.pidfd);
    return { status, output: readFileSync(out, "utf8") };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const mode of ["fork", "vm"] as const) {
  test(`${mode}: a new pid and uts namespace: pid 1 and its own hostname`, async () => {
    const r = await run(mode, ["/bin/sh", "-c", "echo $$ $(hostname)"], { cloneFlags: CLONE.NEWPID | CLONE.NEWUTS, hostname: "keel-box" });
    assert.deepEqual(r.status, { exitCode: 0, signal: null });
    assert.equal(r.output.trim(), "1 keel-box");
  });

  test(`${mode}: exit codes and signals come back`, async () => {
    assert.equal((await run(mode, ["/bin/sh", "-c", "exit 7"])).status.exitCode, 7);
    const killed = await run(mode, ["/bin/sh", "-c", "kill -9 $$"]);
    assert.deepEqual(killed.status, { exitCode: null, signal: 9 });
  });

  test(`${mode}: a missing executable fails the spawn itself, typed, naming the step and path`, async () => {
    await assert.rejects(native.spawn({ mode, cloneFlags: 0, args: ["/no/such/binary"], env: [] }), (e: unknown) => {
      assert.ok(e instanceof NativeError);
      assert.equal(e.code, "ENOENT");
      assert.equal(e.step, "exec");
      assert.equal(e.syscall, "execve");
      assert.equal(e.path, "/no/such/binary");
      return true;
    });
  });

  test(`${mode}: the executable is found on the container's PATH`, async () => {
    const r = await run(mode, ["sh", "-c", "echo found"], { env: ["PATH=/nonexistent:/bin"] });
    assert.equal(r.output, "found\n");
    await assert.rejects(native.spawn({ mode, cloneFlags: 0, args: ["sh"], env: ["PATH=/nonexistent"] }), /ENOENT.*execve 'sh'/);
  });

  test(`${mode}: a failing set-up step rejects spawn itself`, async () => {
    await assert.rejects(native.spawn({ mode, cloneFlags: 0, cwd: "/no/such/dir", args: ["/bin/true"], env: [] }), (e: unknown) => {
      assert.ok(e instanceof NativeError);
      assert.equal(e.step, "cwd");
      assert.equal(e.code, "ENOENT");
      assert.equal(e.path, "/no/such/dir");
      return true;
    });
  });
}

test("a malformed plan is a TypeError naming the field", () => {
  assert.throws(() => native.spawn({ cloneFlags: 0, args: [], env: [] }), /args/);
  assert.throws(() => native.spawn({ cloneFlags: 0, args: ["/bin/true"], env: [], hostname: 5 as unknown as string }), /hostname/);
});
