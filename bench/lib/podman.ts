// A private podman store for a benchmark: its own root, runroot and tmpdir under `work` (podman
// serializes on its tmpdir), cgroupfs (this machine's only manager), keel's busybox loaded so
// every subject runs the same bytes, and a bounded reset at the end.
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { MNT_DETACH, MS, native } from "../../native/index.js";
import { join } from "node:path";
import { removeCgroupDirs } from "./cgroup-cleanup.js";
import { KEEL_CLI } from "./keel-cli.js";


/** `podman run` arguments every benchmark uses: no network, the ulimits this machine allows. */
export const PODMAN_RUN = ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "localhost/busybox:latest"];

export interface PodmanStore {
  /** Global flags: pass before the verb. */
  args: string[];
  reset(): void;
}

export function podmanStore(work: string): PodmanStore {
  const args = ["--root", join(work, "podman-root"), "--runroot", join(work, "podman-run"), "--tmpdir", join(work, "podman-tmp"), "--cgroup-manager=cgroupfs", "--events-backend", "none"];
  const archive = join(work, "busybox.tar");
  execFileSync(process.execPath, [KEEL_CLI, "image", "export", "busybox", "-o", archive], { stdio: "ignore" });
  execFileSync("podman", [...args, "load", "-i", archive], { stdio: ["ignore", "ignore", "inherit"], cwd: "/tmp" });
  return {
    args,
    reset() {
      try {
        execFileSync("podman", [...args, "system", "reset", "--force"], { stdio: "ignore", timeout: 30000, cwd: "/tmp" });
      } catch { /* best effort */ }
      removeCgroupDirs("libpod_parent");
    },
  };
}

// ---- for `podman kube play` benchmarks (pod-start-static, density) ----

/** crun, with RLIMIT_NOFILE clamped to what this machine allows: podman's infra container asks for 1048576 (no CAP_SYS_RESOURCE here) and `kube play` has no --ulimit for it. */
export function crunClamp(dir: string): string {
  const file = join(dir, "crun-clamp");
  writeFileSync(file, `#!/bin/sh
b=""; prev=""
for a in "$@"; do
  if [ "$prev" = "--bundle" ] || [ "$prev" = "-b" ]; then b=$a; fi
  prev=$a
done
if [ -n "$b" ] && [ -f "$b/config.json" ]; then
  sed -i 's/"type":"RLIMIT_NOFILE","hard":[0-9]*,"soft":[0-9]*/"type":"RLIMIT_NOFILE","hard":1024,"soft":1024/' "$b/config.json"
fi
exec /usr/bin/crun "$@"
`);
  chmodSync(file, 0o755);
  return file;
}

/**
 * lib/private-ns hides the hybrid machine's cgroup2 under a 1 MiB tmpfs so that crun runs; crun
 * still writes a directory per container there, which fills 1 MiB at ~128 pods. Make it roomier.
 */
export function roomForCrunCgroups(): void {
  if (!/ \/sys\/fs\/cgroup\/unified .* - tmpfs /.test(readFileSync("/proc/self/mountinfo", "utf8"))) return;
  try { native.mount(null, "/sys/fs/cgroup/unified", null, MS.REMOUNT, "size=64m"); } catch { /* keep the small one */ }
}

/** A containers.conf for a benchmark's podman: ulimits this machine allows, file locks in its own tmpdir. */
export function podmanConf(dir: string): string {
  const file = join(dir, "containers.conf");
  writeFileSync(file, `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n\n[engine]\nlock_type = "file"\n`);
  return file;
}

/** What a failed podman command said: its first container's own error, else its last line. */
export function podmanError(e: unknown): string {
  const lines = (e as { stderr?: string }).stderr?.trim().split("\n").filter(Boolean) ?? [];
  return lines.find((l) => /starting container/.test(l))?.replace(/^\[/, "").slice(0, 300) ?? lines.pop() ?? (e as Error).message.split("\n")[0];
}

/** Unmounts everything mounted under dir (deepest first): podman's storage leaves mounts in our private mount namespace. */
export function unmountUnder(dir: string): void {
  const targets = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((t) => t && t.startsWith(dir + "/"));
  for (const t of targets.sort((a, b) => b.length - a.length)) {
    try { native.umount2(t, MNT_DETACH); } catch { /* already gone */ }
  }
}

/** conmon processes serving containers of the podman store under `work`, and their children (the containers' first processes). */
export function podmanProcesses(work: string): number[] {
  const procs: { pid: number; ppid: number; conmon: boolean }[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const conmon = stat.includes("(conmon)") && readFileSync(`/proc/${d}/cmdline`, "utf8").includes(work);
      procs.push({ pid: Number(d), ppid, conmon });
    } catch { /* gone */ }
  }
  const conmons = new Set(procs.filter((p) => p.conmon).map((p) => p.pid));
  return procs.filter((p) => conmons.has(p.pid) || conmons.has(p.ppid)).map((p) => p.pid);
}

/** SIGKILLs what `podman system reset` left of the processes seen (still in a libpod cgroup). */
export function killPodmanLeftovers(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/cgroup`, "utf8").includes("libpod")) process.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}
