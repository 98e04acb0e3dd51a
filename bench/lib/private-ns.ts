// Runs the benchmark in a private mount namespace (nothing it mounts can reach the host: overlay
// rootfs, volumes, network namespaces' bind mounts). By default the hybrid machine's
// controller-less cgroup2 is hidden under a tmpfs there, so that crun, which refuses hybrid mode,
// sees a plain v1 machine (DESIGN.md: how crun was measured); keel and runc see the same thing, so
// the comparison stays fair. Benchmarks of keel alone keep it (`{ hideCgroup2: false }`): the
// kubelet's pod cgroups are measured as they run on this machine.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { native } from "../../native/index.js";

export function reexecInPrivateMountNs({ hideCgroup2 = true }: { hideCgroup2?: boolean } = {}): void {
  if (process.env.KEEL_BENCH_PRIVATE_NS === "1") {
    if (!hideCgroup2) return;
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
