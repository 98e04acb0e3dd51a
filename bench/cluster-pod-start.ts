// cluster-pod-start: `keel cluster up --nodes 3` (in-process clusterUp, as the CLI runs it), then
// bursts of a busybox Deployment (1, 30 and 100 replicas; --quick: 1 and 10) created through the
// API server. A pod watch (started before the create) timestamps each pod when its ADDED event
// arrives and when it is first seen Running with condition Ready=True. Per pod two latencies:
//  - from the Deployment create request being sent (includes the deployment and replicaset
//    controllers making the pod, the scheduler and the kubelet): "create → Ready";
//  - from the pod's ADDED event (metadata.creationTimestamp is second-granular, so the watch's
//    own clock is used): "pod ADDED → Ready", the closest to the Kubernetes pod-startup SLI;
// and the whole burst: create sent → last pod Ready. Between bursts the Deployment is deleted and
// the bench waits until the watch has seen every pod go.
// Anchors: the Kubernetes SLO (p99 ≤ 5 s excluding image pull) and Kubernetes' 2015 measurement
// (100 nodes, images pre-pulled: p50 0.9-1.9 s, p99 1.6-4.3 s). Target: p99 < 500 ms at 100 pods.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { Node, Pod } from "../api/index.js";
import { kubeletBaseUrl } from "../api/kubelet-endpoint.js";
import { clusterUp } from "../cluster/index.js";
import { KubeClient, R, type WatchHandle } from "../controlplane/kit/index.js";
import { summarize } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { isPodReady } from "../controlplane/controllers/index.js";

const NODES = 3;
const LABEL = "keel-bench-pod-start";
const BURST_TIMEOUT_MS = 300_000;


/** What the watch saw of one burst's pods, in performance.now() milliseconds. */
class PodTimes {
  readonly addedAt = new Map<string, number>();
  readonly readyAt = new Map<string, number>();
  readonly nodeOf = new Map<string, string>();
  readonly boundAt = new Map<string, number>();
  readonly live = new Set<string>();
  private wake: () => void = () => {};

  seen(type: string, p: Pod): void {
    const uid = p.metadata.uid ?? p.metadata.name!;
    const now = performance.now();
    if (type === "DELETED") this.live.delete(uid);
    else {
      this.live.add(uid);
      if (!this.addedAt.has(uid)) this.addedAt.set(uid, now);
      if (p.spec?.nodeName) { this.nodeOf.set(uid, p.spec.nodeName); if (!this.boundAt.has(uid)) this.boundAt.set(uid, now); }
      if (!this.readyAt.has(uid) && isPodReady(p)) this.readyAt.set(uid, now);
    }
    this.wake();
  }

  /** Resolves once cond() holds; rejects after timeoutMs. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.wake = () => {}; reject(new Error(`${what}: not reached after ${timeoutMs / 1000} s`)); }, timeoutMs);
      this.wake = () => { if (cond()) { clearTimeout(timer); this.wake = () => {}; resolve(); } };
      this.wake();
    });
  }
}

/** Watches the bench's pods from a fresh list; re-lists and re-watches if the stream ends. */
async function watchPods(client: KubeClient, times: PodTimes): Promise<{ stop(): void }> {
  let handle: WatchHandle | undefined;
  let stopped = false;
  const open = async () => {
    const list = await client.list<Pod>(R.pods, "default", { labelSelector: `app=${LABEL}` });
    for (const p of list.items) times.seen("ADDED", p);
    handle = client.watch<Pod>(R.pods, "default", { labelSelector: `app=${LABEL}`, resourceVersion: list.metadata?.resourceVersion },
      (ev) => { if (ev.type !== "BOOKMARK") times.seen(ev.type, ev.object); },
      () => { if (!stopped) setTimeout(() => { if (!stopped) open().catch(() => {}); }, 50); });
  };
  await open();
  return { stop: () => { stopped = true; handle?.stop(); } };
}

function deployment(replicas: number) {
  return {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: LABEL, namespace: "default" },
    spec: {
      replicas, selector: { matchLabels: { app: LABEL } },
      template: {
        metadata: { labels: { app: LABEL } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] },
      },
    },
  };
}

interface Burst { replicas: number; fromCreate: number[]; fromAdded: number[]; toBound: number[]; boundToReady: number[]; burstMs: number; perNode: Record<string, number>; cleanupMs: number; steps: Record<string, StepTotal>; cpuMs: number; ownCpuMs: number; ownSysMs: number }

interface StepTotal { sum: number; count: number }

/** The machine's CPU time so far (all cores: user, nice, system, irq, softirq), in ms, from /proc/stat. */
function machineCpuMs(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = f;
  return ((user + nice + system + irq + softirq) * 1000) / 100; // USER_HZ = 100 on Linux
}

/**
 * The kubelets' own account of their pods' starts (keel_kubelet_pod_start_step_duration_seconds
 * from each node's /metrics), summed over the nodes: where the bound → Ready time went.
 */
async function kubeletSteps(client: KubeClient): Promise<Record<string, StepTotal>> {
  const totals: Record<string, StepTotal> = {};
  const nodes = await client.list<Node>(R.nodes);
  for (const n of nodes.items) {
    const text = await (await fetch(new URL("/metrics", kubeletBaseUrl(n)))).text();
    for (const m of text.matchAll(/^keel_kubelet_pod_start_step_duration_seconds_(sum|count)\{step="(\w+)"\} (\S+)$/gm)) {
      const t = (totals[m[2]!] ??= { sum: 0, count: 0 });
      t[m[1] as "sum" | "count"] += Number(m[3]);
    }
  }
  return totals;
}

/** after − before, per step. */
function stepDelta(before: Record<string, StepTotal>, after: Record<string, StepTotal>): Record<string, StepTotal> {
  const out: Record<string, StepTotal> = {};
  for (const [k, a] of Object.entries(after)) out[k] = { sum: a.sum - (before[k]?.sum ?? 0), count: a.count - (before[k]?.count ?? 0) };
  return out;
}

async function burst(client: KubeClient, replicas: number): Promise<Burst> {
  const times = new PodTimes();
  const w = await watchPods(client, times);
  try {
    const stepsBefore = await kubeletSteps(client);
    const cpu0 = machineCpuMs();
    const own0 = process.cpuUsage();
    const sent = performance.now();
    await client.create(R.deployments, "default", deployment(replicas) as never);
    await times.until(() => times.readyAt.size >= replicas, BURST_TIMEOUT_MS, `${replicas} pods Running and Ready`);
    const cpuMs = machineCpuMs() - cpu0;
    const own = process.cpuUsage(own0);
    const ownCpuMs = (own.user + own.system) / 1000;
    const ownSysMs = own.system / 1000;
    const ready = [...times.readyAt.entries()];
    const fromCreate = ready.map(([, t]) => t - sent);
    const fromAdded = ready.map(([uid, t]) => t - times.addedAt.get(uid)!);
    // Where the time goes: ADDED → bound (scheduler) and bound → Ready (kubelet).
    const toBound = ready.map(([uid]) => (times.boundAt.get(uid) ?? NaN) - times.addedAt.get(uid)!).filter(Number.isFinite);
    const boundToReady = ready.map(([uid, t]) => t - (times.boundAt.get(uid) ?? NaN)).filter(Number.isFinite);
    const burstMs = Math.max(...ready.map(([, t]) => t)) - sent;
    const perNode: Record<string, number> = {};
    for (const [uid] of ready) { const n = times.nodeOf.get(uid) ?? "?"; perNode[n] = (perNode[n] ?? 0) + 1; }
    const steps = stepDelta(stepsBefore, await kubeletSteps(client));
    const c0 = performance.now();
    await client.delete(R.deployments, "default", LABEL, { propagationPolicy: "Background" });
    await times.until(() => times.live.size === 0, BURST_TIMEOUT_MS, `${replicas} pods gone`);
    return { replicas, fromCreate, fromAdded, toBound, boundToReady, burstMs, perNode, cleanupMs: performance.now() - c0, steps, cpuMs, ownCpuMs, ownSysMs };
  } finally {
    w.stop();
  }
}

/** `--sizes 1,30` picks the bursts (for profiling one size); default 1, 30, 100 (--quick: 1, 10). */
function sizesFrom(argv: string[], quick: boolean): number[] {
  const i = argv.indexOf("--sizes");
  if (i < 0) return quick ? [1, 10] : [1, 30, 100];
  const sizes = (argv[i + 1] ?? "").split(",").map(Number);
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes: expected comma-separated positive integers, got ${JSON.stringify(argv[i + 1])}`);
  return sizes;
}

export async function main({ quick, argv }: { quick: boolean; argv: string[] }): Promise<void> {
  reexecInPrivateMountNs({ hideCgroup2: false });
  const sizes = sizesFrom(argv, quick);
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-pod-start-"));
  const bursts: Burst[] = [];
  let upMs = 0;
  try {
    const t0 = performance.now();
    const cluster = await clusterUp({ dataDir: dir, nodes: NODES, listen: "127.0.0.1:0", name: `ps${process.pid % 10000}`, stopGraceSec: 0 });
    upMs = performance.now() - t0;
    console.log(`cluster up (${NODES} nodes Ready) in ${(upMs / 1000).toFixed(2)} s`);
    const client = new KubeClient(cluster.kubeconfigPath, "keel-bench");
    try {
      for (const n of sizes) {
        const b = await burst(client, n);
        bursts.push(b);
        const sc = summarize(b.fromCreate), sa = summarize(b.fromAdded);
        console.log(`  machine CPU during the burst: ${(b.cpuMs / 1000).toFixed(2)} core-s (${(b.cpuMs / n).toFixed(1)} ms per pod; on ${cpus().length} cores at least ${(b.cpuMs / cpus().length).toFixed(0)} ms), of which the cluster's process ${(b.ownCpuMs / 1000).toFixed(2)} core-s (${(b.ownSysMs / 1000).toFixed(2)} in the kernel)`);
        console.log(`  kubelet steps (mean ms): ${Object.entries(b.steps).filter(([, t]) => t.count).map(([k, t]) => `${k} ${((t.sum / t.count) * 1000).toFixed(1)}`).join(", ")}`);
        console.log(`${n} replicas: create→Ready p50 ${sc.p50_ms.toFixed(0)} ms p99 ${sc.p99_ms.toFixed(0)} ms; ADDED→Ready p50 ${sa.p50_ms.toFixed(0)} ms p99 ${sa.p99_ms.toFixed(0)} ms (bound→Ready p99 ${summarize(b.boundToReady).p99_ms.toFixed(0)} ms); burst ${b.burstMs.toFixed(0)} ms; per node ${JSON.stringify(b.perNode)}; gone in ${b.cleanupMs.toFixed(0)} ms`);
      }
    } finally {
      client.close();
      await cluster.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: Row[] = [];
  for (const b of bursts) {
    const sc = summarize(b.fromCreate), sa = summarize(b.fromAdded);
    rows.push({ subject: `${b.replicas} replicas: Deployment create → pod Ready`, p50_ms: sc.p50_ms, p99_ms: sc.p99_ms, max_ms: sc.max_ms, mean_ms: null, burst_ms: Math.round(b.burstMs), n: sc.n, per_node: Object.values(b.perNode).sort((x, y) => y - x).join("/") });
    rows.push({ subject: `${b.replicas} replicas: pod ADDED → Ready`, p50_ms: sa.p50_ms, p99_ms: sa.p99_ms, max_ms: sa.max_ms, burst_ms: null, n: sa.n, per_node: null });
    rows.push({ subject: `${b.replicas} replicas: the cluster process's CPU per pod`, p50_ms: null, p99_ms: null, max_ms: null, mean_ms: Math.round((b.ownCpuMs / b.replicas) * 10) / 10, burst_ms: null, n: b.replicas, per_node: null });
    rows.push({ subject: `${b.replicas} replicas: of which in the kernel (system time)`, p50_ms: null, p99_ms: null, max_ms: null, mean_ms: Math.round((b.ownSysMs / b.replicas) * 10) / 10, burst_ms: null, n: b.replicas, per_node: null });
    rows.push({ subject: `${b.replicas} replicas: machine CPU per pod (all cores)`, p50_ms: null, p99_ms: null, max_ms: null, mean_ms: Math.round((b.cpuMs / b.replicas) * 10) / 10, burst_ms: Math.round(b.cpuMs / cpus().length), n: b.replicas, per_node: null });
    const sb = summarize(b.toBound), sr = summarize(b.boundToReady);
    rows.push({ subject: `${b.replicas} replicas: of which ADDED → bound`, p50_ms: sb.p50_ms, p99_ms: sb.p99_ms, max_ms: sb.max_ms, burst_ms: null, n: sb.n, per_node: null });
    rows.push({ subject: `${b.replicas} replicas: of which bound → Ready`, p50_ms: sr.p50_ms, p99_ms: sr.p99_ms, max_ms: sr.max_ms, burst_ms: null, n: sr.n, per_node: null });
    for (const [step, t] of Object.entries(b.steps)) {
      if (t.count > 0) rows.push({ subject: `${b.replicas} replicas: kubelet step ${step}, mean`, p50_ms: null, p99_ms: null, max_ms: null, mean_ms: Math.round((t.sum / t.count) * 1000 * 10) / 10, burst_ms: null, n: t.count, per_node: null });
    }
  }
  rows.push({ subject: "Kubernetes 2015 (100 nodes, pre-pulled), anchor", p50_ms: 900, p99_ms: 1600, max_ms: null, burst_ms: null, n: 0, note: "p50 0.9-1.9 s, p99 1.6-4.3 s (best of range shown)" });
  rows.push({ subject: "Kubernetes SLO, anchor", p50_ms: null, p99_ms: 5000, max_ms: null, burst_ms: null, n: 0, note: "p99 ≤ 5 s excluding image pull" });
  const last = bursts[bursts.length - 1]!;
  const lastAdded = summarize(last.fromAdded), lastCreate = summarize(last.fromCreate);
  const out = writeReport({
    name: "cluster-pod-start", title: `keel cluster (${NODES} nodes): Deployment bursts of ${sizes.join(", ")} pods to Running and Ready`,
    params: { nodes: NODES, bursts: sizes, quick, image: "busybox (pre-pulled, IfNotPresent)", clusterUpMs: Math.round(upMs) },
    rows,
    ratios: {
      [`${last.replicas}-pod ADDED→Ready p99 / 500 ms target`]: lastAdded.p99_ms / 500,
      [`${last.replicas}-pod create→Ready p99 / 500 ms target`]: lastCreate.p99_ms / 500,
    },
    chart: { figure: "p99_ms", unit: "ms" },
    notes: [
      "keel: API server (SQLite), controller-manager, scheduler, DNS and 3 kubelets in one process (cluster up); each node a network namespace with the pod network; busybox already in the image store.",
      "Times are taken by a pod watch in the bench (same machine, HTTPS to the API server): ADDED is when the watch first saw the pod, Ready when it first saw phase Running with Ready=True. 'create →' counts from the moment the Deployment create request was sent.",
      `per_node: how the burst's pods were spread over the nodes (largest first; last burst ${JSON.stringify(last.perNode)}). The Deployment is deleted between bursts and the bench waits for every pod to go (last burst: ${Math.round(last.cleanupMs)} ms).`,
      `'machine CPU per pod': CPU time of the whole machine (every process and the kernel, /proc/stat) from the create to the last pod Ready, divided by the pods; its burst_ms column is that time spread over the ${cpus().length} cores, the floor for the burst on this machine however the work were scheduled.`,
      "'kubelet step' rows: the kubelets' own timing of each step of their pods' starts (keel_kubelet_pod_start_step_duration_seconds on each node's /metrics; queue = kubelet saw the pod → its worker began), mean over the burst's pods.",
      "'ADDED → bound' is the scheduler's share (first seen with spec.nodeName; 0 when the pod was bound before the watch saw it), 'bound → Ready' the kubelet's (sandbox, network, container start, status write).",
      "The target (p99 < 500 ms for the 100-pod burst) is read against both figures: ADDED → Ready is the Kubernetes SLI (pod creation timestamp → observed running); create → Ready adds the controllers' work.",
    ],
  });
  console.log(`→ ${out.md}`);
}
