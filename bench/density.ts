// density: what a pod costs a node beyond its containers, keel next to podman, in one run.
// keel: a `keel kubelet --manifests DIR` process (its own roots) runs N pods of one `sleep`
// container each; per pod it adds a supervisor (keel-supervisor pod) and the sandbox's keel-pause
// (holding the pod's net/ipc/uts namespaces). podman: `podman kube play` of the same pods; per
// pod it adds an infra container (catatonit) and a conmon for each container. Measured at 10,
// 100 and 300 pods: those processes' PSS (their share of memory, shared pages divided among
// sharers) and RSS per pod, the app containers' own PSS for reference, the kernel's growth per
// pod (slab, kernel stacks, page tables from /proc/meminfo), and the kubelet's own RSS.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { ImageService } from "../images/index.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { removeCgroupDirs } from "./lib/cgroup-cleanup.js";
import { kubePlayStore, sleepPodManifest, podmanError, roomForCrunCgroups, unmountUnder, type KubePlayStore } from "./lib/podman.js";
import { KEEL_CLI } from "./lib/keel-cli.js";

const run = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * 1024;

const podManifest = (name: string, image: string) => sleepPodManifest(name, image, "keel-bench-density");

/** Pss and Rss of a process in bytes (smaps_rollup), or undefined once it is gone. */
function memOf(pid: number): { pss: number; rss: number } | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? 0) * KiB;
    return { pss: kb("Pss"), rss: kb("Rss") };
  } catch {
    return undefined;
  }
}

function sum(pids: number[]): { pss: number; rss: number; n: number } {
  let pss = 0, rss = 0, n = 0;
  for (const pid of pids) {
    const m = memOf(pid);
    if (!m) continue;
    pss += m.pss;
    rss += m.rss;
    n++;
  }
  return { pss, rss, n };
}

/** The kernel's own memory that grows with processes and namespaces (bytes). */
function kernelBytes(): number {
  const t = readFileSync("/proc/meminfo", "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? 0) * KiB;
  return kb("Slab") + kb("KernelStack") + kb("PageTables");
}

/** Processes by executable name, with their parent pids. */
function processes(): { pid: number; ppid: number; comm: string; cmdline: string }[] {
  const out: { pid: number; ppid: number; comm: string; cmdline: string }[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.push({ pid: Number(d), ppid, comm, cmdline: readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ") });
    } catch { /* gone */ }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  pods: number;
  perPodPss: number;
  perPodRss: number;
  containerPss: number;
  kernelPerPod: number;
  managerRss?: number;
}

export async function main({ quick }: { quick: boolean; argv: string[] }): Promise<void> {
  ensureDebianPackages(["busybox-static", "podman", "catatonit", "crun"]);
  reexecInPrivateMountNs();
  roomForCrunCgroups();
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  const steps = quick ? [10, 30] : [10, 100, 300];
  const suffix = randomBytes(3).toString("hex");
  const node = `keel-bench-density-${suffix}`;
  const work = mkdtempSync(join(tmpdir(), "keel-bench-density-"));
  const failures: string[] = [];
  const keel: Sample[] = [];
  const pod: Sample[] = [];
  let kubelet: ChildProcess | undefined;
  let podman: KubePlayStore | undefined;
  const kernel0 = kernelBytes();
  try {
    // ---- keel ----
    const imageRoot = join(work, "images");
    await (await ImageService.open(imageRoot)).buildBusybox();
    const manifests = join(work, "manifests");
    const root = join(work, "kubelet");
    mkdirSync(manifests);
    const kernelBefore = kernelBytes();
    kubelet = spawn(process.execPath, [KEEL_CLI, "kubelet", "--manifests", manifests, "--root", root, "--log-dir", join(work, "logs"), "--image-root", imageRoot,
      "--node-name", node, "--host-ip", "127.0.0.1", "--stop-pods-on-exit", "-q"], { stdio: ["ignore", "ignore", "inherit"] });
    const readyCount = () => {
      let n = 0;
      const pods = join(root, "pods");
      if (!existsSync(pods)) return 0;
      for (const uid of readdirSync(pods)) {
        try {
          const st = JSON.parse(readFileSync(join(pods, uid, "status.json"), "utf8")) as { phase?: string; conditions?: { type: string; status: string }[] };
          if (st.phase === "Running" && st.conditions?.some((c) => c.type === "Ready" && c.status === "True")) n++;
        } catch { /* not yet */ }
      }
      return n;
    };
    let have = 0;
    for (const n of steps) {
      for (; have < n; have++) {
        const tmp = join(manifests, `.p${have}.tmp`);
        writeFileSync(tmp, JSON.stringify(podManifest(`keel-density-${suffix}-${have}`, "busybox")));
        renameSync(tmp, join(manifests, `p${have}.json`));
      }
      const end = Date.now() + 300_000;
      while (readyCount() < n && Date.now() < end) await sleep(200);
      if (readyCount() < n) { failures.push(`keel: only ${readyCount()} of ${n} pods Ready`); break; }
      await sleep(2000); // settle: first syncs, log files, lazily touched pages
      const ps = processes();
      const sups = ps.filter((p) => p.comm === "keel-supervisor" && p.cmdline.includes(root)).map((p) => p.pid);
      const pauses = ps.filter((p) => p.comm === "pause" && sups.includes(p.ppid)).map((p) => p.pid);
      const apps = ps.filter((p) => p.comm === "sleep" && sups.includes(p.ppid)).map((p) => p.pid);
      const over = sum([...sups, ...pauses]);
      const kubeletMem = memOf(kubelet.pid!);
      keel.push({
        pods: n, perPodPss: over.pss / n, perPodRss: over.rss / n, containerPss: sum(apps).pss / n,
        kernelPerPod: (kernelBytes() - kernelBefore) / n, managerRss: kubeletMem?.rss,
      });
      process.stderr.write(`density: keel ${n} pods (${sups.length} supervisors, ${pauses.length} pauses)\n`);
    }
    kubelet.kill("SIGTERM");
    await new Promise<void>((r) => { kubelet!.once("exit", () => r()); setTimeout(r, 120_000); });
    kubelet = undefined;
    removeCgroupDirs(`keel-kubepods-${node}`);

    // ---- podman ----
    podman = kubePlayStore(work);
    const p = podman;
    const env = process.env;
    await sleep(2000);
    const kernelBeforeP = kernelBytes();
    have = 0;
    for (const n of steps) {
      const names: string[] = [];
      for (; have < n; have++) names.push(`podman-density-${suffix}-${have}`);
      for (let i = 0; i < names.length; i += 25) {
        const f = join(work, `podman-${i}.yaml`);
        writeFileSync(f, names.slice(i, i + 25).map((nm) => JSON.stringify(podManifest(nm, "localhost/busybox:latest"))).join("\n---\n"));
        try {
          await run("podman", [...p.args, "--runtime", p.runtime, "kube", "play", "--network", "none", f], { cwd: work, env, timeout: 600_000, maxBuffer: 64 * MiB });
        } catch (e) {
          failures.push(`podman kube play (pods ${i}-${i + 24} of this step): ${podmanError(e)}`);
        }
      }
      await sleep(2000);
      p.track();
      const ps = processes();
      const conmons = ps.filter((x) => x.comm === "conmon" && x.cmdline.includes(work)).map((x) => x.pid);
      const infra = ps.filter((x) => x.comm === "catatonit" && conmons.includes(x.ppid)).map((x) => x.pid);
      const apps = ps.filter((x) => x.comm === "sleep" && conmons.includes(x.ppid)).map((x) => x.pid);
      const over = sum([...conmons, ...infra]);
      // Per pod running (one infra each): a play that failed leaves fewer pods than asked for.
      const running = infra.length;
      if (running < n) failures.push(`podman: ${running} of ${n} pods running (figures per running pod)`);
      if (running > 0) pod.push({ pods: running, perPodPss: over.pss / running, perPodRss: over.rss / running, containerPss: sum(apps).pss / running, kernelPerPod: (kernelBytes() - kernelBeforeP) / running });
      process.stderr.write(`density: podman ${n} pods (${conmons.length} conmons, ${infra.length} infra)\n`);
    }
  } catch (e) {
    failures.push(`run: ${(e as Error).message}`);
  } finally {
    if (kubelet) {
      kubelet.kill("SIGTERM");
      await new Promise<void>((r) => { kubelet!.once("exit", () => r()); setTimeout(r, 120_000); });
    }
    podman?.close();
    removeCgroupDirs(`keel-kubepods-${node}`);
    unmountUnder(work);
    try { rmSync(work, { recursive: true, force: true }); } catch (e) { failures.push(`clean-up: ${(e as Error).message}`); }
  }

  const r1 = (x: number) => Math.round(x * 10) / 10;
  const kib = (b: number) => r1(b / KiB);
  const rows: Row[] = [];
  for (const s of keel) rows.push({ subject: `keel, ${s.pods} pods`, pods: s.pods, per_pod_pss_kib: kib(s.perPodPss), per_pod_rss_kib: kib(s.perPodRss), kernel_per_pod_kib: kib(s.kernelPerPod), container_pss_kib: kib(s.containerPss), manager_rss_mib: s.managerRss ? r1(s.managerRss / MiB) : undefined });
  for (const s of pod) rows.push({ subject: `podman, ${s.pods} pods`, pods: s.pods, per_pod_pss_kib: kib(s.perPodPss), per_pod_rss_kib: kib(s.perPodRss), kernel_per_pod_kib: kib(s.kernelPerPod), container_pss_kib: kib(s.containerPss) });
  const ratios: Record<string, number> = {};
  const lastK = keel[keel.length - 1], lastP = pod[pod.length - 1];
  if (lastK) ratios[`keel per-pod PSS at ${lastK.pods} pods / target 1 MiB`] = lastK.perPodPss / MiB;
  if (lastK?.managerRss) ratios[`keel kubelet RSS at ${lastK.pods} pods / target 100 MB`] = lastK.managerRss / 100e6;
  if (lastK && lastP) ratios[`keel per-pod PSS at ${lastK.pods} pods / podman's at ${lastP.pods}`] = lastK.perPodPss / lastP.perPodPss;
  const notes = failures.map((f) => `failed: ${f}`);
  notes.push(
    "per_pod_pss_kib / per_pod_rss_kib: the processes a pod adds beyond its containers, summed and divided by the pods — keel: keel-supervisor (pod mode, static binary) + keel-pause; podman: conmon for the infra container and for the app container + catatonit (infra). PSS divides shared pages among their sharers, so it is what one more pod costs; RSS counts them whole.",
    "kernel_per_pod_kib: growth of Slab + KernelStack + PageTables (/proc/meminfo) since before the first pod, divided by the pods: the whole pod (its namespaces, the extra processes and the container). The machine is shared, so this figure is noisy.",
    "container_pss_kib: the app container's own process (`sleep 3600`), for reference. manager_rss_mib: the keel kubelet process's RSS (podman has no resident manager).",
    "Each pod: one container `sleep 3600` from the local busybox image, restartPolicy Never; keel pods in a loopback-only network namespace, podman pods with --network none; podman uses its own store with file locks and runs crun through a wrapper that clamps RLIMIT_NOFILE (no CAP_SYS_RESOURCE here), pods played 25 per `podman kube play` file.",
    "Targets (issue 6): under 1 MiB per pod beyond its containers, the kubelet under 100 MB at 300 pods.",
  );
  const files = writeReport({
    name: "density", title: "density: memory per pod beyond its containers, keel vs podman",
    params: { steps: steps.join(","), quick, loadavg1mAtStart: loadAtStart, kernelBytesAtStart: kernel0 }, rows, ratios, chart: { figure: "per_pod_pss_kib", unit: "KiB" }, notes,
  });
  console.log(readFileSync(files.md, "utf8"));
}
