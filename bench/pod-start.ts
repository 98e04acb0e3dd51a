// pod-start: pod start-up latency through the API server, as Kubernetes' SLO defines it: from
// the pod's creation to all its containers running, as observed by a watch (image pull excluded:
// busybox is already in the kubelet's image store). An in-process API server on 127.0.0.1:0 and
// one real kubelet (own roots, pods in loopback-only network namespaces: no CNI, the host's
// network is never touched); pods bound by spec.nodeName (no scheduler). Sequential pods and
// batches of 10 created at once; interleaved with the sequential pods, the floor: the same
// lifecycle for one bare container through keel's in-process runtime (overlay rootfs from the
// same image, create, start, in a new network namespace).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import type { Pod } from "../api/index.js";
import { startApiServer, type RunningApiServer } from "../controlplane/apiserver/index.js";
import { KubeClient, R, type WatchHandle } from "../controlplane/kit/index.js";
import { startKubelet, type RunningKubelet } from "../kubelet/index.js";
import { ImageService } from "../images/index.js";
import { Runtime } from "../runtime/runtime.js";
import { defaultSpec } from "../runtime/default-spec.js";
import { summarize } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { ensureDebianPackages } from "./lib/ensure.js";
import { removeCgroupDirs } from "./lib/cgroup-cleanup.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";

const BATCH = 10;
const TIMEOUT_MS = 60_000;

class PodStartTimeout extends Error {
  constructor(readonly pods: string[], readonly phase: string) {
    super(`${phase}: no watch event within ${TIMEOUT_MS / 1000}s for ${pods.join(", ")}`);
    this.name = "PodStartTimeout";
  }
}

/** The kubelet's pod start histogram's sum (s) and count, from its /metrics. */
async function podStartMetric(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { sum: num("kubelet_pod_start_duration_seconds_sum"), count: num("kubelet_pod_start_duration_seconds_count") };
}

function allRunning(p: Pod): boolean {
  const want = p.spec?.containers?.length ?? 0;
  const cs = p.status?.containerStatuses ?? [];
  return p.status?.phase === "Running" && want > 0 && cs.length === want && cs.every((c) => !!c.state?.running);
}

/** One pod watch for the whole run: when each pod was first seen with all containers running, and when it was seen deleted. */
class PodWatch {
  private readonly running = new Map<string, (t: number) => void>();
  private readonly deleted = new Map<string, () => void>();
  private handle?: WatchHandle;
  private stopped = false;
  error?: Error;

  constructor(private readonly client: KubeClient, private readonly ns: string) {}

  start(): void {
    this.handle = this.client.watch<Pod>(R.pods, this.ns, {}, (ev) => {
      const t = performance.now();
      const name = ev.object.metadata?.name ?? "";
      if (ev.type === "DELETED") {
        this.deleted.get(name)?.();
        this.deleted.delete(name);
      } else if ((ev.type === "ADDED" || ev.type === "MODIFIED") && allRunning(ev.object)) {
        this.running.get(name)?.(t);
        this.running.delete(name);
      }
    }, (err) => {
      // A watch that ends mid-run would silently stall every waiter: reopen it (the waiters
      // still match on the next Running or DELETED event) unless we are done.
      if (this.stopped) return;
      this.error = err;
      this.start();
    });
  }

  stop(): void {
    this.stopped = true;
    this.handle?.stop();
  }

  /** Resolves with the performance.now() of the first watch event showing `name` all running. */
  runningAt(name: string): Promise<number> {
    return new Promise((resolve) => this.running.set(name, resolve));
  }

  gone(name: string): Promise<void> {
    return new Promise((resolve) => this.deleted.set(name, resolve));
  }
}

function withTimeout<T>(p: Promise<T>, pods: string[], phase: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new PodStartTimeout(pods, phase)), TIMEOUT_MS))),
  ]);
}

export async function main({ quick, argv }: { quick: boolean; argv: string[] }): Promise<void> {
  ensureDebianPackages(["busybox-static"]);
  reexecInPrivateMountNs({ hideCgroup2: false });
  // The machine is shared (2 cores): the load when the run began says how much to trust it.
  const loadAtStart = Math.round(loadavg()[0] * 100) / 100;
  const sequential = quick ? 10 : 50;
  // --sync-ms=N: the kubelet's pod worker resync period (default: the kubelet's own, 500 ms).
  const syncArg = argv.find((a) => a.startsWith("--sync-ms="));
  const syncIntervalMs = syncArg ? Number(syncArg.slice("--sync-ms=".length)) : undefined;
  const batches = quick ? 2 : 10;
  const suffix = randomBytes(3).toString("hex");
  const node = `keel-bench-node-${suffix}`;
  const floorCgroup = `keel-bench-pod-start-${suffix}`;
  const ns = "default";
  const work = mkdtempSync(join(tmpdir(), "keel-bench-pod-start-"));
  // KEEL_BENCH_LOG=1: the API server's and kubelet's log, with ms since start, to see where a pod's time goes.
  const log = process.env.KEEL_BENCH_LOG ? (m: string) => console.error(`${performance.now().toFixed(1)} ${m}`) : undefined;

  const podLat: number[] = [];
  const batchLat: number[] = [];
  const batchRates: number[] = [];
  const floorLat: number[] = [];
  const failures: string[] = [];
  let seqWall = 0;
  const kubeletSide: { seq?: { n: number; meanMs: number }; batch?: { n: number; meanMs: number } } = {};

  let server: RunningApiServer | undefined;
  let kubelet: RunningKubelet | undefined;
  let client: KubeClient | undefined;
  let watch: PodWatch | undefined;
  let floorRt: Runtime | undefined;
  let floorImages: ImageService | undefined;
  const created = new Set<string>();
  const floorLive = new Set<string>();

  try {
    // The kubelet's image store and the floor's, each with busybox built locally.
    const imageRoot = join(work, "images");
    await (await ImageService.open(imageRoot)).buildBusybox();
    floorImages = await ImageService.open(join(work, "floor-images"));
    await floorImages.buildBusybox();
    floorRt = new Runtime({ root: join(work, "floor-runtime") });

    server = await startApiServer({ dataDir: join(work, "api"), listen: "127.0.0.1:0", log });
    client = new KubeClient(server.kubeconfigPath, "keel-bench-pod-start");
    kubelet = await startKubelet({
      kubeconfig: server.kubeconfigPath, nodeName: node, root: join(work, "kubelet"), logDir: join(work, "logs"),
      imageRoot, hostIP: "127.0.0.1", stopPods: true, evictionMemoryAvailableMin: 0, log, listen: "127.0.0.1:0", syncIntervalMs,
    });
    watch = new PodWatch(client, ns);
    watch.start();

    const podSpec = (name: string): Pod => ({
      apiVersion: "v1", kind: "Pod",
      metadata: { name, namespace: ns, labels: { app: "keel-bench-pod-start" } },
      spec: {
        nodeName: node, terminationGracePeriodSeconds: 1, restartPolicy: "Never",
        containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }],
      },
    } as Pod);

    /** Creates the pods at once; returns each one's create → all-running-seen latency (ms) and the wall time of the group. */
    const startPods = async (names: string[], phase: string) => {
      const w = watch!;
      const t0 = performance.now();
      const lats = await withTimeout(Promise.all(names.map(async (name) => {
        const seen = w.runningAt(name);
        const t = performance.now();
        created.add(name);
        log?.(`bench: creating pod ${ns}/${name}`);
        await client!.create<Pod>(R.pods, ns, podSpec(name));
        return (await seen) - t;
      })), names, phase);
      return { lats, wallMs: performance.now() - t0 };
    };
    const deletePods = async (names: string[]) => {
      await withTimeout(Promise.all(names.map(async (name) => {
        const gone = watch!.gone(name);
        await client!.delete(R.pods, ns, name);
        await gone;
        created.delete(name);
      })), names, "delete");
    };

    let floorN = 0;
    const floorOnce = async (record: boolean) => {
      const id = `keel-bench-floor-${suffix}-${floorN++}`;
      const bundle = join(work, "floor-bundles", id);
      mkdirSync(bundle, { recursive: true });
      floorLive.add(id);
      const t0 = performance.now();
      const { rootfs } = await floorImages!.snapshots.prepare("busybox", id);
      const spec = defaultSpec({ rootfs, args: ["sleep", "3600"], network: true });
      spec.linux!.cgroupsPath = `${floorCgroup}/${id}`;
      writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
      await floorRt!.create(id, bundle, { stdio: "ignore" });
      await floorRt!.start(id);
      const ms = performance.now() - t0;
      if (record) floorLat.push(ms);
      await stopFloor(id);
    };
    const stopFloor = async (id: string) => {
      await floorRt!.kill(id, "SIGKILL").catch(() => {});
      await floorRt!.wait(id).catch(() => {});
      await floorRt!.delete(id, { force: true }).catch(() => {});
      await floorImages!.snapshots.release(id).catch(() => {});
      floorLive.delete(id);
    };

    // Warm-up, not counted: one pod and one bare container.
    await startPods([`keel-bench-warm-${suffix}`], "warm-up");
    await deletePods([`keel-bench-warm-${suffix}`]);
    await floorOnce(false);
    const m0 = await podStartMetric(kubelet.url!);

    // Sequential: one pod at a time (kept until the group is done, as a node fills up), each
    // followed by a bare container.
    const seqNames: string[] = [];
    for (let i = 0; i < sequential; i++) {
      const name = `keel-bench-seq-${suffix}-${i}`;
      seqNames.push(name);
      try {
        const { lats, wallMs } = await startPods([name], "sequential");
        podLat.push(lats[0]);
        seqWall += wallMs;
      } catch (e) {
        failures.push(`sequential pod ${name}: ${(e as Error).message}`);
        break;
      }
      try {
        await floorOnce(true);
      } catch (e) {
        failures.push(`bare container: ${(e as Error).message}`);
      }
      process.stderr.write(`\rpod-start: sequential ${i + 1}/${sequential}`);
    }
    process.stderr.write("\n");
    const m1 = await podStartMetric(kubelet.url!);
    kubeletSide.seq = { n: m1.count - m0.count, meanMs: ((m1.sum - m0.sum) / (m1.count - m0.count)) * 1000 };
    await deletePods(seqNames.filter((n) => created.has(n)));

    // Batches of 10 created at once, deleted before the next batch.
    for (let b = 0; b < batches; b++) {
      const names = Array.from({ length: BATCH }, (_, i) => `keel-bench-batch-${suffix}-${b}-${i}`);
      try {
        const { lats, wallMs } = await startPods(names, `batch ${b}`);
        batchLat.push(...lats);
        batchRates.push(BATCH / (wallMs / 1000));
      } catch (e) {
        failures.push(`batch ${b}: ${(e as Error).message}`);
        break;
      } finally {
        await deletePods(names.filter((n) => created.has(n))).catch((e) => failures.push(`delete batch ${b}: ${(e as Error).message}`));
      }
      process.stderr.write(`\rpod-start: batch ${b + 1}/${batches}`);
    }
    process.stderr.write("\n");
    const m2 = await podStartMetric(kubelet.url!);
    kubeletSide.batch = { n: m2.count - m1.count, meanMs: ((m2.sum - m1.sum) / (m2.count - m1.count)) * 1000 };
  } catch (e) {
    failures.push(`run: ${(e as Error).message}`);
  } finally {
    // Every pod left in the API is deleted, every container stopped, then everything closed.
    if (client) for (const name of created) await client.delete(R.pods, ns, name, { gracePeriodSeconds: 0 }).catch(() => {});
    watch?.stop();
    if (kubelet) {
      await kubelet.core.stopAll(0).catch((e) => failures.push(`kubelet stopAll: ${(e as Error).message}`));
      await kubelet.close().catch((e) => failures.push(`kubelet close: ${(e as Error).message}`));
    }
    for (const id of [...floorLive]) {
      await floorRt?.kill(id, "SIGKILL").catch(() => {});
      await floorRt?.delete(id, { force: true }).catch(() => {});
      await floorImages?.snapshots.release(id).catch(() => {});
    }
    client?.close();
    await server?.close().catch(() => {});
    removeCgroupDirs(floorCgroup);
    removeCgroupDirs(`keel-kubepods-${node}`);
    rmSync(work, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const row = (subject: string, xs: number[], podsPerS: number) => {
    if (!xs.length) return undefined;
    const s = summarize(xs);
    rows.push({ subject, n: s.n, p50_ms: s.p50_ms, p90_ms: s.p90_ms, p99_ms: s.p99_ms, max_ms: s.max_ms, mean_ms: s.mean_ms, per_s: r3(podsPerS) });
    return s;
  };
  const seq = row("pod, sequential (create → running seen by watch)", podLat, podLat.length / (seqWall / 1000));
  const batch = row(`pod, batches of ${BATCH} (create → running seen by watch)`, batchLat, batchRates.length ? batchRates.reduce((a, b) => a + b, 0) / batchRates.length : NaN);
  const floor = row("bare container, keel in-process (rootfs + create + start)", floorLat, floorLat.length / (floorLat.reduce((a, b) => a + b, 0) / 1000));
  for (const [k, v] of Object.entries(kubeletSide)) {
    if (v && v.n > 0) rows.push({ subject: `kubelet's own view, ${k === "seq" ? "sequential" : "batches"} (pod seen → all running, metric mean)`, n: v.n, mean_ms: r3(v.meanMs) });
  }
  if (seq && kubeletSide.seq) ratios["kubelet's own mean / end-to-end mean (sequential)"] = kubeletSide.seq.meanMs / seq.mean_ms;
  if (batch && kubeletSide.batch) ratios[`kubelet's own mean / end-to-end mean (batch of ${BATCH})`] = kubeletSide.batch.meanMs / batch.mean_ms;
  if (seq && floor) ratios["pod sequential p50 / bare container p50"] = seq.p50_ms / floor.p50_ms;
  if (batch && floor) ratios[`pod batch-of-${BATCH} p50 / bare container p50`] = batch.p50_ms / floor.p50_ms;
  if (seq) ratios["pod sequential p99 / SLO 5 s"] = seq.p99_ms / 5000;
  if (batch) ratios[`pod batch-of-${BATCH} p99 / SLO 5 s`] = batch.p99_ms / 5000;
  const notes = [...failures.map((f) => `failed: ${f}`)];
  notes.push(
    "SLO anchor: Kubernetes' pod start-up latency SLO is p99 ≤ 5 s for stateless pods, image pull excluded, measured from creation to all containers reported started as observed by a watch. Here: one kubelet, an in-process keel API server (SQLite, HTTPS on 127.0.0.1), pods bound by spec.nodeName (no scheduler), busybox already local.",
    "Each pod: one sandbox (keel-pause, new net/ipc/uts namespaces, loopback only) + one container `sleep 3600`, both children of the pod's keel-supervisor (pod mode). Sequential pods accumulate on the node until the group is deleted; batch pods are created at once and deleted before the next batch.",
    `per_s: pods (or containers) started per second — sequential: n / sum of latencies; batches: ${BATCH} / (first create → last running seen), averaged over batches.`,
    "kubelet's own view: the mean of kubelet_pod_start_duration_seconds (from the kubelet's /metrics, a histogram: mean only) over the same pods; the rest of the end-to-end latency is the API server, the watches (kubelet's and ours) and the status write.",
    "Where a pod's time goes (KEEL_BENCH_LOG=1 prints the kubelet's events with ms timestamps): the kubelet starts one native supervisor per pod (keel-supervisor pod) and hands it the spawn plans of the sandbox and the app container over a unix socket; no Node.js process starts per container (bench/pod-start-static.ts measures the node alone, without the API server).",
    "--sync-ms=N sets the kubelet's pod-worker resync period (default 500 ms) to see how much of the latency is waiting for the next pass.",
    "Floor: the least a node can do for one container — an overlay rootfs from the same local image, then create + start of `sleep 3600` in a new network namespace through keel's in-process Runtime (no supervisor, no sandbox, no API), interleaved with the sequential pods.",
  );
  const files = writeReport({ name: "pod-start", title: "pod start-up latency (create → all containers running, seen by watch)", params: { sequential, batches, batchSize: BATCH, quick, syncIntervalMs: syncIntervalMs ?? "default (500)", loadavg1mAtStart: loadAtStart }, rows, ratios, chart: { figure: "p50_ms", unit: "ms" }, notes });
  console.log(readFileSync(files.md, "utf8"));
}
