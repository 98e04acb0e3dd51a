// cgroup-enforcement: the same workloads under keel, runc and crun, read back from the
// container's cgroup before it is deleted:
//   - a busy loop under a cpu quota of 0.5 and 1.5 CPUs for 5 s: cpu used / limit (1.0 is exact)
//   - a memory hog under 64 MiB: was it OOM-killed, and what was the peak?
//   - a fork bomb under pids.max 32: how many processes existed at most, were forks refused?
// On this machine the cgroups are v1; `--v2` is for the run inside the pure-v2 virtual machine
// (`npm run bench -- cgroup-enforcement` runs that too, via ../shared/tools/v2vm, when it can).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Runtime } from "../runtime/runtime.js";
import { BusyboxBundles } from "../runtime/busybox-bundle.js";
import { detectCgroupDriver, type CgroupDriver, type CgroupStats } from "../runtime/cgroups/index.js";
import type { Spec } from "../oci/runtime-spec.js";
import { exec as run } from "./lib/exec.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { removeCgroupDirs } from "./lib/cgroup-cleanup.js";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** One runtime, driven the same way for each: create, start, observe while running, delete. */
interface Engine {
  name: string;
  /** Where this engine puts a relative cgroupsPath: keel and runc under their own cgroup, crun under each hierarchy's root. */
  cgroupOf(cgroupsPath: string): string;
  create(id: string, bundle: string): Promise<void>;
  start(id: string): Promise<void>;
  running(id: string): Promise<boolean>;
  remove(id: string): Promise<void>;
}

function ociEngine(bin: string, root: string): Engine {
  const state = (id: string) => {
    const r = spawnSync(bin, ["--root", root, "state", id], { encoding: "utf8" });
    return r.status === 0 ? (JSON.parse(r.stdout) as { status: string }).status : "gone";
  };
  return {
    name: bin,
    cgroupOf: (p) => (bin === "crun" ? `/${p}` : p),
    create: (id, b) => run(bin, ["--root", root, "create", "--bundle", b, id]),
    start: (id) => run(bin, ["--root", root, "start", id]),
    running: async (id) => ["running", "created"].includes(state(id)),
    remove: (id) => run(bin, ["--root", root, "delete", "--force", id]),
  };
}

function keelEngine(rt: Runtime): Engine {
  return {
    name: "keel",
    cgroupOf: (p) => p,
    create: async (id, b) => void (await rt.create(id, b, { stdio: "ignore" })),
    start: (id) => rt.start(id),
    running: async (id) => ["running", "created"].includes(rt.state(id).status),
    remove: (id) => rt.delete(id, { force: true }),
  };
}

interface Workload {
  name: string;
  resources: NonNullable<Spec["linux"]>["resources"];
  script: string;
  /** Observes the container's cgroup while it runs and after it ends. */
  measure(engine: Engine, id: string, cgroupPath: string, driver: CgroupDriver): Promise<Record<string, number | string | boolean>>;
}

async function waitStopped(engine: Engine, id: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await engine.running(id)) && Date.now() < until) await sleep(50);
}

function cpuWorkload(cpus: number, seconds: number): Workload {
  const period = 100000;
  const loops = Math.ceil(cpus) + 1;
  return {
    name: `cpu quota ${cpus}`,
    resources: { cpu: { quota: Math.round(cpus * period), period } },
    script: `${Array.from({ length: loops }, () => "(while :; do :; done) &").join(" ")} sleep 1000`,
    async measure(engine, id, cgroupPath, driver) {
      await sleep(500); // let the loops start
      const a: CgroupStats = await driver.stats(cgroupPath);
      const t0 = process.hrtime.bigint();
      await sleep(seconds * 1000);
      const b: CgroupStats = await driver.stats(cgroupPath);
      const wallNs = Number(process.hrtime.bigint() - t0);
      const used = (b.cpu.usageNs - a.cpu.usageNs) / wallNs;
      return { used_cpus: Math.round(used * 10000) / 10000, limit_cpus: cpus, used_over_limit: Math.round((used / cpus) * 10000) / 10000 };
    },
  };
}

const memoryWorkload: Workload = {
  name: "memory limit 64MiB",
  resources: { memory: { limit: 64 * MiB, swap: 64 * MiB } },
  script: "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived",
  async measure(engine, id, cgroupPath, driver) {
    await waitStopped(engine, id, 30000);
    const st = await driver.stats(cgroupPath);
    return { oom_killed: st.memory.oomKills > 0, peak_MiB: st.memory.peak !== undefined ? Math.round((st.memory.peak / MiB) * 100) / 100 : "n/a", limit_MiB: 64 };
  },
};

const pidsWorkload: Workload = {
  name: "pids limit 32",
  resources: { pids: { limit: 32 } },
  // busybox sh exits when a fork fails: fork from a subshell so that pid 1 stays.
  script: "(i=0; while [ $i -lt 100 ]; do sleep 1000 & i=$((i+1)); done) 2>/dev/null; sleep 1000",
  async measure(engine, id, cgroupPath, driver) {
    let max = 0;
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      const st = (await driver.stats(cgroupPath)).pids;
      max = Math.max(max, st.current);
      refused = st.failures;
      await sleep(100);
    }
    // The subshell that hit the limit exits after its refused fork, so the peak seen from
    // outside can be one below the limit; what counts is that forks were refused and the
    // count never went past it.
    return { max_pids: max, limit: 32, forks_refused: refused, enforced_exactly: refused > 0 && max <= 32 };
  },
};

export async function main({ quick, argv }: { quick: boolean; argv: string[] }): Promise<void> {
  const inVm = argv.includes("--v2");
  if (!inVm) {
    ensureDebianPackages(["runc", "crun", "busybox-static"]);
    reexecInPrivateMountNs();
  }
  const driver = detectCgroupDriver();
  const seconds = quick ? 2 : 5;
  const work = mkdtempSync(join(tmpdir(), "keel-bench-cg-"));
  const bundles = new BusyboxBundles(work);
  const engines: Engine[] = [keelEngine(new Runtime({ root: join(work, "keel") })), ociEngine("runc", join(work, "runc")), ociEngine("crun", join(work, "crun"))];
  const workloads = [cpuWorkload(0.5, seconds), cpuWorkload(1.5, seconds), memoryWorkload, pidsWorkload];
  const rows: Row[] = [];
  const notes: string[] = [];
  let n = 0;
  try {
    for (const w of workloads) {
      for (const e of engines) {
        const id = `keel-cg-${n++}`;
        const cgroupPath = `keel-bench-cg/${id}`;
        const b = bundles.bundle({ args: ["/bin/sh", "-c", w.script], network: false }, (s) => {
          s.linux!.resources = w.resources;
          s.linux!.cgroupsPath = cgroupPath;
        });
        try {
          await e.create(id, b.dir);
          await e.start(id);
          const m = await w.measure(e, id, e.cgroupOf(cgroupPath), driver);
          rows.push({ subject: `${e.name}: ${w.name}`, cgroup: `v${driver.version}`, ...m });
        } catch (err) {
          notes.push(`${e.name} / ${w.name}: ${(err as Error).message.split("\n")[0]}`);
        } finally {
          await e.remove(id).catch(() => {});
        }
        process.stderr.write(".");
      }
    }
    process.stderr.write("\n");
  } finally {
    await driver.destroy("keel-bench-cg").catch(() => {});
    removeCgroupDirs("keel-bench-cg");
    rmSync(join(work, "crun"), { recursive: true, force: true });
    bundles.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
  const name = inVm ? "cgroup-enforcement-v2" : "cgroup-enforcement";
  const ratios: Record<string, number> = {};
  for (const r of rows) if (typeof r.used_over_limit === "number") ratios[`${r.subject} used/limit`] = r.used_over_limit;
  const files = writeReport({ name, title: `cgroup enforcement (cgroup v${driver.version})`, params: { seconds, quick }, rows, ratios, chart: { figure: "used_over_limit", unit: "used / limit" }, notes });
  console.log((await import("node:fs")).readFileSync(files.md, "utf8"));

  const v2vm = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "tools", "v2vm");
  if (!inVm && existsSync(v2vm) && !argv.includes("--no-v2")) {
    process.stderr.write("cgroup-enforcement: running again under cgroup v2 in the virtual machine\n");
    const r = spawnSync(v2vm, ["--timeout", "900", "--", process.execPath, join(dirname(fileURLToPath(import.meta.url)), "main.js"), "cgroup-enforcement", "--v2", ...(quick ? ["--quick"] : [])], { stdio: "inherit" });
    if (r.status === 77) console.log("(v2 run skipped: v2vm has no usable accelerator here)");
  }
}
