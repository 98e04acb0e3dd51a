// podman: `podman run --rm IMAGE true` with keel-runc, crun and runc as podman's OCI runtime,
// interleaved in one run (cgroupfs manager, no network, the ulimits this machine allows);
// p50/p90/p99 and each runtime's ratio to crun.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exec } from "./lib/exec.js";
import { summarize, timeIt } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { podmanStore, PODMAN_RUN, type PodmanStore } from "./lib/podman.js";

const here = dirname(fileURLToPath(import.meta.url));
const keelRunc = join(here, "..", "cli", "keel-runc.bundle.js");


export async function main({ quick }: { quick: boolean }): Promise<void> {
  ensureDebianPackages(["podman", "crun", "runc"]);
  reexecInPrivateMountNs();
  const iterations = quick ? 8 : 50;
  const work = mkdtempSync(join(tmpdir(), "keel-bench-podman-"));
  const runArgs = [...PODMAN_RUN, "true"];
  let store: PodmanStore | undefined;
  const runtimes: [string, string][] = [["keel-runc", keelRunc], ["crun", "crun"], ["runc", "runc"]];
  const samples = new Map<string, number[]>(runtimes.map(([n]) => [n, []]));
  const notes: string[] = [];
  try {
    store = podmanStore(work);
    const base = store.args;
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
    store?.reset();
    rmSync(work, { recursive: true, force: true });
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
