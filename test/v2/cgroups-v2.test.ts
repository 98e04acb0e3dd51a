// The cgroup v2 driver on a real pure-v2 kernel: run inside the v2 VM by scripts/test.sh
// (../shared/tools/v2vm). Every resource lands in its v2 file with runc's conversions, the
// v2-only rules hold (no internal processes, devices are eBPF), and the shared driver suite
// runs. Skipped where /sys/fs/cgroup is not cgroup2.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  CgroupDelegationError,
  CgroupUnsupportedError,
  detectCgroupDriver,
  detectCgroupLayout,
  V2Driver,
} from "../../runtime/cgroups/index.js";
import { cgroupDriverSuite, waitFor } from "./cgroup-driver-suite.js";

const layout = detectCgroupLayout();
const isV2 = layout.version === 2;
const parent = `keel-test-v2-${process.pid}`;
const words = (s: string) => s.trim().split(/\s+/).filter(Boolean);

/** A block device for io.max: an existing disk, or (in the VM, which has none) a brd ramdisk. */
function blockDevice(): { dev?: { major: number; minor: number }; cleanup(): void } {
  const pick = () => {
    for (const name of readdirSync("/sys/block")) {
      if (/^(loop|zram|nbd)/.test(name)) continue;
      const [major, minor] = readFileSync(`/sys/block/${name}/dev`, "utf8").trim().split(":").map(Number);
      return { major, minor };
    }
    return undefined;
  };
  const found = pick();
  if (found || readdirSync("/sys/block").length > 0) return { dev: found, cleanup: () => {} };
  try {
    execFileSync("modprobe", ["brd", "rd_nr=1", "rd_size=1024"], { stdio: "ignore" });
  } catch {
    return { dev: undefined, cleanup: () => {} };
  }
  return { dev: pick(), cleanup: () => execFileSync("rmmod", ["brd"], { stdio: "ignore" }) };
}

describe("cgroup v2 driver", { skip: isV2 ? false : "/sys/fs/cgroup is not cgroup2 (these tests run in the v2 VM)" }, () => {
  const d = new V2Driver(layout.unified!.mountpoint, layout.unified!.ownDir);
  const dirOf = (path: string) => d.placement(path).dir!;
  const read = (path: string, file: string) => readFileSync(join(dirOf(path), file), "utf8").trim();

  test("detection picks v2 and the process's own cgroup", () => {
    assert.equal(detectCgroupDriver().version, 2);
    const own = /^0::(.*)$/m.exec(readFileSync("/proc/self/cgroup", "utf8"))![1];
    assert.equal(layout.unified!.ownDir, join("/sys/fs/cgroup", own).replace(/(.)\/$/, "$1"));
    const pl = d.placement("a/b");
    assert.deepEqual(pl.procsFiles, [join(layout.unified!.ownDir, "a/b/cgroup.procs")]);
    assert.equal(pl.dir, join(layout.unified!.ownDir, "a/b"));
  });

  test("every resource lands in its v2 file, converted as runc does", async (t) => {
    const p = `${parent}/all`;
    const bd = blockDevice();
    t.after(async () => {
      await d.destroy(p);
      bd.cleanup();
    });
    const hasHuge = existsSync(join(layout.unified!.ownDir, "hugetlb.2MB.max")) || words(readFileSync(join(layout.unified!.ownDir, "cgroup.controllers"), "utf8")).includes("hugetlb");
    const swap = existsSync(join(layout.unified!.mountpoint, "memory.stat")); // swap.max exists in every non-root cgroup with memory
    await d.create(p, {
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20, swappiness: 10 },
      cpu: { shares: 512, quota: 50000, period: 200000, cpus: "0", mems: "0" },
      pids: { limit: 42 },
      blockIO: { weight: 300, ...(bd.dev ? { throttleReadBpsDevice: [{ ...bd.dev, rate: 1048576 }], throttleWriteIOPSDevice: [{ ...bd.dev, rate: 100 }] } : {}) },
      ...(hasHuge ? { hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }] } : {}),
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, minor: -1, access: "rwm" },
      ],
      unified: { "memory.high": String(48 << 20), "pids.max": "40" },
    });
    // Every intermediate level hands its controllers down.
    for (const c of ["cpu", "memory", "pids", "io", "cpuset"]) assert.ok(words(read(parent, "cgroup.subtree_control")).includes(c), `${c} enabled in ${parent}`);
    assert.equal(read(p, "memory.max"), String(64 << 20));
    assert.equal(read(p, "memory.low"), String(32 << 20));
    if (swap) assert.equal(read(p, "memory.swap.max"), String(32 << 20), "OCI memory+swap 96M with memory 64M is 32M of swap");
    assert.equal(read(p, "memory.high"), String(48 << 20), "unified key written verbatim");
    assert.equal(read(p, "cpu.weight"), "20", "shares 512 → weight 1 + (510*9999)/262142");
    assert.equal(read(p, "cpu.max"), "50000 200000");
    assert.equal(read(p, "cpuset.cpus"), "0");
    assert.equal(read(p, "cpuset.mems"), "0");
    assert.equal(read(p, "pids.max"), "40", "unified overrides pids.limit");
    if (existsSync(join(dirOf(p), "io.bfq.weight"))) assert.match(read(p, "io.bfq.weight"), /300/);
    else assert.equal(read(p, "io.weight"), "default 2930", "blkio 300 → io.weight 1 + (290*9999)/990");
    if (bd.dev) assert.equal(read(p, "io.max"), `${bd.dev.major}:${bd.dev.minor} rbps=1048576 wbps=max riops=max wiops=100`);
    if (hasHuge) assert.equal(read(p, "hugetlb.2MB.max"), String(4 << 20));

    await d.update(p, { cpu: { quota: -1 }, memory: { limit: -1 } });
    assert.equal(read(p, "cpu.max"), "max 200000");
    assert.equal(read(p, "memory.max"), "max");
    assert.equal(read(p, "memory.swap.max"), "max", "unlimited memory with swap unset: swap unlimited too");
  });

  test("what v2 cannot express is refused before anything is made", async () => {
    const p = `${parent}/refused`;
    await assert.rejects(d.create(p, { cpu: { realtimeRuntime: 1000, realtimePeriod: 100000 } }), CgroupUnsupportedError);
    await assert.rejects(d.create(p, { devices: [{ allow: false, type: "c", major: 1, minor: 3, access: "rwm" }] }), /eBPF/);
    await assert.rejects(d.create(p, { blockIO: { leafWeight: 100 } }), CgroupUnsupportedError);
    await assert.rejects(d.create(p, { memory: { swap: 1 << 20 } }), /needs a memory limit/);
    await assert.rejects(d.create(p, { unified: { "../x": "1" } }), /not a cgroup file name/);
    assert.equal(existsSync(dirOf(p)), false);
  });

  test("a parent cgroup with processes: the no-internal-processes rule is explained, the caller not moved", async (t) => {
    // A stand-in for "keel runs in a non-root cgroup that has processes": a cgroup holding one sleep.
    const busy = join(layout.unified!.mountpoint, `${parent}-busy`);
    mkdirSync(busy);
    const sleeper = spawn("sleep", ["100"], { stdio: "ignore" });
    t.after(async () => {
      sleeper.kill("SIGKILL");
      await waitFor(() => readFileSync(join(busy, "cgroup.procs"), "utf8").trim() === "", "the sleeper to leave");
      rmdirSync(busy);
    });
    writeFileSync(join(busy, "cgroup.procs"), String(sleeper.pid));
    const inner = new V2Driver(layout.unified!.mountpoint, busy);
    const err = await inner.create("keel/c", { memory: { limit: 32 << 20 } }).catch((e) => e);
    assert.ok(err instanceof CgroupDelegationError, String(err));
    assert.deepEqual(err.missing, ["memory"]);
    assert.equal(err.file, "cgroup.subtree_control");
    assert.match(err.message, /no internal processes/);
    assert.equal(readFileSync(join(busy, "cgroup.procs"), "utf8").trim(), String(sleeper.pid), "the process stays where it was");
    assert.equal(existsSync(join(busy, "keel")), false);
    // Without limits there is nothing to delegate: the cgroup is made (for freeze, kill, stats).
    await inner.create("keel/c", {});
    assert.equal(inner.exists("keel/c"), true);
    await inner.destroy("keel/c");
    assert.equal(existsSync(join(busy, "keel")), false);
  });

  cgroupDriverSuite({
    driver: d,
    parent,
    dirsOf: (path) => [join(layout.unified!.ownDir, path)],
    isFrozen: (path) => /^frozen 1$/m.test(read(path, "cgroup.events")),
    swapAccounting: true,
  });

  after(() => assert.equal(existsSync(join(layout.unified!.ownDir, parent)), false, `${parent} left behind`));
});
