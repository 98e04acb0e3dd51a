// Measures pod networking's cost (not a test: run by hand as root, in a private mount namespace as
// scripts/test.sh does: `unshare -m --propagation private node dist/test/cni/podnet-measure.js [N]`):
// N sequential PodNetwork.add + del in namespaces it creates, the time per pod, how long the
// event loop was held (the 99th percentile and worst delay of a 1 ms timer), this process's CPU time (all its threads) per pod and the child processes spawned per pod (counted by wrapping
// node:child_process). Prints one JSON line.
import childProcess from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { syncBuiltinESMExports } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const n = Number(process.argv[2] ?? 50);
process.env.KEEL_TEST = "1";
const tag = `keel-m${process.pid % 100000}`;
const names = [`${tag}-node`, ...Array.from({ length: n }, (_, i) => `${tag}-p${i}`)];
const dir = mkdtempSync(join(tmpdir(), "keel-podnet-measure-"));
try {
  for (const name of names) execFileSync("ip", ["netns", "add", name]);
  let spawns = 0;
  const cp = childProcess as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const fn of ["execFile", "spawn", "exec", "fork", "execFileSync", "spawnSync", "execSync"]) {
    const orig = cp[fn]!;
    cp[fn] = (...a: unknown[]) => {
      spawns++;
      return orig(...a);
    };
  }
  syncBuiltinESMExports();
  const { PodNetwork } = await import("../../cni/index.js");
  const net = new PodNetwork({ nodeNetns: `/run/netns/${tag}-node`, podCIDR: "10.77.0.0/24", stateDir: dir });
  // one warm-up pod (the bridge is made once per node): not counted
  await net.add({ containerId: "keelwarm", netns: `/run/netns/${tag}-p0` });
  await net.del({ containerId: "keelwarm", netns: `/run/netns/${tag}-p0` });
  spawns = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let addMs = 0;
  for (let i = 0; i < n; i++) {
    const p = { containerId: `keelm${i}`, netns: `/run/netns/${tag}-p${i}` };
    const a = performance.now();
    await net.add(p);
    addMs += performance.now() - a;
    await net.del(p);
  }
  const total = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  console.log(JSON.stringify({ pods: n, msPerPod: +(total / n).toFixed(2), addMsPerPod: +(addMs / n).toFixed(2), spawnsPerPod: +(spawns / n).toFixed(2), cpuMsPerPod: +((cpu.user + cpu.system) / 1000 / n).toFixed(2), loopDelayP99Ms: +(loop.percentile(99) / 1e6).toFixed(2), loopDelayMaxMs: +(loop.max / 1e6).toFixed(2) }));
} finally {
  for (const name of names) {
    try {
      execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
    } catch {
      // not made
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
