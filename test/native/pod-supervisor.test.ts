// keel-supervisor in pod mode, driven by runtime/pod-supervisor.ts with raw spawn plans (no
// rootfs): containers are the supervisor's children, their output goes to CRI logs, their exits
// to exit records; the exec FIFO holds them until started; errors come back typed; a second
// connection (a restarted kubelet) sees the same containers; the supervisor exits by itself once
// its last container has.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native, NativeError, type SpawnPlan } from "../../native/index.js";
import { PodSupervisor, PodSupervisorError } from "../../runtime/pod-supervisor.js";
import { readExitRecord } from "../../runtime/supervised.js";
import { readCriLog } from "../../runtime/cri-log.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function ppid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function setUp(t: { after(f: () => void | Promise<void>): void }) {
  const dir = mkdtempSync(join(tmpdir(), "keel-podsup-"));
  const pids: number[] = [];
  t.after(async () => {
    for (const pid of pids) {
      try { process.kill(pid, 9); } catch { /* gone */ }
    }
    for (const pid of pids) await until(`pid ${pid} gone`, () => !alive(pid) || undefined).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const plan = (args: string[], extra: Partial<SpawnPlan> = {}): SpawnPlan => ({ mode: "vm", cloneFlags: 0, args, env: ["PATH=/usr/bin:/bin"], ...extra });
  const files = (name: string) => ({ logFile: join(dir, `${name}.log`), exitFile: join(dir, `${name}.exit.json`) });
  return { dir, pids, plan, files, socket: join(dir, "sup.sock") };
}

test("a container is the supervisor's child: CRI log, exit record, exec FIFO, and the supervisor leaves after it", async (t) => {
  const s = setUp(t);
  const sup = await PodSupervisor.launch(s.socket);
  t.after(() => sup.close());
  const info = await sup.info();
  s.pids.push(info.pid);
  assert.deepEqual(info.containers, []);

  const fifo = join(s.dir, "exec.fifo");
  native.mkfifo(fifo, 0o600);
  const f = s.files("c1");
  const { pid } = await sup.spawn("c1", s.plan(["/bin/sh", "-c", "echo out; echo err >&2; printf partial; exit 3"], { startFifo: fifo }), f);
  s.pids.push(pid);
  assert.equal(ppid(pid), info.pid, "the container is the supervisor's child, not ours");
  // Waiting on the FIFO: nothing ran yet.
  await sleep(50);
  assert.equal(readExitRecord(f.exitFile), null);
  const waitExec = sup.waitExec("c1");
  writeFileSync(fifo, "\0");
  await waitExec;
  const exit = await until("the exit record", () => readExitRecord(f.exitFile) ?? undefined);
  assert.equal(exit.exitCode, 3);
  assert.equal(exit.signal, null);
  // The supervisor ran one container, which has exited: it goes, and takes its socket with it.
  await until("the supervisor to exit", () => !alive(info.pid) || undefined);
  assert.equal(existsSync(s.socket), false);
  const log = readCriLog(f.logFile);
  assert.deepEqual(log.map((l) => [l.stream, l.line]).sort(), [["stderr", "err"], ["stdout", "out"]]);
  assert.match(readFileSync(f.logFile, "utf8"), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out$/m);
  assert.match(readFileSync(f.logFile, "utf8"), / stdout P partial$/m);
  assert.equal(sup.connected, false);
});

test("set-up failures come back typed; a malformed plan names the field; a duplicate id is refused", async (t) => {
  const s = setUp(t);
  const sup = await PodSupervisor.launch(s.socket);
  t.after(() => sup.close());
  const { pid: supPid } = await sup.info();
  s.pids.push(supPid);

  await assert.rejects(sup.spawn("bad", s.plan(["/no/such/binary"]), s.files("bad")), (e: unknown) => {
    assert.ok(e instanceof NativeError);
    assert.equal(e.code, "ENOENT");
    assert.equal(e.step, "exec");
    return true;
  });
  await assert.rejects(sup.spawn("bad2", s.plan(["/bin/true"], { hostname: 5 as unknown as string }), s.files("bad2")), /hostname must be a string/);
  await assert.rejects(sup.spawn("bad3", s.plan(["/bin/true"], { cwd: "/no/such/dir" }), s.files("bad3")), (e: unknown) => e instanceof NativeError && e.step === "cwd");

  const keep = await sup.spawn("keep", s.plan(["/bin/sleep", "30"]), s.files("keep"));
  s.pids.push(keep.pid);
  await sup.waitExec("keep");
  await assert.rejects(sup.spawn("keep", s.plan(["/bin/true"]), s.files("keep2")), (e: unknown) => e instanceof NativeError && e.code === "EEXIST");
  await assert.rejects(sup.waitExec("nobody"), (e: unknown) => e instanceof NativeError && e.code === "ENOENT");

  // A second connection (a restarted kubelet) finds the running container.
  sup.close();
  const again = await PodSupervisor.connect(s.socket);
  t.after(() => again.close());
  const info = await again.info();
  assert.deepEqual(info.containers.filter((c) => c.running).map((c) => c.id), ["keep"]);

  // shutdown: it leaves once its containers have.
  await again.shutdown();
  assert.ok(alive(supPid));
  process.kill(keep.pid, 15);
  await until("the supervisor to exit", () => !alive(supPid) || undefined);
  assert.equal(readExitRecord(s.files("keep").exitFile)?.signal, 15);
  await assert.rejects(again.info(), PodSupervisorError);
  await assert.rejects(PodSupervisor.connect(s.socket), PodSupervisorError);
});

test("containers keep running when the client goes; many containers, each with its own log", async (t) => {
  const s = setUp(t);
  const sup = await PodSupervisor.launch(s.socket);
  const { pid: supPid } = await sup.info();
  s.pids.push(supPid);
  const n = 5;
  const started = await Promise.all(Array.from({ length: n }, (_, i) => sup.spawn(`c${i}`, s.plan(["/bin/sh", "-c", `echo hello ${i}; exec sleep 30`]), s.files(`c${i}`))));
  for (const c of started) s.pids.push(c.pid);
  await Promise.all(started.map((_, i) => sup.waitExec(`c${i}`)));
  sup.close();
  await sleep(50);
  for (const c of started) assert.ok(alive(c.pid));
  for (let i = 0; i < n; i++) await until(`log ${i}`, () => readCriLog(s.files(`c${i}`).logFile)[0]?.line === `hello ${i}` || undefined);
  for (const c of started) process.kill(c.pid, 9);
  await until("the supervisor to exit", () => !alive(supPid) || undefined);
  for (let i = 0; i < n; i++) assert.equal(readExitRecord(s.files(`c${i}`).exitFile)?.signal, 9);
});

test("the serialized plan keeps 64-bit values and the seccomp program: rlimits, capabilities and a filter reach the child", async (t) => {
  const s = setUp(t);
  const sup = await PodSupervisor.launch(s.socket);
  t.after(() => sup.close());
  s.pids.push((await sup.info()).pid);
  // seccomp: allow everything but mkdir (EPERM), as struct sock_filter[] (x86_64).
  const ins = (code: number, jt: number, jf: number, k: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(code, 0); b.writeUInt8(jt, 2); b.writeUInt8(jf, 3); b.writeUInt32LE(k >>> 0, 4);
    return b;
  };
  const filter = Buffer.concat([
    ins(0x20, 0, 0, 0), // ld [nr]
    ins(0x15, 0, 1, 83), // jeq mkdir
    ins(0x06, 0, 0, 0x00050000 | 1), // ret ERRNO(EPERM)
    ins(0x06, 0, 0, 0x7fff0000), // ret ALLOW
  ]);
  const caps = 1n << 0n; // CAP_CHOWN
  const f = s.files("limits");
  await sup.spawn("limits", s.plan(["/bin/sh", "-c", `grep -E '^Cap(Eff|Bnd)' /proc/self/status; ulimit -n; mkdir ${join(s.dir, "nope")} 2>/dev/null || echo mkdir denied`], {
    rlimits: [{ resource: 7 /* RLIMIT_NOFILE */, soft: 100n, hard: 200n }],
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: 0n, ambient: 0n },
    seccomp: { filter }, noNewPrivileges: true,
  }), f);
  await until("the exit record", () => readExitRecord(f.exitFile) ?? undefined);
  await until("the log", () => readCriLog(f.logFile).length >= 4 || undefined);
  const lines = readCriLog(f.logFile).map((l) => l.line.replace(/\s+/g, " "));
  assert.deepEqual(lines, ["CapEff: 0000000000000001", "CapBnd: 0000000000000001", "100", "mkdir denied"]);
});
