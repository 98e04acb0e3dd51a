// run: `keel run --rm busybox true` end to end against `podman run --rm` of the same image
// (podman from Debian, crun as its runtime, cgroupfs manager, no network), interleaved in one
// run; p50/p99 and the ratio. The image is keel's busybox, exported as an OCI archive and loaded
// into podman's store so both run the same bytes. Two floors run in the same loop: `node -e 0`
// (Node's own start-up, which any keel command pays) and the in-process runtime running the same
// container (what keel run costs beyond Node's start-up and the image store).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "./lib/exec.js";
import { summarize, timeIt } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { podmanStore, PODMAN_RUN, type PodmanStore } from "./lib/podman.js";
import { KEEL_CLI } from "./lib/keel-cli.js";



export async function main({ quick }: { quick: boolean }): Promise<void> {
  ensureDebianPackages(["podman", "crun"]);
  reexecInPrivateMountNs();
  const iterations = quick ? 10 : 60;
  const work = mkdtempSync(join(tmpdir(), "keel-bench-run-"));
  let store: PodmanStore | undefined;
  const env = { ...process.env, KEEL_CONTAINERS_ROOT: join(work, "keel-containers"), KEEL_STATE_ROOT: join(work, "keel-state") };
  const samples: Record<string, number[]> = { keel: [], podman: [], node: [] };
  const notes: string[] = [];
  try {
    store = podmanStore(work);
    const podman = [...store.args, "--runtime", "crun"];
    const subjects: [string, () => Promise<void>][] = [
      ["keel", () => exec(process.execPath, [KEEL_CLI, "run", "--rm", "busybox", "true"], env)],
      ["podman", () => exec("podman", [...podman, ...PODMAN_RUN, "true"])],
      ["node", () => exec(process.execPath, ["-e", "0"])],
    ];
    for (const [, fn] of subjects) await fn().catch((e) => notes.push(`warm-up: ${(e as Error).message}`));
    for (let i = 0; i < iterations; i++) {
      for (const [name, fn] of subjects) {
        try {
          samples[name]!.push(await timeIt(fn));
        } catch (e) {
          notes.push(`${name}: ${(e as Error).message}`);
          break;
        }
      }
      process.stderr.write(`\rrun: ${i + 1}/${iterations}`);
    }
    process.stderr.write("\n");
  } finally {
    store?.reset();
    rmSync(work, { recursive: true, force: true });
  }
  const rows: Row[] = [];
  for (const [name, xs] of Object.entries(samples)) {
    if (!xs.length) continue;
    const s = summarize(xs);
    const subject = { keel: "keel run --rm", podman: "podman run --rm (crun)", node: "floor: node -e 0" }[name]!;
    rows.push({ subject, n: s.n, p50_ms: s.p50_ms, p90_ms: s.p90_ms, p99_ms: s.p99_ms });
  }
  const ratios: Record<string, number> = {};
  if (samples.keel!.length && samples.podman!.length) ratios["podman p50 / keel p50"] = summarize(samples.podman!).p50_ms / summarize(samples.keel!).p50_ms;
  if (samples.node!.length && samples.podman!.length) ratios["podman p50 / node -e 0 p50 (the best any Node CLI can do)"] = summarize(samples.podman!).p50_ms / summarize(samples.node!).p50_ms;
  if (samples.keel!.length && samples.node!.length) ratios["keel p50 - node -e 0 p50 (ms): keel's own work"] = summarize(samples.keel!).p50_ms - summarize(samples.node!).p50_ms;
  const files = writeReport({ name: "run", title: "keel run --rm busybox true vs podman run --rm", params: { iterations, quick }, rows, ratios, chart: { figure: "p50_ms", unit: "ms" }, notes: [...new Set(notes)].slice(0, 10) });
  console.log((await import("node:fs")).readFileSync(files.md, "utf8"));
}
