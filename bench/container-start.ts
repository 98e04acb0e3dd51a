// container-start: sequential lifecycles of busybox /bin/true (create, start, wait, delete), with
// and without a new network namespace, for keel's in-process API (both clone modes), keel's CLI,
// runc and crun on the same bundle, interleaved in one run. Reports p50/p90/p99 and each ratio
// to crun's in the same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../runtime/runtime.js";
import { native } from "../native/index.js";
import { BusyboxBundles } from "../runtime/busybox-bundle.js";
import { exec } from "./lib/exec.js";
import { summarize, timeIt, type Summary } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { removeCgroupDirs } from "./lib/cgroup-cleanup.js";
import { KEEL_CLI } from "./lib/keel-cli.js";



interface Subject {
  name: string;
  lifecycle(id: string, bundle: string): Promise<void>;
}

export async function main({ quick }: { quick: boolean }): Promise<void> {
  ensureDebianPackages(["runc", "crun", "busybox-static"]);
  reexecInPrivateMountNs();
  const iterations = quick ? 15 : 150;
  // State and bundle on a tmpfs, as /run is on real hosts (runc keeps its state in /run/runc);
  // here /run is on disk, and every runtime's fsyncs would measure the disk instead.
  const work = mkdtempSync(join(tmpdir(), "keel-bench-"));
  native.mount("tmpfs", work, "tmpfs", 0, "size=256m,mode=755");
  const bundles = new BusyboxBundles(work);
  const roots = { keel: join(work, "keel"), runc: join(work, "runc"), crun: join(work, "crun") };
  const inProc = new Runtime({ root: roots.keel, cloneMode: "fork" });
  const inProcVm = new Runtime({ root: roots.keel, cloneMode: "vm" });
  const lifecycleIn = (rt: Runtime) => async (id: string, bundle: string) => {
    await rt.create(id, bundle, { stdio: "ignore" });
    await rt.start(id);
    await rt.wait(id);
    await rt.delete(id);
  };
  // `run` in the foreground is create + start + wait + delete for runc and crun.
  const oci = (bin: string, root: string) => (id: string, bundle: string) => exec(bin, ["--root", root, "run", "--bundle", bundle, id]);
  const subjects: Subject[] = [
    { name: "keel (in-process, clone3)", lifecycle: lifecycleIn(inProc) },
    { name: "keel (in-process, CLONE_VM)", lifecycle: lifecycleIn(inProcVm) },
    { name: "keel CLI", lifecycle: (id, b) => exec(process.execPath, [KEEL_CLI, "oci", "--root", roots.keel, "run", "--bundle", b, id]) },
    { name: "runc", lifecycle: oci("runc", roots.runc) },
    { name: "crun", lifecycle: oci("crun", roots.crun) },
  ];
  const variants = [
    { netns: true, bundle: bundles.bundle({ args: ["/bin/true"], network: true }, (s) => (s.linux!.cgroupsPath = "keel-bench/net")) },
    { netns: false, bundle: bundles.bundle({ args: ["/bin/true"], network: false }, (s) => (s.linux!.cgroupsPath = "keel-bench/nonet")) },
  ];
  const samples = new Map<string, number[]>();
  const failures = new Map<string, string>();
  try {
    // Warm-up: one of each, not counted.
    for (const v of variants) for (const s of subjects) await s.lifecycle(`keel-bench-warm`, v.bundle.dir).catch((e) => failures.set(s.name, (e as Error).message));
    for (let i = 0; i < iterations; i++) {
      for (const v of variants) {
        for (const s of subjects) {
          if (failures.has(s.name)) continue;
          const key = `${s.name}|${v.netns}`;
          try {
            const ms = await timeIt(() => s.lifecycle(`keel-bench-${i}`, v.bundle.dir));
            (samples.get(key) ?? samples.set(key, []).get(key)!).push(ms);
          } catch (e) {
            failures.set(s.name, (e as Error).message);
          }
        }
      }
      if (i % 10 === 0) process.stderr.write(`\rcontainer-start: ${i + 1}/${iterations}`);
    }
    process.stderr.write("\n");
  } finally {
    bundles.cleanup();
    removeCgroupDirs("keel-bench");
    native.umount2(work, 0);
    rmSync(work, { recursive: true, force: true });
  }
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  for (const v of variants) {
    const crun = samples.get(`crun|${v.netns}`);
    const crunP50 = crun ? summarize(crun).p50_ms : NaN;
    for (const s of subjects) {
      const x = samples.get(`${s.name}|${v.netns}`);
      if (!x) continue;
      const sum: Summary = summarize(x);
      const ratio = sum.p50_ms / crunP50;
      rows.push({ subject: `${s.name}${v.netns ? " +netns" : ""}`, netns: v.netns, n: sum.n, p50_ms: sum.p50_ms, p90_ms: sum.p90_ms, p99_ms: sum.p99_ms, p50_vs_crun: Number.isFinite(ratio) ? Math.round(ratio * 1000) / 1000 : null });
      if (Number.isFinite(ratio)) ratios[`${s.name}${v.netns ? " +netns" : ""} p50 / crun p50`] = ratio;
    }
  }
  const notes = [...failures].map(([s, m]) => `${s} failed: ${m}`);
  notes.push("Each lifecycle: create, start, wait for exit, delete of busybox /bin/true; runc and crun as a foreground `run` (which deletes at exit); keel CLI as `keel oci run --rm` (includes Node start-up).");
  const files = writeReport({ name: "container-start", title: "container start: create+start+wait+delete of /bin/true", params: { iterations, quick }, rows, ratios, chart: { figure: "p50_ms", unit: "ms" }, notes });
  console.log((await import("node:fs")).readFileSync(files.md, "utf8"));
}
