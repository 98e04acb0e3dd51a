// A private podman store for a benchmark: its own root, runroot and tmpdir under `work` (podman
// serializes on its tmpdir), cgroupfs (this machine's only manager), keel's busybox loaded so
// every subject runs the same bytes, and a bounded reset at the end.
import { execFileSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { MNT_DETACH, MS, native } from "../../native/index.js";
import { join } from "node:path";
import { removeCgroupDirs } from "./cgroup-cleanup.js";
import { KEEL_CLI } from "./keel-cli.js";
import type { Pod } from "../../api/index.js";


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

/** The pod both sides run: one `sleep 3600` container from the local image, never restarted. */
export function sleepPodManifest(name: string, image: string, app: string): Pod {
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: "default", labels: { app } },
    spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 0, containers: [{ name: "c", image, imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] },
  } as Pod;
}

/** A private store set up for `podman kube play`, and what its clean-up needs. */
export interface KubePlayStore extends PodmanStore {
  /** The crun wrapper to pass as --runtime (crunClamp). */
  runtime: string;
  /** Notes the store's conmons and containers now running, for close to kill what reset leaves. */
  track(): void;
  /** Resets the store, kills the leftovers seen, forgets the configuration (the caller unmounts `work`). */
  close(): void;
}

/**
 * podmanStore for `kube play`: every podman call of the run (the store's load and reset too)
 * reads a containers.conf of ulimits this machine allows and file locks under the store's own
 * tmpdir instead of the machine-wide shared-memory lock table, which other podman users share (and
 * exhaust, at 2048); crun runs through crunClamp.
 */
export function kubePlayStore(work: string): KubePlayStore {
  process.env.CONTAINERS_CONF = podmanConf(work);
  const store = podmanStore(work);
  const seen = new Set<number>();
  return {
    ...store,
    runtime: crunClamp(work),
    track() {
      for (const pid of podmanProcesses(work)) seen.add(pid);
    },
    close() {
      store.reset();
      killPodmanLeftovers(seen);
      delete process.env.CONTAINERS_CONF;
    },
  };
}

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
