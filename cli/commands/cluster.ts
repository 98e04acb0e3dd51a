// `keel cluster up|down|status`: a control plane and N nodes on this machine, each node in its
// own network namespace (nothing is added to the host's); real kubectl talks to it on loopback.
import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { untilSignal } from "../signals.js";

const DEFAULT_DIR = "/var/lib/keel/cluster";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface UpOptions { nodes: string; dataDir: string; listen: string; name?: string; store?: string; detach: boolean; quiet: boolean; timeout: string }

async function up(o: UpOptions): Promise<void> {
  const nodes = Number(o.nodes);
  if (!(Number(o.timeout) > 0)) {
    process.stderr.write(`keel cluster up: --timeout ${o.timeout}: must be a positive number of seconds\n`);
    process.exitCode = 2;
    return;
  }
  const { clusterUp, readState } = await import("../../cluster/index.js");
  if (o.detach) return detach(o, readState);
  const log = o.quiet ? undefined : (m: string) => process.stderr.write(`${m}\n`);
  let stopRequested = false;
  const early = () => { stopRequested = true; };
  process.once("SIGINT", early);
  process.once("SIGTERM", early);
  const started = Date.now();
  // On a terminal (and when the components' own messages are off), one progress line rewritten in place.
  const progress = o.quiet && process.stderr.isTTY
    ? (what: string, done: number, total: number) => process.stderr.write(`\r\x1b[K[${done}/${total}] ${what}${done === total ? ` (${((Date.now() - started) / 1000).toFixed(1)} s)\n` : ""}`)
    : undefined;
  const cluster = await clusterUp({ dataDir: o.dataDir, nodes, listen: o.listen, name: o.name, store: o.store, readyTimeoutMs: Number(o.timeout) * 1000, log, progress });
  process.off("SIGINT", early);
  process.off("SIGTERM", early);
  if (!stopRequested) {
    process.stdout.write(`keel cluster: ${cluster.nodes.length} node(s) Ready, API server ${cluster.url}\n`
      + `  export KUBECONFIG=${cluster.kubeconfigPath}\n  kubectl get nodes\n`
      + `Join a node from another machine that reaches the underlay (command also in ${o.dataDir}/join-command):\n  ${cluster.join.command}\n`
      + `Stop with Ctrl-C, or: keel cluster down --data-dir ${o.dataDir}\n`);
    await untilSignal();
  }
  process.stderr.write("keel cluster: stopping\n");
  await cluster.close();
}

/** -d: the same command without -d, detached, its output in DIR/cluster.log; returns once it is running. */
async function detach(o: UpOptions, readState: (dir: string) => { pid: number; phase: string } | undefined): Promise<void> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const logFile = join(o.dataDir, "cluster.log");
  const out = openSync(logFile, "a");
  const args = process.argv.slice(1).filter((a) => a !== "-d" && a !== "--detach");
  const child = spawn(process.execPath, [...process.execArgv, ...args], { detached: true, stdio: ["ignore", out, out] });
  let exited = false;
  child.once("exit", () => { exited = true; });
  child.unref();
  const deadline = Date.now() + Number(o.timeout) * 1000 + 30_000;
  for (;;) {
    const s = readState(o.dataDir);
    if (s && s.pid === child.pid && s.phase === "running") break;
    if (exited || Date.now() > deadline) {
      process.stderr.write(`keel cluster up: the cluster did not start; see ${logFile}\n`);
      process.exitCode = 1;
      return;
    }
    await sleep(200);
  }
  process.stdout.write(`keel cluster: running as pid ${child.pid} (log ${logFile})\n  export KUBECONFIG=${join(o.dataDir, "admin.kubeconfig")}\n  kubectl get nodes\n`
    + `Stop with: keel cluster down --data-dir ${o.dataDir}\n`);
}

async function status(o: { dataDir: string; json: boolean }): Promise<void> {
  const { clusterStatus } = await import("../../cluster/index.js");
  const s = await clusterStatus({ dataDir: o.dataDir });
  if (o.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + "\n");
    return;
  }
  const w = (line: string) => process.stdout.write(`${line}\n`);
  w(`cluster  ${s.state.dataDir}  pid ${s.state.pid} ${s.processAlive ? "running" : "NOT RUNNING"}  phase ${s.state.phase}  api ${s.state.url ?? "-"}${s.apiError ? `  (${s.apiError})` : ""}`);
  w("");
  w("NODE".padEnd(28) + "READY".padEnd(7) + "ADDRESS".padEnd(16) + "POD CIDR".padEnd(18) + "NETNS");
  for (const n of s.nodes) w(n.name.padEnd(28) + (n.ready ? "True" : "False").padEnd(7) + n.ip.padEnd(16) + (n.podCIDR ?? "-").padEnd(18) + (n.netns ? "yes" : "MISSING"));
  w("");
  w("NAMESPACE".padEnd(16) + "POD".padEnd(40) + "PHASE".padEnd(11) + "IP".padEnd(16) + "NODE");
  for (const p of s.pods) w(p.namespace.padEnd(16) + p.name.padEnd(40) + (p.phase ?? "-").padEnd(11) + (p.podIP ?? "-").padEnd(16) + (p.node ?? "-"));
  if (!s.processAlive || s.nodes.some((n) => !n.ready)) process.exitCode = 1;
}

export function register(program: Command): void {
  const cluster = program.command("cluster").description("a Kubernetes-compatible cluster on this machine: control plane and N nodes, each node in its own network namespace");
  cluster
    .command("up")
    .description("start the API server, controller-manager, scheduler and N kubelets in this process, until SIGINT/SIGTERM (or -d to run in the background)")
    .option("--nodes <n>", "how many nodes (each a network namespace keel-node-<i>)", "1")
    .option("--data-dir <dir>", "PKI, the SQLite store, admin.kubeconfig, the nodes' state and cluster.json", DEFAULT_DIR)
    .option("--listen <host:port>", "the API server's address, on loopback (port 0 picks a free port)", "127.0.0.1:6443")
    .option("--name <tag>", "a tag in the names put on the machine (keel-node-<tag>-<i>), so clusters can coexist")
    .option("--timeout <seconds>", "how long to wait for every node to be Ready", "60")
    .option("--store <store>", "sqlite (in the data dir) or etcd:http://HOST:PORT[,...] (shared with other API servers)", "sqlite")
    .option("-d, --detach", "run in the background; return once every node is Ready", false)
    .option("-q, --quiet", "do not log the components' messages (a progress line instead, on a terminal)", false)
    .addHelpText("after", "\nExamples:\n  keel cluster up --nodes 3\n  kubectl --kubeconfig /var/lib/keel/cluster/admin.kubeconfig get nodes\n")
    .action(up);
  cluster
    .command("down")
    .description("stop the cluster recorded in the data dir (from any process) and remove every pod, namespace and interface it made")
    .option("--data-dir <dir>", "the cluster's data dir", DEFAULT_DIR)
    .option("--timeout <seconds>", "how long the running cluster gets to stop before it is killed", "60")
    .action(async (o: { dataDir: string; timeout: string }) => {
      const { clusterDown } = await import("../../cluster/index.js");
      await clusterDown({ dataDir: o.dataDir, timeoutMs: Number(o.timeout) * 1000, log: (m) => process.stderr.write(`${m}\n`) });
      process.stdout.write("keel cluster: down\n");
    });
  cluster
    .command("status")
    .description("show the cluster's process, nodes (Ready, address, pod CIDR, namespace) and pods; exit 1 unless all is well")
    .option("--data-dir <dir>", "the cluster's data dir", DEFAULT_DIR)
    .option("--json", "print the status as JSON", false)
    .action(status);
  program
    .command("join")
    .description("join this machine to a keel cluster as a node (kubeadm-style): verify the cluster CA, get node credentials with the bootstrap token, run the kubelet, the pod overlay, the Service proxy and a cluster DNS server until SIGINT/SIGTERM")
    .requiredOption("--server <url>", "the API server as `keel cluster up` printed it (https://HOST:PORT); its bootstrap endpoint is on the next port")
    .requiredOption("--token <token>", "the bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})")
    .option("--ca-cert-hash <sha256:hex>", "the cluster CA's public key hash, as printed by `keel cluster up`")
    .option("--discovery-token-unsafe-skip-ca-verification", "trust whatever CA the endpoint presents (token signature still checked)", false)
    .option("--node-name <name>", "this node's name (default: the hostname)")
    .option("--data-dir <dir>", "the node's kubelet state, logs and kubeconfig", "/var/lib/keel/node")
    .addHelpText("after", "\nExample:\n  keel join --server https://10.250.0.1:6443 --token abcdef.0123456789abcdef --ca-cert-hash sha256:...\n")
    .action(joinNode);
}

interface JoinCliOptions { server: string; token: string; caCertHash?: string; discoveryTokenUnsafeSkipCaVerification: boolean; nodeName?: string; dataDir: string }

async function joinNode(o: JoinCliOptions): Promise<void> {
  const { joinCluster } = await import("../../cluster/index.js");
  let stop = false;
  const early = () => { stop = true; };
  process.once("SIGINT", early);
  process.once("SIGTERM", early);
  const node = await joinCluster({
    server: o.server, token: o.token, caCertHash: o.caCertHash, unsafeSkipCAVerification: o.discoveryTokenUnsafeSkipCaVerification,
    nodeName: o.nodeName, dataDir: o.dataDir, log: (m) => process.stderr.write(`${m}\n`),
  });
  process.off("SIGINT", early);
  process.off("SIGTERM", early);
  process.stdout.write(`keel join: node ${node.nodeName} joined; kubelet running (kubeconfig ${node.kubeconfigPath})\n`);
  if (!stop) await untilSignal();
  // Leaving: the node's pods are stopped (this machine stops being a node).
  await node.close(true);
}
