// The cgroup v1 driver on this machine's real v1 hierarchies (hybrid here): every resource
// lands in its file, and the shared driver suite (stats, freeze, kill, OOM, pids, destroy).
// Skipped on a pure cgroup-v2 machine, where test/v2/cgroups-v2.test.ts covers the v2 driver.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CgroupUnsupportedError, detectCgroupLayout, V1Driver } from "../../runtime/cgroups/index.js";
import { cgroupDriverSuite } from "../v2/cgroup-driver-suite.js";

const layout = detectCgroupLayout();
const v1 = layout.version === 1 && layout.hierarchies.length > 0;
const parent = `keel-test-v1-${process.pid}`;

/** The first real block device (for throttles), as "major:minor". */
function blockDevice(): { major: number; minor: number } | undefined {
  for (const name of readdirSync("/sys/block")) {
    if (/^(loop|ram|zram|nbd)/.test(name)) continue;
    const [major, minor] = readFileSync(`/sys/block/${name}/dev`, "utf8").trim().split(":").map(Number);
    return { major, minor };
  }
  return undefined;
}

describe("cgroup v1 driver", { skip: v1 ? false : "this machine is not cgroup v1" }, () => {
  const d = new V1Driver(layout.hierarchies);
  const dirOf = (path: string, c: string) => d.dir(path, c)!.path;
  const read = (path: string, c: string, file: string) => readFileSync(join(dirOf(path, c), file), "utf8").trim();
  const has = (c: string) => layout.hierarchies.some((h) => h.controllers.includes(c));
  const ownMemory = layout.hierarchies.find((h) => h.controllers.includes("memory"))?.ownDir ?? "/nonexistent";
  const swapAcct = existsSync(join(ownMemory, "memory.memsw.limit_in_bytes"));

  test("cgroups go under this process's own cgroup in each hierarchy", () => {
    const own = readFileSync("/proc/self/cgroup", "utf8");
    const mem = /:memory:(.*)/.exec(own)?.[1];
    if (mem) assert.equal(dirOf("x/y", "memory"), join("/sys/fs/cgroup/memory", mem, "x/y"));
    assert.equal(d.procsFiles("x/y").length, layout.hierarchies.length);
    assert.equal(d.placement("/abs/y").hierarchies![0].path, join(layout.hierarchies[0].mountpoint, "abs/y"));
  });

  test("every resource lands in its v1 file", async (t) => {
    const p = `${parent}/all`;
    t.after(() => d.destroy(p));
    const dev = blockDevice();
    await d.create(p, {
      memory: { limit: 64 << 20, reservation: 32 << 20, ...(swapAcct ? { swap: 96 << 20 } : {}), swappiness: 10, disableOOMKiller: false },
      cpu: { shares: 512, quota: 50000, period: 200000, cpus: "0", mems: "0" },
      pids: { limit: 42 },
      blockIO: { weight: 300, ...(dev ? { throttleReadBpsDevice: [{ ...dev, rate: 1048576 }], throttleWriteIOPSDevice: [{ ...dev, rate: 100 }] } : {}) },
      devices: [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
        { allow: true, type: "c", major: 136, minor: -1, access: "rw" },
      ],
    });
    assert.equal(read(p, "memory", "memory.limit_in_bytes"), String(64 << 20));
    assert.equal(read(p, "memory", "memory.soft_limit_in_bytes"), String(32 << 20));
    if (swapAcct) assert.equal(read(p, "memory", "memory.memsw.limit_in_bytes"), String(96 << 20));
    assert.equal(read(p, "memory", "memory.swappiness"), "10");
    assert.match(read(p, "memory", "memory.oom_control"), /oom_kill_disable 0/);
    assert.equal(read(p, "cpu", "cpu.shares"), "512");
    assert.equal(read(p, "cpu", "cpu.cfs_quota_us"), "50000");
    assert.equal(read(p, "cpu", "cpu.cfs_period_us"), "200000");
    assert.equal(read(p, "cpuset", "cpuset.cpus"), "0");
    assert.equal(read(p, "cpuset", "cpuset.mems"), "0");
    // The intermediate level got its parent's cpuset (v1 starts it empty).
    assert.notEqual(read(parent, "cpuset", "cpuset.cpus"), "");
    assert.equal(read(p, "pids", "pids.max"), "42");
    const weightFile = existsSync(join(dirOf(p, "blkio"), "blkio.weight")) ? "blkio.weight" : "blkio.bfq.weight";
    assert.match(read(p, "blkio", weightFile), /300/);
    if (dev) {
      assert.equal(read(p, "blkio", "blkio.throttle.read_bps_device"), `${dev.major}:${dev.minor} 1048576`);
      assert.equal(read(p, "blkio", "blkio.throttle.write_iops_device"), `${dev.major}:${dev.minor} 100`);
    }
    assert.equal(read(p, "devices", "devices.list"), "c 1:3 rwm\nc 136:* rw");

    // Growing memory and memory+swap together needs memsw written first; shrinking, last.
    await d.update(p, { memory: { limit: 128 << 20, ...(swapAcct ? { swap: 256 << 20 } : {}) } });
    assert.equal(read(p, "memory", "memory.limit_in_bytes"), String(128 << 20));
    await d.update(p, { memory: { limit: 8 << 20, ...(swapAcct ? { swap: 8 << 20 } : {}) } });
    assert.equal(read(p, "memory", "memory.limit_in_bytes"), String(8 << 20));
    if (swapAcct) assert.equal(read(p, "memory", "memory.memsw.limit_in_bytes"), String(8 << 20));
    await d.update(p, { cpu: { quota: -1 }, pids: { limit: 0 } });
    assert.equal(read(p, "cpu", "cpu.cfs_quota_us"), "-1");
    assert.equal(read(p, "pids", "pids.max"), "max");
  });

  test("what v1 cannot hold is refused before anything is made", async () => {
    const p = `${parent}/refused`;
    await assert.rejects(d.create(p, { unified: { "memory.high": "1M" } }), CgroupUnsupportedError);
    if (!has("hugetlb")) await assert.rejects(d.create(p, { hugepageLimits: [{ pageSize: "2MB", limit: 1 << 21 }] }), /hugetlb.*not mounted/);
    await assert.rejects(d.create(p, { cpu: { shares: 1 } }), /shares: 1 is outside/);
    assert.equal(d.exists(p), false);
    for (const h of layout.hierarchies) assert.equal(existsSync(join(h.ownDir, p)), false);
  });

  cgroupDriverSuite({
    driver: d,
    parent,
    dirsOf: (path) => layout.hierarchies.map((h) => join(h.ownDir, path)),
    isFrozen: (path) => read(path, "freezer", "freezer.state") === "FROZEN",
    swapAccounting: swapAcct,
  });

  after(() => {
    for (const h of layout.hierarchies) assert.equal(existsSync(join(h.ownDir, parent)), false, `${h.ownDir}/${parent} left behind`);
  });
});
