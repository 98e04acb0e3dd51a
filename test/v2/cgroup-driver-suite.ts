// The behaviour every cgroup driver must have, checked for real against the kernel: the v1
// driver on this machine (test/runtime/cgroups-v1.test.ts) and the v2 driver inside the pure
// cgroup-v2 VM (test/v2/cgroups-v2.test.ts) run this same suite. Each test makes its own
// cgroup under a per-run "keel-test-*" parent and removes it, also on failure.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CgroupError, CgroupPathError, CgroupUnsupportedError, type CgroupDriver } from "../../runtime/cgroups/index.js";

/** A shell that waits for a line on stdin before running `script`, so it can be put in a cgroup first. */
export interface Workload {
  child: ChildProcess;
  pid: number;
  go(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startWorkload(script: string): Workload {
  const child = spawn("/bin/sh", ["-c", `read go; ${script}`], { stdio: ["pipe", "ignore", "ignore"] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return { child, pid: child.pid!, go: () => child.stdin!.end("go\n"), exited };
}

/** Kills a workload that a failed test left running (cleanup only). */
export function reap(w: Workload | undefined): void {
  if (w && w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
}

export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export interface SuiteOptions {
  driver: CgroupDriver;
  /** The parent of every test cgroup, relative to keel's own cgroup ("keel-test-123"). */
  parent: string;
  /** Driver-specific: the directories that must not exist after destroy. */
  dirsOf(path: string): string[];
  /** Whether the kernel says the cgroup is frozen (freezer.state / cgroup.events). */
  isFrozen(path: string): boolean;
  /** Whether swap can be limited (v1 memsw / v2 memory.swap.max present). */
  swapAccounting: boolean;
}

export function cgroupDriverSuite(o: SuiteOptions): void {
  const d = o.driver;
  let n = 0;
  const made = new Set<string>();
  /** A fresh cgroup path for one test, destroyed after the file's tests even if one fails. */
  const fresh = () => {
    const p = `${o.parent}/c${++n}`;
    made.add(p);
    return p;
  };
  after(async () => {
    for (const p of made) {
      await d.thaw(p).catch(() => {});
      await d.killAll(p, "SIGKILL").catch(() => {});
      await d.destroy(p);
    }
    for (const dir of o.dirsOf(o.parent)) assert.equal(existsSync(dir), false, `${dir} left behind`);
  });

  test("stats after busy work: cpu usage, pids, memory", async (t) => {
    const p = fresh();
    await d.create(p, { pids: { limit: 64 } });
    const w = startWorkload("i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done");
    t.after(() => reap(w));
    await d.addProcess(p, w.pid);
    assert.deepEqual(await d.pids(p), [w.pid]);
    const during = await d.stats(p);
    assert.equal(during.pids.current, 1);
    assert.equal(during.pids.limit, 64);
    w.go();
    assert.deepEqual(await w.exited, { code: 0, signal: null });
    const s = await d.stats(p);
    assert.ok(s.cpu.usageNs > 10_000_000, `cpu usage ${s.cpu.usageNs} ns after a busy loop`);
    assert.ok(s.cpu.userNs + s.cpu.systemNs > 0);
    assert.equal(s.pids.current, 0);
    assert.equal(s.memory.limit, undefined, "no memory limit set: unlimited");
    assert.equal(s.memory.oomKills, 0);
    assert.equal(await d.oomKilled(p), false);
    assert.deepEqual(await d.pids(p), []);
  });

  test("freeze stops every process; thaw lets it go on", async (t) => {
    const p = fresh();
    await d.create(p, {});
    const w = startWorkload("while :; do :; done");
    t.after(() => reap(w));
    await d.addProcess(p, w.pid);
    w.go();
    await d.freeze(p);
    assert.equal(o.isFrozen(p), true);
    // A frozen busy loop uses no CPU at all.
    const a = (await d.stats(p)).cpu.usageNs;
    await sleep(200);
    const b = (await d.stats(p)).cpu.usageNs;
    assert.equal(b, a, "a frozen process ran");
    await d.thaw(p);
    assert.equal(o.isFrozen(p), false);
    await waitFor(async () => (await d.stats(p)).cpu.usageNs > b, "the thawed loop to run again");
    await d.killAll(p, "SIGKILL");
    assert.equal((await w.exited).signal, "SIGKILL");
  });

  test("killAll signals every process, children included", async (t) => {
    const p = fresh();
    await d.create(p, {});
    const w = startWorkload("sleep 100 & sleep 100 & wait");
    t.after(() => reap(w));
    await d.addProcess(p, w.pid);
    w.go();
    await waitFor(async () => (await d.pids(p)).length === 3, "the shell and its two sleeps");
    await d.killAll(p, "SIGTERM");
    assert.equal((await w.exited).signal, "SIGTERM");
    await waitFor(async () => (await d.pids(p)).length === 0, "every process gone after SIGTERM");

    const w2 = startWorkload("sleep 100 & sleep 100 & wait");
    t.after(() => reap(w2));
    await d.addProcess(p, w2.pid);
    w2.go();
    await waitFor(async () => (await d.pids(p)).length === 3, "three processes again");
    await d.killAll(p, 9);
    assert.equal((await w2.exited).signal, "SIGKILL");
    await d.destroy(p); // waits for the sleeps to leave
    assert.equal(d.exists(p), false);
  });

  test("killAll on a paused cgroup leaves it paused; stats of a missing cgroup is an error", async (t) => {
    const p = fresh();
    await d.create(p, {});
    const w = startWorkload("while :; do :; done");
    t.after(() => reap(w));
    await d.addProcess(p, w.pid);
    w.go();
    await d.freeze(p);
    await d.killAll(p, "SIGKILL");
    // v2 lets the SIGKILL through a freeze: the cgroup reads "frozen 0" until the dying task is
    // gone, then "frozen 1" again; v1 holds the task frozen. Either way it must end up frozen.
    await waitFor(() => o.isFrozen(p), "the cgroup to stay paused after killAll", 10000);
    await d.thaw(p);
    assert.equal((await w.exited).signal, "SIGKILL");
    await d.destroy(p);
    await assert.rejects(d.stats(p), (e: unknown) => (e as { code?: string }).code === "ENOENT");
  });

  test("a 16 MiB memory limit OOM-kills a process that allocates 64 MiB, and says so", async (t) => {
    const p = fresh();
    const limit = 16 << 20;
    await d.create(p, { memory: { limit, ...(o.swapAccounting ? { swap: limit } : {}) } });
    assert.equal((await d.stats(p)).memory.limit, limit);
    // dd fills a 64 MiB buffer from /dev/zero: every page is touched and charged.
    const w = startWorkload("exec dd if=/dev/zero of=/dev/null bs=64M count=1");
    t.after(() => reap(w));
    await d.addProcess(p, w.pid);
    w.go();
    assert.equal((await w.exited).signal, "SIGKILL");
    assert.equal(await d.oomKilled(p), true);
    const s = await d.stats(p);
    assert.ok(s.memory.oomKills >= 1, `oomKills ${s.memory.oomKills}`);
    assert.ok(s.memory.oomEvents >= 1, `oomEvents ${s.memory.oomEvents}`);
    if (s.memory.peak !== undefined) assert.ok(s.memory.peak <= limit + (1 << 20), `peak ${s.memory.peak} above the limit`);
  });

  test("pids limit 8 caps forks", async (t) => {
    const p = fresh();
    await d.create(p, { pids: { limit: 8 } });
    // The shell starts background sleeps until a fork is refused: the shell and 7 sleeps make
    // 8, the 8th fork fails and the shell gives up ("Cannot fork"), leaving the sleeps.
    const w = startWorkload("for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 100 & done; wait");
    t.after(() => reap(w));
    await d.addProcess(p, w.pid);
    w.go();
    const { code } = await w.exited;
    assert.notEqual(code, 0, "the shell should have failed to fork");
    const s = await d.stats(p);
    assert.equal(s.pids.limit, 8);
    assert.equal(s.pids.current, 7, "the 7 sleeps that fit beside the shell");
    assert.ok(s.pids.failures >= 1, `refused forks ${s.pids.failures}`);
    await d.killAll(p, "SIGKILL");
    await d.destroy(p);
  });

  test("update changes limits in place", async () => {
    const p = fresh();
    await d.create(p, { pids: { limit: 10 }, memory: { limit: 64 << 20 } });
    await d.update(p, { pids: { limit: 20 }, memory: { limit: 32 << 20 } });
    const s = await d.stats(p);
    assert.equal(s.pids.limit, 20);
    assert.equal(s.memory.limit, 32 << 20);
    await d.update(p, { pids: { limit: -1 }, memory: { limit: -1 } });
    const u = await d.stats(p);
    assert.equal(u.pids.limit, undefined);
    assert.equal(u.memory.limit, undefined);
  });

  test("destroy removes every level keel made and is idempotent", async () => {
    const p = `${o.parent}/nest/deeper`;
    await d.create(p, { pids: { limit: 5 } });
    assert.equal(d.exists(p), true);
    await d.destroy(p);
    await d.destroy(p);
    assert.equal(d.exists(p), false);
    for (const dir of o.dirsOf(`${o.parent}/nest`)) assert.equal(existsSync(dir), false, `${dir} left behind`);
  });

  test("a value the kernel refuses: a CgroupError naming file, value and errno, and nothing left", async () => {
    const p = fresh();
    const err = await d.create(p, { pids: { limit: 5 }, cpu: { cpus: "4095" } }).catch((e) => e);
    assert.ok(err instanceof CgroupError, String(err));
    assert.equal(err.file, "cpuset.cpus");
    assert.equal(err.value, "4095");
    // EINVAL or ERANGE (CPU beyond nr_cpu_ids), depending on the kernel.
    assert.ok(["EINVAL", "ERANGE"].includes(err.code), err.code);
    assert.equal(err.errno, err.code === "EINVAL" ? 22 : 34);
    assert.match(err.message, /cpuset\.cpus/);
    assert.equal(d.exists(p), false);
    for (const dir of o.dirsOf(p)) assert.equal(existsSync(dir), false, `${dir} left behind`);
  });

  test("bad paths are refused and create nothing", async () => {
    for (const bad of ["", "/", "../escape", "a/../../b"]) await assert.rejects(d.create(bad, {}), CgroupPathError);
    const p = fresh();
    await assert.rejects(d.create(p, { hugepageLimits: [{ pageSize: "3MB", limit: 1 << 22 }] }), CgroupUnsupportedError);
    assert.equal(d.exists(p), false);
    for (const dir of o.dirsOf(p)) assert.equal(existsSync(dir), false);
  });
}
