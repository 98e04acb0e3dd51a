// A private podman store for a benchmark: its own root, runroot and tmpdir under `work` (podman
// serializes on its tmpdir), cgroupfs (this machine's only manager), keel's busybox loaded so
// every subject runs the same bytes, and a bounded reset at the end.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { removeCgroupDirs } from "./cgroup-cleanup.js";

const keelJs = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "cli", "keel.js");

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
  execFileSync(process.execPath, [keelJs, "image", "export", "busybox", "-o", archive], { stdio: "ignore" });
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
