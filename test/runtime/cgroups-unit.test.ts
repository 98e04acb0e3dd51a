// The cgroup drivers without root and without a kernel: /proc parsing, detection, the OCI → v2
// conversions, and each controller's mapping run against fixture directories of plain files,
// with every write recorded in order.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  blkioWeightToIoWeight,
  CgroupError,
  CgroupPathError,
  CgroupUnsupportedError,
  cpuMaxValue,
  detectCgroupLayout,
  FakeCgroupDriver,
  isDefaultDeviceRules,
  parseCgroupMounts,
  parseProcCgroup,
  sharesToWeight,
  swapToV2,
  V1Driver,
  V2Driver,
} from "../../runtime/cgroups/index.js";
import { CgroupDir, parseNestedKeyed, type CgroupWrite } from "../../runtime/cgroups/files.js";
import { applyMemory } from "../../runtime/cgroups/v1/memory.js";
import { retryVanishedLevel } from "../../runtime/cgroups/tree.js";
import { applyBlkio } from "../../runtime/cgroups/v1/blkio.js";
import { applyDevices, deviceRuleLine } from "../../runtime/cgroups/v1/devices.js";

const root = mkdtempSync(join(tmpdir(), "keel-cgfix-"));
after(() => rmSync(root, { recursive: true, force: true }));
let fixtures = 0;

/** A fixture tree: { "a/b": { "memory.max": "max" } } → directories of plain files. */
function fixture(tree: Record<string, Record<string, string>>): string {
  const base = join(root, String(++fixtures));
  for (const [dir, files] of Object.entries(tree)) {
    mkdirSync(join(base, dir), { recursive: true });
    for (const [f, content] of Object.entries(files)) writeFileSync(join(base, dir, f), content);
  }
  return base;
}
const cat = (base: string, path: string) => readFileSync(join(base, path), "utf8");

const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
0::/
`;

describe("detection", () => {
  test("/proc/self/cgroup lines", () => {
    assert.deepEqual(parseProcCgroup("4:memory:/a/b\n3:cpu,cpuacct:/\n0::/x\n"), [
      { hierarchyId: 4, controllers: ["memory"], path: "/a/b" },
      { hierarchyId: 3, controllers: ["cpu", "cpuacct"], path: "/" },
      { hierarchyId: 0, controllers: [], path: "/x" },
    ]);
  });

  test("mountinfo: controllers from the super options, escapes undone", () => {
    const m = parseCgroupMounts("50 1 0:40 /sub /mnt/cg\\040x rw,nosuid - cgroup cgroup rw,cpu,cpuacct,clone_children\n51 1 0:41 / /c2 rw - cgroup2 cgroup2 rw,nsdelegate\n");
    assert.deepEqual(m[0], { mountpoint: "/mnt/cg x", root: "/sub", fstype: "cgroup", controllers: ["cpu", "cpuacct"] });
    assert.equal(m[1].fstype, "cgroup2");
  });

  test("hybrid is v1: controller hierarchies, own cgroup per hierarchy, named and unified left out", () => {
    const l = detectCgroupLayout({ isCgroup2: false, mountinfo: HYBRID_MOUNTINFO, procSelfCgroup: HYBRID_CGROUP });
    assert.equal(l.version, 1);
    assert.equal(l.hybrid, true);
    assert.deepEqual(
      l.hierarchies.map((h) => [h.controllers.join(","), h.ownDir]),
      [
        ["cpu", "/sys/fs/cgroup/cpu"],
        ["cpuacct", "/sys/fs/cgroup/cpuacct"],
        ["memory", "/sys/fs/cgroup/memory/process_api/abc"],
        ["pids", "/sys/fs/cgroup/pids"],
      ],
    );
  });

  test("co-mounted cpu,cpuacct is one hierarchy; a mount of a subtree (cgroupns) strips its root", () => {
    const mi = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n35 31 0:32 /outer /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    const l = detectCgroupLayout({ isCgroup2: false, mountinfo: mi, procSelfCgroup: "3:cpu,cpuacct:/x\n4:memory:/outer/inner\n" });
    assert.deepEqual(l.hierarchies.map((h) => h.ownDir), ["/sys/fs/cgroup/cpu,cpuacct/x", "/sys/fs/cgroup/memory/inner"]);
    assert.equal(l.hybrid, false);
  });

  test("pure v2: the own cgroup from the 0:: line", () => {
    const l = detectCgroupLayout({ isCgroup2: true, mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", procSelfCgroup: "0::/user.slice/session-1.scope\n" });
    assert.equal(l.version, 2);
    assert.equal(l.unified!.ownDir, "/sys/fs/cgroup/user.slice/session-1.scope");
  });
});

describe("OCI → cgroup v2 conversions (runc's formulas)", () => {
  test("cpu shares → weight", () => {
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(262144), 10000);
    assert.equal(sharesToWeight(512), 20);
    assert.equal(sharesToWeight(0), 0);
    assert.equal(sharesToWeight(1), 1, "below the v1 range clamps");
  });

  test("blkio weight → io.weight", () => {
    assert.equal(blkioWeightToIoWeight(10), 1);
    assert.equal(blkioWeightToIoWeight(1000), 10000);
    assert.equal(blkioWeightToIoWeight(300), 2930);
  });

  test("quota/period → cpu.max", () => {
    assert.equal(cpuMaxValue(50000, 100000), "50000 100000");
    assert.equal(cpuMaxValue(50000, undefined), "50000 100000");
    assert.equal(cpuMaxValue(-1, 200000), "max 200000");
    assert.equal(cpuMaxValue(-1, undefined), "max");
    assert.equal(cpuMaxValue(undefined, 250000), "max 250000");
    assert.equal(cpuMaxValue(undefined, undefined), undefined);
  });

  test("OCI memory+swap → memory.swap.max", () => {
    const at = { path: "/x" };
    assert.equal(swapToV2(96, 64, at), 32);
    assert.equal(swapToV2(64, 64, at), 0, "equal totals: no swap at all");
    assert.equal(swapToV2(-1, 64, at), -1);
    assert.equal(swapToV2(undefined, -1, at), -1, "memory unlimited, swap unset: both unlimited");
    assert.equal(swapToV2(undefined, 64, at), 0);
    assert.throws(() => swapToV2(32, 64, at), /below the memory limit/);
    assert.throws(() => swapToV2(32, undefined, at), (e: unknown) => e instanceof CgroupError && e.file === "memory.swap.max" && e.value === "32");
  });

  test("default device rules are accepted on v2; anything else is not", () => {
    assert.equal(isDefaultDeviceRules(undefined), true);
    assert.equal(isDefaultDeviceRules([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, { allow: true, type: "c", major: null, minor: null, access: "m" }]), true);
    assert.equal(isDefaultDeviceRules([{ allow: false, access: "rwm" }, { allow: true, type: "b", major: 8, minor: 0, access: "rw" }]), false);
    assert.equal(isDefaultDeviceRules([{ allow: true, type: "c", major: null, minor: null, access: "rwm" }]), false, "every char device");
  });
});

describe("v1 controllers on fixtures", () => {
  const memFiles = (limit: string) => ({ "memory.limit_in_bytes": limit, "memory.memsw.limit_in_bytes": limit, "memory.soft_limit_in_bytes": "", "memory.swappiness": "", "memory.oom_control": "", "memory.usage_in_bytes": "1000" });

  test("memory: memsw first when growing, limit first when shrinking, -1 frees both", () => {
    const base = fixture({ m: memFiles("67108864") });
    const w: CgroupWrite[] = [];
    const dir = new CgroupDir(join(base, "m"), w);
    applyMemory(dir, { limit: 128 << 20, swap: 256 << 20, reservation: 1 << 20, swappiness: 0, disableOOMKiller: true });
    assert.deepEqual(w.map((x) => x.file), ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control"]);
    assert.equal(cat(base, "m/memory.oom_control"), "1");
    w.length = 0;
    applyMemory(dir, { limit: 8 << 20, swap: 16 << 20 });
    assert.deepEqual(w, [{ file: "memory.limit_in_bytes", value: String(8 << 20) }, { file: "memory.memsw.limit_in_bytes", value: String(16 << 20) }]);
    w.length = 0;
    applyMemory(dir, { limit: -1 });
    assert.deepEqual(w, [{ file: "memory.memsw.limit_in_bytes", value: "-1" }, { file: "memory.limit_in_bytes", value: "-1" }]);
    assert.throws(() => applyMemory(dir, { swappiness: 101 }), /swappiness/);
    assert.throws(() => applyMemory(dir, { limit: 500, checkBeforeUpdate: true }), /above the new limit/);
  });

  test("memory: swap without swap accounting is unsupported", () => {
    const base = fixture({ m: { "memory.limit_in_bytes": "0" } });
    assert.throws(() => applyMemory(new CgroupDir(join(base, "m")), { limit: 1 << 20, swap: 2 << 20 }), CgroupUnsupportedError);
  });

  test("blkio: BFQ's files when CFQ's are absent, one device per write", () => {
    const base = fixture({ b: { "blkio.bfq.weight": "", "blkio.bfq.weight_device": "", "blkio.throttle.read_bps_device": "", "blkio.throttle.write_iops_device": "" } });
    const w: CgroupWrite[] = [];
    applyBlkio(new CgroupDir(join(base, "b"), w), {
      weight: 500,
      weightDevice: [{ major: 8, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 100 }, { major: 8, minor: 16, rate: 200 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 0 }],
    });
    assert.deepEqual(w, [
      { file: "blkio.bfq.weight", value: "500" },
      { file: "blkio.bfq.weight_device", value: "8:0 200" },
      { file: "blkio.throttle.read_bps_device", value: "8:0 100" },
      { file: "blkio.throttle.read_bps_device", value: "8:16 200" },
      { file: "blkio.throttle.write_iops_device", value: "8:0 0" },
    ]);
    assert.throws(() => applyBlkio(new CgroupDir(join(base, "b")), { leafWeight: 10 }), CgroupUnsupportedError);
  });

  test("devices: rules in order, wildcards as *", () => {
    assert.equal(deviceRuleLine({ allow: false, access: "rwm" }), "a *:* rwm");
    assert.equal(deviceRuleLine({ allow: true, type: "c", major: 136, minor: -1, access: "rw" }), "c 136:* rw");
    assert.throws(() => deviceRuleLine({ allow: true, access: "rx" }), /rwm/);
    const base = fixture({ d: { "devices.allow": "", "devices.deny": "" } });
    const w: CgroupWrite[] = [];
    applyDevices(new CgroupDir(join(base, "d"), w), [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }]);
    assert.deepEqual(w, [{ file: "devices.deny", value: "a *:* rwm" }, { file: "devices.allow", value: "c 1:3 rwm" }]);
  });

  test("the v1 driver: each controller in its own hierarchy, cpuset seeded from the parent, hugetlb sizes checked", async () => {
    const base = fixture({
      "cpu/keel/c": { "cpu.shares": "", "cpu.cfs_quota_us": "", "cpu.cfs_period_us": "", "cpu.rt_period_us": "", "cpu.rt_runtime_us": "", "cgroup.procs": "" },
      cpuset: { "cpuset.cpus": "0-3", "cpuset.mems": "0" },
      "cpuset/keel/c": { "cpuset.cpus": "", "cpuset.mems": "", "cgroup.procs": "" },
      "cpuset/keel": { "cpuset.cpus": "", "cpuset.mems": "" },
      "hugetlb/keel/c": { "hugetlb.2MB.limit_in_bytes": "", "hugetlb.2MB.rsvd.limit_in_bytes": "", "hugetlb.2MB.usage_in_bytes": "0", "cgroup.procs": "" },
      "pids/own/keel/c": { "pids.max": "", "cgroup.procs": "" },
    });
    const w: CgroupWrite[] = [];
    const h = (c: string, own = "") => ({ controllers: [c], mountpoint: join(base, c), ownDir: join(base, c, own) });
    const d = new V1Driver([h("cpu"), h("cpuset"), h("hugetlb"), h("pids", "own")], { journal: w });
    await d.create("keel/c", {
      cpu: { shares: 100, quota: 20000, period: 100000, realtimePeriod: 1000000, realtimeRuntime: 5000, cpus: "1" },
      pids: { limit: 16 },
      hugepageLimits: [{ pageSize: "2MB", limit: 4 << 20 }],
    });
    assert.equal(cat(base, "cpuset/keel/cpuset.cpus"), "0-3", "intermediate level seeded from its parent");
    assert.equal(cat(base, "cpuset/keel/c/cpuset.cpus"), "1");
    assert.equal(cat(base, "cpuset/keel/c/cpuset.mems"), "0");
    assert.equal(cat(base, "cpu/keel/c/cpu.shares"), "100");
    assert.deepEqual(w.filter((x) => x.file.startsWith("cpu.")).map((x) => x.file), ["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.rt_period_us", "cpu.rt_runtime_us"]);
    assert.equal(cat(base, "pids/own/keel/c/pids.max"), "16");
    assert.equal(cat(base, "hugetlb/keel/c/hugetlb.2MB.limit_in_bytes"), String(4 << 20));
    assert.equal(cat(base, "hugetlb/keel/c/hugetlb.2MB.rsvd.limit_in_bytes"), String(4 << 20));
    assert.deepEqual(d.procsFiles("keel/c"), ["cpu", "cpuset", "hugetlb", "pids/own"].map((p) => join(base, p, "keel/c/cgroup.procs")));
    await assert.rejects(d.update("keel/c", { hugepageLimits: [{ pageSize: "1GB", limit: 1 }] }), /no huge page size "1GB" here \(sizes: 2MB\)/);
    await assert.rejects(d.update("keel/c", { memory: { limit: 1 } }), /"memory" controller is not mounted/);
    await assert.rejects(d.create("keel/../x", {}), CgroupPathError);
  });
});

describe("v2 driver on fixtures", () => {
  const cg = (controllers: string, extra: Record<string, string> = {}) => ({ "cgroup.controllers": controllers, "cgroup.subtree_control": "", ...extra });
  const leaf = {
    "memory.max": "", "memory.low": "", "memory.swap.max": "", "memory.high": "", "cpu.weight": "", "cpu.max": "", "cpu.max.burst": "",
    "cpuset.cpus": "", "cpuset.mems": "", "pids.max": "", "io.weight": "", "io.max": "", "hugetlb.2MB.max": "", "cgroup.procs": "",
  };

  test("controllers enabled top-down, then every value converted", async () => {
    const all = "cpuset cpu io memory hugetlb pids";
    const base = fixture({ own: cg(all), "own/keel": cg(all), "own/keel/c": cg(all, leaf) });
    const w: CgroupWrite[] = [];
    const d = new V2Driver(base, join(base, "own"), { journal: w });
    await d.create("keel/c", {
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 1 << 20 },
      cpu: { shares: 1024, quota: 50000, burst: 1000, cpus: "0-1" },
      pids: { limit: 0 },
      blockIO: { weight: 10, throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 1000 }], throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 0 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }],
      unified: { "memory.high": "50000000" },
    });
    assert.deepEqual(w.slice(0, 2), [
      // The cgroup keel runs in is not keel's: only what this spec needs is enabled there...
      { file: "cgroup.subtree_control", value: "+cpuset +memory +cpu +pids +io +hugetlb" },
      // ...while a level keel made gets every available controller, for later updates.
      { file: "cgroup.subtree_control", value: "+cpuset +cpu +io +memory +hugetlb +pids" },
    ]);
    const c = (f: string) => cat(base, `own/keel/c/${f}`);
    assert.equal(c("memory.max"), String(64 << 20));
    assert.equal(c("memory.swap.max"), String(32 << 20));
    assert.equal(c("memory.low"), String(1 << 20));
    assert.equal(c("memory.high"), "50000000");
    assert.equal(c("cpu.weight"), "39");
    assert.equal(c("cpu.max"), "50000 100000");
    assert.equal(c("cpu.max.burst"), "1000");
    assert.equal(c("cpuset.cpus"), "0-1");
    assert.equal(c("pids.max"), "max");
    assert.equal(c("io.weight"), "1");
    assert.deepEqual(w.filter((x) => x.file === "io.max").map((x) => x.value), ["8:0 wbps=1000", "8:0 riops=max"]);
    assert.equal(c("hugetlb.2MB.max"), String(2 << 20));
    assert.deepEqual(d.placement("keel/c"), { version: 2, procsFiles: [join(base, "own/keel/c/cgroup.procs")], dir: join(base, "own/keel/c") });
  });

  test("an update needing a controller create did not enable enables it on the way down", async () => {
    const base = fixture({ own: cg("cpu pids memory"), "own/k": cg("cpu pids memory"), "own/k/c": cg("cpu pids memory", leaf) });
    const w: CgroupWrite[] = [];
    const d = new V2Driver(base, join(base, "own"), { journal: w });
    await d.create("k/c", { pids: { limit: 3 } });
    assert.deepEqual(w.map((x) => x.value), ["+pids", "+cpu +pids +memory", "3"]);
    // Plain files do not change on enabling; mark what a kernel would now show.
    writeFileSync(join(base, "own/cgroup.subtree_control"), "pids");
    writeFileSync(join(base, "own/k/cgroup.subtree_control"), "cpu pids memory");
    w.length = 0;
    await d.update("k/c", { memory: { limit: 1 << 20 } });
    assert.deepEqual(w, [{ file: "cgroup.subtree_control", value: "+memory" }, { file: "memory.max", value: String(1 << 20) }]);
  });

  test("a controller the parent does not offer is named", async () => {
    const base = fixture({ own: cg("cpu pids"), "own/k": cg("cpu pids", leaf) });
    const d = new V2Driver(base, join(base, "own"));
    await assert.rejects(d.create("k", { memory: { limit: 1 << 20 } }), (e: unknown) => e instanceof CgroupUnsupportedError && /memory/.test(e.message) && e.file === "cgroup.controllers");
  });

  test("nested-keyed parsing (io.stat)", () => {
    assert.deepEqual(parseNestedKeyed("8:0 rbytes=10 wbytes=20 rios=1 wios=max\n"), { "8:0": { rbytes: 10, wbytes: 20, rios: 1, wios: Infinity } });
  });
});

describe("the fake driver (for runtime unit tests)", () => {
  test("records calls, keeps state, fails like a real driver", async () => {
    const d = new FakeCgroupDriver(2);
    await d.create("keel/a", { pids: { limit: 5 } });
    await d.addProcess("keel/a", 42);
    assert.deepEqual(await d.pids("keel/a"), [42]);
    assert.equal((await d.stats("keel/a")).pids.limit, 5);
    await assert.rejects(d.destroy("keel/a"), (e: unknown) => (e as CgroupError).code === "EBUSY");
    await d.killAll("keel/a", 9);
    await d.destroy("keel/a");
    assert.equal(d.exists("keel/a"), false);
    assert.deepEqual(d.calls.map((c) => c.op), ["create", "addProcess", "destroy", "killAll", "destroy"]);
    await assert.rejects(d.stats("keel/a"), (e: unknown) => (e as CgroupError).code === "ENOENT");
    assert.throws(() => d.placement("../x"), CgroupPathError);
  });
});

describe("create retries when a shared level vanishes under it", () => {
  test("ENOENT on a directory or cgroup.* file is retried; other errors are not", async () => {
    let n = 0;
    await retryVanishedLevel(() => {
      if (++n < 3) throw new CgroupError("gone", { path: "/x/keel", file: "", code: "ENOENT", errno: 2 });
    });
    assert.equal(n, 3);
    n = 0;
    await assert.rejects(
      retryVanishedLevel(() => {
        n++;
        throw new CgroupError("no such file", { path: "/x/c", file: "memory.max", code: "ENOENT", errno: 2 });
      }),
      /no such file/,
    );
    assert.equal(n, 1);
  });
});
