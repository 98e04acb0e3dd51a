// Runs the benchmark in a private mount namespace (nothing it mounts can reach the host), with
// the hybrid machine's controller-less cgroup2 hidden under a tmpfs so that crun, which refuses
// hybrid mode, sees a plain v1 machine (DESIGN.md: how crun was measured). keel and runc see the
// same thing, so the comparison stays fair.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { native } from "../../native/index.js";

export function reexecInPrivateMountNs(): void {
  if (process.env.KEEL_BENCH_PRIVATE_NS === "1") {
    const mounts = readFileSync("/proc/self/mountinfo", "utf8");
    if (/ \/sys\/fs\/cgroup\/unified .* - cgroup2 /.test(mounts)) native.mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", 0, "size=1m");
    return;
  }
  const r = spawnSync("unshare", ["-m", "--propagation", "private", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, KEEL_BENCH_PRIVATE_NS: "1" },
  });
  process.exit(r.status ?? 1);
}
