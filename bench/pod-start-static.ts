// pod-start-static: static pod start-up on one node, keel's kubelet next to `podman kube play`.
// keel: a Pod manifest written (atomically) into the kubelet's manifests directory → the pod's
// containers all running and the pod Ready, as the kubelet computes its status (in-process, no
// API server). podman: `podman kube play` of the same pod (same busybox bytes, loaded into a
// private podman store) → the command returns with the pod's containers started. One pod at a
// time (p50/p99), then a burst of 50 written at once (time until all are Ready).
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { Pod, PodStatus } from "../api/index.js";
import { startKubelet, type RunningKubelet } from "../kubelet/index.js";
import { ImageService } from "../images/index.js";
import { summarize } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { removeCgroupDirs } from "./lib/cgroup-cleanup.js";
import { kubePlayStore, sleepPodManifest, podmanError, roomForCrunCgroups, unmountUnder, type KubePlayStore } from "./lib/podman.js";

const run = promisify(execFile);
const TIMEOUT_MS = 60_000;
const BURST = 50;

class ReadyTimeout extends Error {
  constructor(readonly pods: string[]) {
    super(`not Ready within ${TIMEOUT_MS / 1000}s: ${pods.slice(0, 5).join(", ")}${pods.length > 5 ? ", ..." : ""}`);
    this.name = "ReadyTimeout";
  }
}

const podManifest = (name: string, image: string) => sleepPodManifest(name, image, "keel-bench-static");

function isReady(st: PodStatus): boolean {
  return st.phase === "Running" && !!st.conditions?.some((c) => c.type === "Ready" && c.status === "True") &&
    !!st.containerStatuses?.length && st.containerStatuses.every((c) => !!c.state?.running);
}

/** Watches the kubelet's pod statuses: when each pod (by name) was first Ready. */
class ReadyWatch {
  private readonly waiters = new Map<string, (t: number) => void>();
  onStatus = (pod: Pod, st: PodStatus): void => {
    if (!isReady(st)) return;
    const name = pod.metadata.name!;
    const w = this.waiters.get(name);
    if (w) {
      this.waiters.delete(name);
      w(performance.now());
    }
  };
  readyAt(name: string): Promise<number> {
    return new Promise((resolve) => this.waiters.set(name, resolve));
  }
}

function withTimeout<T>(p: Promise<T>, pods: string[]): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ReadyTimeout(pods)), TIMEOUT_MS))),
  ]);
}

export async function main({ quick }: { quick: boolean; argv: string[] }): Promise<void> {
  ensureDebianPackages(["busybox-static", "podman", "catatonit", "crun"]);
  reexecInPrivateMountNs();
  roomForCrunCgroups();
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  const singles = quick ? 10 : 20;
  const suffix = randomBytes(3).toString("hex");
  const node = `keel-bench-static-${suffix}`;
  const work = mkdtempSync(join(tmpdir(), "keel-bench-static-"));
  const manifests = join(work, "manifests");
  mkdirSync(manifests);
  const failures: string[] = [];
  const keelSingle: number[] = [];
  const keelBurstPods: number[] = [];
  let keelBurstAll = NaN;
  const podmanSingle: number[] = [];
  let podmanBurstAll = NaN;

  let kubelet: RunningKubelet | undefined;
  let podman: KubePlayStore | undefined;
  const watch = new ReadyWatch();
  try {
    const imageRoot = join(work, "images");
    await (await ImageService.open(imageRoot)).buildBusybox();
    kubelet = await startKubelet({
      manifests, nodeName: node, root: join(work, "kubelet"), logDir: join(work, "logs"), imageRoot, hostIP: "127.0.0.1",
      stopPods: true, evictionMemoryAvailableMin: 0, onPodStatus: watch.onStatus,
    });
    const k = kubelet;
    const file = (name: string) => join(manifests, `${name}.json`);
    const write = (name: string) => {
      // Atomically: the kubelet never reads half a manifest.
      const tmp = join(manifests, `.${name}.tmp`);
      writeFileSync(tmp, JSON.stringify(podManifest(name, "busybox")));
      renameSync(tmp, file(name));
    };
    const gone = async (names: string[]) => {
      for (const n of names) rmSync(file(n), { force: true });
      const end = Date.now() + TIMEOUT_MS;
      while ([...k.core.workers.values()].some((w) => names.includes(w.pod.metadata.name!))) {
        if (Date.now() > end) throw new Error(`pods not removed: ${names.join(", ")}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const startPods = async (names: string[]) => {
      const t0 = performance.now();
      const ready = names.map((n) => watch.readyAt(n));
      for (const n of names) write(n);
      const at = await withTimeout(Promise.all(ready), names);
      return { lats: at.map((t) => t - t0), allMs: Math.max(...at) - t0 };
    };

    // keel: warm-up, singles, burst.
    await startPods([`keel-warm-${suffix}`]);
    await gone([`keel-warm-${suffix}`]);
    for (let i = 0; i < singles; i++) {
      const name = `keel-single-${suffix}-${i}`;
      try {
        keelSingle.push((await startPods([name])).lats[0]);
      } catch (e) {
        failures.push(`keel single ${i}: ${(e as Error).message}`);
      }
      await gone([name]);
      process.stderr.write(`\rpod-start-static: keel single ${i + 1}/${singles}`);
    }
    process.stderr.write("\n");
    const burst = Array.from({ length: BURST }, (_, i) => `keel-burst-${suffix}-${i}`);
    try {
      const r = await startPods(burst);
      keelBurstPods.push(...r.lats);
      keelBurstAll = r.allMs;
    } catch (e) {
      failures.push(`keel burst: ${(e as Error).message}`);
    }
    await gone(burst);
    await kubelet.close();
    kubelet = undefined;
    removeCgroupDirs(`keel-kubepods-${node}`);

    // podman: the same pods through `podman kube play` (image name as podman's store has it).
    podman = kubePlayStore(work);
    const p = podman;
    const yaml = (names: string[]) => {
      const f = join(work, `podman-${names[0]}.yaml`);
      // JSON is YAML; several pods are several documents.
      writeFileSync(f, names.map((n) => JSON.stringify(podManifest(n, "localhost/busybox:latest"))).join("\n---\n"));
      return f;
    };
    const env = process.env;
    const play = async (names: string[]) => {
      const f = yaml(names);
      const t0 = performance.now();
      try {
        await run("podman", [...p.args, "--runtime", p.runtime, "kube", "play", "--network", "none", f], { cwd: work, env, timeout: TIMEOUT_MS });
        return performance.now() - t0;
      } finally {
        p.track();
      }
    };
    const down = async (names: string[]) => {
      await run("podman", [...p.args, "pod", "rm", "-f", "-t", "0", ...names], { cwd: work, env, timeout: TIMEOUT_MS }).catch((e) => failures.push(`podman pod rm: ${podmanError(e)}`));
    };
    await play([`podman-warm-${suffix}`]).catch((e) => failures.push(`podman warm-up: ${podmanError(e)}`));
    await down([`podman-warm-${suffix}`]);
    for (let i = 0; i < singles && failures.length < 5; i++) {
      const name = `podman-single-${suffix}-${i}`;
      try {
        podmanSingle.push(await play([name]));
      } catch (e) {
        failures.push(`podman single ${i}: ${podmanError(e)}`);
      }
      await down([name]);
      process.stderr.write(`\rpod-start-static: podman single ${i + 1}/${singles}`);
    }
    process.stderr.write("\n");
    const pburst = Array.from({ length: BURST }, (_, i) => `podman-burst-${suffix}-${i}`);
    try {
      podmanBurstAll = await play(pburst);
    } catch (e) {
      failures.push(`podman burst: ${podmanError(e)}`);
    }
    await down(pburst);
  } catch (e) {
    failures.push(`run: ${(e as Error).message}`);
  } finally {
    if (kubelet) await kubelet.close().catch((e) => failures.push(`kubelet close: ${(e as Error).message}`));
    podman?.close();
    removeCgroupDirs(`keel-kubepods-${node}`);
    unmountUnder(work);
    try { rmSync(work, { recursive: true, force: true }); } catch (e) { failures.push(`clean-up: ${(e as Error).message}`); }
  }

  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const row = (subject: string, xs: number[]) => {
    if (!xs.length) return undefined;
    const s = summarize(xs);
    rows.push({ subject, n: s.n, p50_ms: s.p50_ms, p90_ms: s.p90_ms, p99_ms: s.p99_ms, max_ms: s.max_ms, mean_ms: s.mean_ms });
    return s;
  };
  const ks = row("keel, 1 pod (manifest written → Ready)", keelSingle);
  const ps = row("podman kube play, 1 pod (command → returned, started)", podmanSingle);
  row(`keel, burst of ${BURST}: each pod (manifest written → Ready)`, keelBurstPods);
  if (!Number.isNaN(keelBurstAll)) rows.push({ subject: `keel, burst of ${BURST}: all Ready`, n: 1, all_ms: Math.round(keelBurstAll * 1000) / 1000 });
  if (!Number.isNaN(podmanBurstAll)) rows.push({ subject: `podman kube play, ${BURST} pods in one file: returned`, n: 1, all_ms: Math.round(podmanBurstAll * 1000) / 1000 });
  if (ks) ratios["keel single p99 / target 100 ms"] = ks.p99_ms / 100;
  if (!Number.isNaN(keelBurstAll)) ratios[`keel burst of ${BURST} all Ready / target 3 s`] = keelBurstAll / 3000;
  if (ks && ps) ratios["keel single p50 / podman single p50"] = ks.p50_ms / ps.p50_ms;
  if (!Number.isNaN(keelBurstAll) && !Number.isNaN(podmanBurstAll)) ratios[`keel burst / podman burst (${BURST} pods)`] = keelBurstAll / podmanBurstAll;
  const notes = failures.map((f) => `failed: ${f}`);
  notes.push(
    "Each pod: a sandbox + one container `sleep 3600` from the local busybox image, restartPolicy Never, no network (keel: loopback-only network namespace; podman: --network none). Image pull excluded (local on both sides).",
    "keel: one in-process kubelet (own roots) watching its manifests directory (inotify); the pod's supervisor (keel-supervisor pod, one native process per pod) clones the sandbox and the container from plans the kubelet builds; Ready is the kubelet's own status computation. Singles are removed (and their removal awaited) before the next.",
    "podman: `podman kube play --network none` in a private store (own --root/--runroot/--tmpdir, cgroupfs), file locks in its own tmpdir (not the machine-wide shared-memory lock table), crun as runtime through a wrapper that clamps RLIMIT_NOFILE to 1024 (this machine has no CAP_SYS_RESOURCE, and kube play has no --ulimit for the infra container); timed until the command returns (its containers started; no probes, so started is Ready). The burst is one multi-document file (podman plays its pods one after another).",
    "Both run in one private mount namespace with the hybrid machine's controller-less cgroup2 hidden (crun refuses hybrid mode), so both see a plain cgroup v1 machine.",
    "Targets (issue 6): single-pod p99 under 100 ms, 50-pod burst all Ready under 3 s. Anchors: Kubernetes' SLO p99 ≤ 5 s excluding image pull; Borg's median task start-up about 25 s.",
  );
  const files = writeReport({
    name: "pod-start-static", title: "static pod start-up: keel kubelet vs podman kube play",
    params: { singles, burst: BURST, quick, loadavg1mAtStart: loadAtStart }, rows, ratios, chart: { figure: "p50_ms", unit: "ms" }, notes,
  });
  console.log(readFileSync(files.md, "utf8"));
}
