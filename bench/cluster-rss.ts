// cluster-rss: memory (RSS and its peak, from /proc/PID/status) of keel's control plane and
// kubelets with pods on them.
//  1. `keel cluster up --nodes 3` (the bundled CLI, dist/bundle/keel.js, in a child process):
//     that ONE process holds the API server, controller-manager, scheduler, DNS and the three
//     kubelets (cluster/up.ts), so its RSS is control plane + 3 kubelets together. Measured idle,
//     with 100 busybox pods on the 3 real nodes, and with 1,000 pods: the 100 real ones plus 900
//     on simulated nodes (controlplane/sim-nodes, run in this bench process, not in the cluster's)
//     that the real nodes could not hold. The pods' own processes (sandbox + sleep) are summed
//     apart. A 1-node cluster is measured idle too, so (3-node − 1-node) / 2 estimates what one
//     more kubelet (with its node's network sync) costs.
//  2. The control plane alone: `keel apiserver`, `keel controller-manager` and `keel scheduler`
//     as three processes of the bundled CLI, then `keel control-plane` (the same three in one
//     process), each with 1,000 pods on simulated nodes.
// --quick: 10 real pods and 100 (90 simulated) / 200 on simulated nodes. --control-plane-only:
// part 2 alone (no cluster, no root needed for it).
// Anchors: k3s server about 1.6 GB, k3s agent about 275 MB. Targets: control plane < 150 MB,
// kubelet < 100 MB.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "../api/index.js";
import { KubeClient, R } from "../controlplane/kit/index.js";
import { startSimNodes, simNodeSpecs, type SimNodes } from "../controlplane/sim-nodes/index.js";
import { writeReport, type Row } from "./lib/report.js";
import { KEEL_CLI } from "./lib/keel-cli.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";
import { isPodReady } from "../controlplane/controllers/index.js";

const SIM_LABEL = "keel.dev/bench-sim";
const MiB = 1024 * 1024;

/** VmRSS and VmHWM (peak RSS) of one process, in bytes. */
function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** The RSS summed over every descendant of pid (the pods' sandbox and container processes). */
function descendantsRss(pid: number): { count: number; rss: number } {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch { /* gone */ }
  }
  let count = 0, rss = 0;
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    try { rss += rssOf(p).rss; count++; } catch { /* gone */ }
    stack.push(...(children.get(p) ?? []));
  }
  return { count, rss };
}

interface Child { child: ChildProcess; exited: Promise<unknown>; pid: number }

/**
 * Runs `node keel.js ARGS`; resolves once a line of its stdout or stderr (the daemons log their
 * start to stderr) matches `ready`, with that line. Both pipes keep being drained.
 */
async function startKeel(args: string[], ready: RegExp): Promise<Child & { line: string }> {
  const child = spawn(process.execPath, [KEEL_CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((r) => child.once("exit", r));
  let tail = "";
  const line = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const onData = (c: Buffer) => {
      tail = (tail + c).slice(-2000);
      buf += c;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) if (ready.test(l)) resolve(l);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (c) => reject(new Error(`keel ${args[0]} exited with ${c} before it was ready: ${tail}`)));
  });
  return { child, exited, pid: child.pid!, line };
}

async function stop(c: Child, graceMs = 60_000): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill("SIGTERM");
  await Promise.race([c.exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (c.child.exitCode === null && c.child.signalCode === null) { c.child.kill("SIGKILL"); await c.exited; }
}

function deployment(name: string, replicas: number, onSim: boolean) {
  return {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: "default" },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 0,
          ...(onSim ? { nodeSelector: { [SIM_LABEL]: "true" } } : {}),
          containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"], resources: { requests: { cpu: "1m", memory: "1Mi" } } }],
        },
      },
    },
  };
}


async function untilReady(client: KubeClient, app: string, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = (await client.list<Pod>(R.pods, "default", { labelSelector: `app=${app}` })).items;
    const ready = pods.filter(isPodReady).length;
    if (ready >= n) return;
    if (Date.now() > deadline) throw new Error(`${app}: ${ready}/${n} pods Ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Lets the heap settle after a burst (timers, GC) before RSS is read. */
const settle = () => new Promise((r) => setTimeout(r, 3000));

const mib = (b: number) => Math.round((b / MiB) * 10) / 10;

function simNodesFor(pods: number, prefix: string) {
  // 110 pods a node, as the kubelet's default maxPods, with some room.
  return simNodeSpecs(Math.ceil(pods / 100), { prefix, labels: { [SIM_LABEL]: "true" }, capacity: { cpu: "32", memory: "128Gi", pods: "110" } });
}

async function clusterPhase(quick: boolean, rows: Row[], notes: string[]): Promise<void> {
  const realPods = quick ? 10 : 100, totalPods = quick ? 100 : 1000;
  // A 1-node cluster, idle: the base for the marginal cost of a node.
  {
    const dir = mkdtempSync(join(tmpdir(), "keel-bench-rss-"));
    const c = await startKeel(["cluster", "up", "--nodes", "1", "--data-dir", dir, "--listen", "127.0.0.1:0", "--name", `rs${process.pid % 10000}a`, "-q"], /node\(s\) Ready/);
    try {
      await settle();
      const m = rssOf(c.pid);
      rows.push({ subject: "keel cluster up --nodes 1, idle (control plane + 1 kubelet, one process)", rss_MiB: mib(m.rss), peak_MiB: mib(m.peak), pods: 0, pod_procs_MiB: null, pod_procs: null });
    } finally {
      await stop(c);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-rss-"));
  const c = await startKeel(["cluster", "up", "--nodes", "3", "--data-dir", dir, "--listen", "127.0.0.1:0", "--name", `rs${process.pid % 10000}b`, "-q"], /node\(s\) Ready/);
  let sim: SimNodes | undefined;
  const client = new KubeClient(join(dir, "admin.kubeconfig"), "keel-bench");
  try {
    await settle();
    const sample = (what: string, pods: number) => {
      const m = rssOf(c.pid), d = descendantsRss(c.pid);
      rows.push({ subject: what, rss_MiB: mib(m.rss), peak_MiB: mib(m.peak), pods, pod_procs_MiB: mib(d.rss), pod_procs: d.count });
      console.log(`${what}: RSS ${mib(m.rss)} MiB (peak ${mib(m.peak)}), ${d.count} pod processes ${mib(d.rss)} MiB`);
      return m;
    };
    const idle = sample("keel cluster up --nodes 3, idle (control plane + 3 kubelets, one process)", 0);
    const base1 = Number(rows[0]!.rss_MiB);
    notes.push(`One more node (kubelet + its network sync) in the cluster process, idle: (3-node − 1-node) / 2 = ${((mib(idle.rss) - base1) / 2).toFixed(1)} MiB.`);
    await client.create(R.deployments, "default", deployment("keel-bench-rss-real", realPods, false) as never);
    await untilReady(client, "keel-bench-rss-real", realPods, 600_000);
    await settle();
    sample(`keel cluster, ${realPods} pods on the 3 real nodes`, realPods);
    sim = await startSimNodes({ kubeconfig: join(dir, "admin.kubeconfig"), nodes: simNodesFor(totalPods - realPods, `keel-bench-rss-sim${process.pid % 10000}`), leaseRenewMs: 10_000 });
    await client.create(R.deployments, "default", deployment("keel-bench-rss-sim", totalPods - realPods, true) as never);
    await untilReady(client, "keel-bench-rss-sim", totalPods - realPods, 600_000);
    await settle();
    sample(`keel cluster, ${totalPods} pods (${realPods} on the 3 real nodes, ${totalPods - realPods} on ${Math.ceil((totalPods - realPods) / 100)} simulated)`, totalPods);
  } finally {
    client.close();
    await sim?.close().catch(() => {});
    await stop(c, 120_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One way to run the control plane: its processes of the bundled CLI, started in this order. */
interface ControlPlaneLayout {
  /** The row for the whole control plane, e.g. "keel control plane (3 processes)". */
  label: string;
  parts: { name: string; args: (dir: string, kubeconfig: string) => string[]; ready: RegExp }[];
}

const THREE_PROCESSES: ControlPlaneLayout = {
  label: "keel control plane (3 processes)",
  parts: [
    { name: "apiserver", args: (dir) => ["apiserver", "--data-dir", dir, "--listen", "127.0.0.1:0"], ready: /^https?:\/\// },
    { name: "controller-manager", args: (_d, kc) => ["controller-manager", "--kubeconfig", kc], ready: /^controller-manager .* started/ },
    { name: "scheduler", args: (_d, kc) => ["scheduler", "--kubeconfig", kc], ready: /^scheduler .* started/ },
  ],
};

const ONE_PROCESS: ControlPlaneLayout = {
  label: "keel control-plane (one process)",
  parts: [{ name: "control-plane", args: (dir) => ["control-plane", "--data-dir", dir, "--listen", "127.0.0.1:0"], ready: /^control plane running/ }],
};

/** The control plane alone, idle and with `pods` pods on simulated nodes (run in this process). */
async function controlPlanePhase(quick: boolean, layout: ControlPlaneLayout, rows: Row[]): Promise<void> {
  const pods = quick ? 200 : 1000;
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-rss-cp-"));
  const kubeconfig = join(dir, "admin.kubeconfig");
  const parts: Child[] = [];
  let sim: SimNodes | undefined;
  let client: KubeClient | undefined;
  try {
    for (const p of layout.parts) parts.push(await startKeel(p.args(dir, kubeconfig), p.ready));
    client = new KubeClient(kubeconfig, "keel-bench");
    sim = await startSimNodes({ kubeconfig, nodes: simNodesFor(pods, `keel-bench-rss-cp${process.pid % 10000}`) });
    await settle();
    const sample = (pods: number) => {
      let total = 0, totalPeak = 0;
      parts.forEach((p, i) => {
        const m = rssOf(p.pid);
        total += m.rss; totalPeak += m.peak;
        if (parts.length > 1) rows.push({ subject: `keel ${layout.parts[i]!.name} (own process), ${pods} pods`, rss_MiB: mib(m.rss), peak_MiB: mib(m.peak), pods, pod_procs_MiB: null, pod_procs: null });
      });
      rows.push({ subject: `${layout.label}, ${pods} pods`, rss_MiB: mib(total), peak_MiB: mib(totalPeak), pods, pod_procs_MiB: null, pod_procs: null });
      console.log(`${layout.label}, ${pods} pods: ${mib(total)} MiB (peak${parts.length > 1 ? "s" : ""} ${mib(totalPeak)})`);
    };
    sample(0);
    await client.create(R.deployments, "default", deployment("keel-bench-rss-cp", pods, true) as never);
    await untilReady(client, "keel-bench-rss-cp", pods, 600_000);
    await settle();
    sample(pods);
  } finally {
    client?.close();
    await sim?.close().catch(() => {});
    for (const p of parts.reverse()) await stop(p);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main({ quick, argv }: { quick: boolean; argv: string[] }): Promise<void> {
  reexecInPrivateMountNs({ hideCgroup2: false });
  const rows: Row[] = [], notes: string[] = [];
  if (!argv.includes("--control-plane-only")) await clusterPhase(quick, rows, notes);
  await controlPlanePhase(quick, THREE_PROCESSES, rows);
  await controlPlanePhase(quick, ONE_PROCESS, rows);
  rows.push({ subject: "k3s server, anchor", rss_MiB: 1600, peak_MiB: null, pods: null, pod_procs_MiB: null, pod_procs: null });
  rows.push({ subject: "k3s agent, anchor", rss_MiB: 275, peak_MiB: null, pods: null, pod_procs_MiB: null, pod_procs: null });
  const cp3 = rows.filter((r) => r.subject.startsWith(THREE_PROCESSES.label)).pop();
  const cp1 = rows.filter((r) => r.subject.startsWith(ONE_PROCESS.label)).pop();
  const out = writeReport({
    name: "cluster-rss", title: "keel control plane and kubelet memory (RSS) with pods",
    params: { quick, image: "busybox sleep 3600" },
    rows,
    ratios: Object.fromEntries([cp3, cp1].filter((r) => r !== undefined).map((r) => [`${r.subject.replace(/,.*/, "")} RSS at ${r.pods} pods / 150 MiB target`, Number(r.rss_MiB) / 150])),
    chart: { figure: "rss_MiB", unit: "MiB" },
    notes: [
      "RSS is VmRSS from /proc/PID/status, peak is VmHWM, both in MiB; each process is the bundled CLI (node dist/bundle/keel.js).",
      "`keel cluster up` runs the API server, controller-manager, scheduler, DNS and every kubelet in ONE process: its RSS holds the control plane and all 3 kubelets together, so it is compared with k3s server + 3 agents. The kubelet alone is not a process of its own there.",
      "pod_procs / pod_procs_MiB: the pods' own processes (each pod's sandbox and its busybox sleep, with whatever keel keeps beside them), counted and summed over the cluster process's descendants; not part of the control plane or kubelet figures.",
      "Simulated nodes (controlplane/sim-nodes, like kwok) run in the bench's own process, so their memory is in neither figure; they mark their pods Running and Ready through the API server, so the control plane holds and serves every pod as with real nodes.",
      "Split into three processes the control plane pays Node's own baseline (V8 heap, code, libuv: some 40-50 MiB idle) three times; in `keel cluster up` the same parts share one runtime, which is why the one-process figure with three kubelets can be below the three-process control plane.",
      "`keel control-plane` runs the API server, controller-manager and scheduler in one process (as k3s's server does). It and `keel apiserver` keep V8's young generation at its initial size and let the old one grow at most 20% past what the last full collection left (leanApiServerV8 in cli/commands/apiserver.ts). The controller-manager and scheduler still reach the API server over loopback HTTPS (up to 64 keep-alive connections each, the kit client's pool), so both ends of those connections, some 60 KiB of TLS state each, are in that one process.",
      ...notes,
    ],
  });
  console.log(`→ ${out.md}`);
}
