// podman: `podman run --rm IMAGE true` with keel-runc, crun and runc as podman's OCI runtime,
// interleaved in one run (cgroupfs manager, no network, the ulimits this machine allows);
// p50/p90/p99 and each runtime's ratio to crun.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exec } from "./lib/exec.js";
import { summarize, timeIt } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { removeCgroupDirs } from "./lib/cgroup-cleanup.js";

const here = dirname(fileURLToPath(import.meta.url));
const keelJs = join(here, "..", "cli", "keel.js");
const keelRunc = join(here, "..", "cli", "keel-runc.bundle.js");


export async function main({ quick }: { quick: boolean }): Promise<void> {
  ensureDebianPackages(["podman", "crun", "runc"]);
  reexecInPrivateMountNs();
  const iterations = quick ? 8 : 50;
  const work = mkdtempSync(join(tmpdir(), "keel-bench-podman-"));
  const base = ["--root", join(work, "root"), "--runroot", join(work, "run"), "--tmpdir", join(work, "tmp"), "--cgroup-manager=cgroupfs", "--events-backend", "none"];
  const runArgs = ["run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "localhost/busybox:latest", "true"];
  const runtimes: [string, string][] = [["keel-runc", keelRunc], ["crun", "crun"], ["runc", "runc"]];
  const samples = new Map<string, number[]>(runtimes.map(([n]) => [n, []]));
  const notes: string[] = [];
  try {
    execFileSync(process.execPath, [keelJs, "image", "export", "busybox", "-o", join(work, "busybox.tar")], { stdio: "ignore" });
    execFileSync("podman", [...base, "load", "-i", join(work, "busybox.tar")], { stdio: "ignore" });
    for (const [name, rt] of runtimes) await exec("podman", [...base, "--runtime", rt, ...runArgs]).catch((e) => notes.push(`${name} warm-up: ${(e as Error).message}`));
    for (let i = 0; i < iterations; i++) {
      for (const [name, rt] of runtimes) {
        try {
          samples.get(name)!.push(await timeIt(() => exec("podman", [...base, "--runtime", rt, ...runArgs])));
        } catch (e) {
          notes.push(`${name}: ${(e as Error).message}`);
        }
      }
      process.stderr.write(`\rpodman: ${i + 1}/${iterations}`);
    }
    process.stderr.write("\n");
  } finally {
    try {
      execFileSync("podman", [...base, "system", "reset", "--force"], { stdio: "ignore", timeout: 30000 });
    } catch { /* best effort */ }
    rmSync(work, { recursive: true, force: true });
    removeCgroupDirs("libpod_parent");
  }
  const crun = samples.get("crun")!;
  const crunP50 = crun.length ? summarize(crun).p50_ms : NaN;
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  for (const [name] of runtimes) {
    const xs = samples.get(name)!;
    if (!xs.length) continue;
    const s = summarize(xs);
    rows.push({ subject: `podman run --rm (${name})`, n: s.n, p50_ms: s.p50_ms, p90_ms: s.p90_ms, p99_ms: s.p99_ms, p50_vs_crun: Math.round((s.p50_ms / crunP50) * 1000) / 1000 });
    ratios[`${name} p50 / crun p50`] = s.p50_ms / crunP50;
  }
  const files = writeReport({ name: "podman", title: "podman run --rm busybox true, by OCI runtime", params: { iterations, quick }, rows, ratios, chart: { figure: "p50_ms", unit: "ms" }, notes: [...new Set(notes)].slice(0, 10) });
  console.log((await import("node:fs")).readFileSync(files.md, "utf8"));
}
