// `clusterUp`: a whole cluster in this one process: the API server (SQLite in the data dir, on
// loopback), the controller-manager, the scheduler and N kubelets, each kubelet's node being a
// network namespace keel creates, wired to the others by an underlay bridge and a VXLAN overlay.
// Everything made is recorded in DATA_DIR/cluster.json before it is made (see state.ts).
import { writeNodeKubeconfig } from "../controlplane/apiserver/pki.js";
import { mkdirSync } from "node:fs";
import { writeFileAtomicSync } from "../lib/atomic-file.js";
import { join } from "node:path";
import type { Node } from "../api/index.js";
import { startApiServer, parseListen, type RunningApiServer } from "../controlplane/apiserver/index.js";
import { startControllerManager, type RunningControllerManager } from "../controlplane/controllers/index.js";
import { startScheduler, type RunningScheduler } from "../controlplane/scheduler-daemon/index.js";
import { KubeClient, R } from "../controlplane/kit/index.js";
import { PodCidrNetwork, startKubelet, type RunningKubelet } from "../kubelet/index.js";
import { stopLeftPods } from "./down.js";
import { ClusterRunningError, ClusterTimeoutError, InvalidClusterOptionError, NetnsExistsError } from "./errors.js";
import { addUnderlayAddress, createNodeNetns, createUnderlay, netnsExists, netnsPath, removeNetns } from "./network.js";
import { ensurePki } from "../controlplane/apiserver/pki.js";
import { listenInNetns } from "./netns-listen.js";
import { proxyTo } from "./api-proxy.js";
import { bootstrapServer, caCertHash, ensureToken } from "./bootstrap.js";
import { OVERLAY_MTU, OverlaySync } from "./overlay.js";
import { ServiceSync } from "./services.js";
import { ServiceInformers } from "./service-informers.js";
import { CLUSTER_DOMAIN, ClusterDnsServer, DNS_CLUSTER_IP } from "./dns.js";
import { processAlive, readState, removeState, writeState, type ClusterState, type NodeRecord } from "./state.js";

export interface ClusterUpOptions {
  dataDir: string;
  /** Number of nodes (default 1). */
  nodes?: number;
  /** The API server's HOST:PORT; loopback only (default 127.0.0.1:6443; port 0 picks one). */
  listen?: string;
  /** The store: "sqlite" (default, in the data dir) or "etcd:http://HOST:PORT[,...]" (shared with other API servers). */
  store?: string;
  /** A tag in every name the cluster puts on the machine (netns, node names), so clusters can coexist. */
  name?: string;
  /** Pods' addresses, split into one /24 per node by the node IPAM controller (default 10.244.0.0/16). */
  clusterCIDR?: string;
  /** The nodes' own addresses on the underlay, a /24 (default 10.250.0.0/24). */
  underlayCIDR?: string;
  imageRoot?: string;
  /** How long to wait for every node to be Ready (default 60 s; 0: do not wait). */
  readyTimeoutMs?: number;
  /** Grace given to pods when the cluster stops (default 2 s). */
  stopGraceSec?: number;
  /**
   * How long a node may go without renewing its Lease before it is NotReady and its pods are
   * evicted (the node lifecycle controller's grace period; default 40 s, Kubernetes' own).
   * The kubelets renew every quarter of it, at most every 5 s.
   */
  nodeMonitorGracePeriodMs?: number;
  /** How often the HPA controller re-reads metrics (default 15 s, Kubernetes' own); tests shorten it. */
  hpaSyncPeriodMs?: number;
  log?: (msg: string) => void;
  /** Each start-up step as it begins (a terminal's progress line). */
  progress?: (step: string, done: number, total: number) => void;
}

export interface RunningCluster {
  dataDir: string;
  url: string;
  kubeconfigPath: string;
  nodes: NodeRecord[];
  /** The cluster DNS Service's ClusterIP (pods' nameserver). */
  dnsIP: string;
  /** How another machine joins: the API server on the underlay, the bootstrap token, the CA pin. */
  join: JoinInfo;
  /**
   * Kills one node's kubelet as a crash would: it stops renewing its Lease and watching pods,
   * and its pods keep running (until the cluster closes). For failure tests.
   */
  killKubelet(node: string): Promise<void>;
  /** Stops every pod and component and removes every namespace it made. */
  close(): Promise<void>;
}

const MAX_NODES = 200;

/** The names a cluster uses on the machine: netns keel-node-[TAG-]I and the underlay's. */
export function clusterNames(name: string | undefined) {
  const tag = name ? `${name}-` : "";
  return { node: (i: number) => `keel-node-${tag}${i}`, underlay: name ? `keel-ul-${name}` : "keel-underlay" };
}

function validate(o: ClusterUpOptions): { n: number; host: string; base: string } {
  const n = o.nodes ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_NODES) throw new InvalidClusterOptionError("nodes", o.nodes, `must be a whole number from 1 to ${MAX_NODES}`);
  const { host } = parseListen(o.listen ?? "127.0.0.1:6443");
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== "::1" && host !== "localhost") {
    throw new InvalidClusterOptionError("listen", o.listen, "the cluster's API server listens on loopback only (e.g. 127.0.0.1:6443)");
  }
  if (o.name !== undefined && !/^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/.test(o.name)) throw new InvalidClusterOptionError("name", o.name, "lower-case letters, digits and '-', at most 20");
  const u = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(o.underlayCIDR ?? "10.250.0.0/24");
  if (!u) throw new InvalidClusterOptionError("underlayCIDR", o.underlayCIDR, "must be a /24 such as 10.250.0.0/24");
  return { n, host, base: u[1]! };
}

export async function clusterUp(o: ClusterUpOptions): Promise<RunningCluster> {
  const { n, base } = validate(o);
  const log = o.log ?? (() => {});
  const dataDir = o.dataDir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const prior = readState(dataDir);
  if (prior && prior.pid !== process.pid && processAlive(prior.pid)) throw new ClusterRunningError(dataDir, prior.pid);
  const names = clusterNames(o.name);
  const clusterCIDR = o.clusterCIDR ?? "10.244.0.0/16";
  const nodes: NodeRecord[] = Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const dir = join(dataDir, "nodes", String(i));
    return { name: names.node(i), netns: names.node(i), ip: `${base}.${10 + i}`, root: join(dir, "kubelet"), logDir: join(dir, "logs"), cniStateDir: join(dir, "cni") };
  });
  // Refuse before recording anything: these names may be another cluster's.
  for (const ns of [names.underlay, ...nodes.map((x) => x.netns)]) if (netnsExists(ns)) throw new NetnsExistsError(ns);
  const made: string[] = [];
  const state: ClusterState = {
    pid: process.pid, dataDir, underlayNetns: names.underlay, underlayCIDR: `${base}.0/24`, clusterCIDR, nodes,
    kubeconfigPath: join(dataDir, "admin.kubeconfig"), phase: "starting", startedAt: new Date().toISOString(),
  };
  writeState(state);

  let api: RunningApiServer | undefined;
  let cm: RunningControllerManager | undefined;
  let sched: RunningScheduler | undefined;
  let client: KubeClient | undefined;
  let overlay: OverlaySync | undefined;
  let services: ServiceSync | undefined;
  let dnsServer: ClusterDnsServer | undefined;
  let serviceInformers: ServiceInformers | undefined;
  let joinInfo: JoinInfo | undefined;
  /** Sockets opened in the underlay namespace (API proxy, bootstrap endpoint). */
  const listeners: { close(): void }[] = [];
  const kubelets: RunningKubelet[] = [];
  /** Nodes whose kubelet was killed: their pods are stopped from the kubelet's root at close. */
  const killed = new Set<string>();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const errors: unknown[] = [];
      const attempt = async (p: Promise<unknown> | undefined) => { try { await p; } catch (e) { errors.push(e); } };
      writeState({ ...state, phase: "stopping" });
      await attempt(overlay?.stop());
      await attempt(services?.stop());
      dnsServer?.stop();
      serviceInformers?.stop();
      for (const l of listeners) l.close();
      // Pods first (their veths and cgroups), while the API server still takes their status.
      const live = kubelets.filter((k) => !killed.has(k.nodeName));
      await Promise.all(live.map((k) => attempt(k.core.stopAll(o.stopGraceSec ?? 2))));
      await Promise.all(live.map((k) => attempt(k.close())));
      for (const nd of nodes.filter((x) => killed.has(x.name))) await attempt(stopLeftPods(nd, log));
      await attempt(sched?.close());
      await attempt(cm?.close());
      client?.close();
      await attempt(api?.close());
      for (const ns of [...made].reverse()) await attempt(removeNetns(ns));
      if (errors.length) throw new AggregateError(errors, `cluster down: ${errors.length} step(s) failed: ${errors.map((e) => (e as Error).message).join("; ")}`);
      removeState(dataDir);
    })();
    return closing;
  };

  const graceMs = o.nodeMonitorGracePeriodMs ?? 40_000;
  const leaseRenewMs = Math.max(200, Math.min(5_000, Math.floor(graceMs / 4)));
  const total = 6 + n;
  let done = 0;
  const step = (what: string) => o.progress?.(what, done++, total);
  try {
    step(`network: ${names.underlay} and ${n} node namespace(s)`);
    made.push(names.underlay);
    await createUnderlay(names.underlay);
    for (const [k, nd] of nodes.entries()) {
      made.push(nd.netns);
      await createNodeNetns({ netns: nd.netns, underlayNetns: names.underlay, port: `n${k + 1}`, ip: nd.ip, prefixLength: 24 });
    }
    step("API server");
    // The underlay's gateway address is where other machines reach the API server: the serving
    // certificate names it (ensurePki re-issues it when an address is missing).
    const gateway = `${base}.1`;
    await addUnderlayAddress(names.underlay, gateway, 24);
    const pki = await ensurePki(dataDir, [gateway]);
    api = await startApiServer({ dataDir, listen: o.listen ?? "127.0.0.1:6443", store: o.store, log });
    const apiPort = Number(new URL(api.url).port);
    const [apiListener, bootListener] = await listenInNetns(netnsPath(names.underlay), [
      { proto: "tcp", host: gateway, port: UNDERLAY_API_PORT }, { proto: "tcp", host: gateway, port: UNDERLAY_API_PORT + 1 }]);
    if (apiListener?.proto !== "tcp" || bootListener?.proto !== "tcp") throw new Error("unreachable");
    listeners.push(proxyTo(apiListener.server, "127.0.0.1", apiPort), bootListener.server);
    const token = ensureToken(dataDir);
    const underlayServer = `https://${gateway}:${UNDERLAY_API_PORT}`;
    const hash = caCertHash(api.caCertPem!);
    joinInfo = { server: underlayServer, token, caCertHash: hash, command: `keel join --server ${underlayServer} --token ${token} --ca-cert-hash ${hash}` };
    writeFileAtomicSync(join(dataDir, "join-command"), joinInfo.command + "\n", 0o600);
    state.url = api.url;
    writeState(state);
    step("controller-manager");
    cm = await startControllerManager({ kubeconfig: api.kubeconfigPath, clusterCIDR, nodeCIDRMaskSize: 24, nodeMonitorGracePeriodMs: graceMs, hpaSyncPeriodMs: o.hpaSyncPeriodMs, log });
    step("scheduler");
    sched = await startScheduler({ kubeconfig: api.kubeconfigPath, log });
    client = new KubeClient(api.kubeconfigPath, "keel-cluster");
    const boot = bootstrapServer({
      dataDir, token, server: underlayServer, caCertPem: pki.caCertPem, serverCertPem: pki.serverCertPem, serverKeyPem: pki.serverKeyPem,
      client, clusterDNS: [DNS_CLUSTER_IP], clusterDomain: CLUSTER_DOMAIN, log,
    });
    bootListener.server.on("connection", (sock) => boot.emit("connection", sock));
    listeners.push({ close: () => boot.closeAllConnections() });
    step("cluster DNS");
    // One list+watch of Services and EndpointSlices for the DNS server and the service proxy.
    serviceInformers = new ServiceInformers(client, log);
    dnsServer = new ClusterDnsServer(client, log, serviceInformers);
    await dnsServer.start(nodes);
    for (const nd of nodes) await dnsServer.serveNode({ name: nd.name, ip: nd.ip, netnsPath: netnsPath(nd.netns) });
    // Each kubelet's pod network learns its podCIDR from the overlay sync as soon as node IPAM
    // assigns it (rather than at the kubelet's next node-status round), so the first pods need
    // not wait. Each kubelet has its own node credentials (system:node:NAME), so the node
    // authorizer holds it to its own Node, Lease and pods; its HTTP endpoint (logs, exec,
    // port-forward, stats) is on loopback, published on its Node for the API server.
    const networks = new Map<string, PodCidrNetwork>();
    for (const nd of nodes) {
      const network = new PodCidrNetwork({ nodeNetns: netnsPath(nd.netns), stateDir: nd.cniStateDir, clusterCIDR, mtu: OVERLAY_MTU });
      networks.set(nd.name, network);
      step(`kubelet ${nd.name}`);
      mkdirSync(nd.root, { recursive: true, mode: 0o700 });
      const kubeconfig = await writeNodeKubeconfig(dataDir, nd.name, join(nd.root, "kubelet.kubeconfig"));
      kubelets.push(await startKubelet({
        kubeconfig, nodeName: nd.name, hostIP: nd.ip, listen: "127.0.0.1:0", publishEndpoint: true,
        root: nd.root, logDir: nd.logDir, imageRoot: o.imageRoot, log, network,
        clusterDNS: [DNS_CLUSTER_IP], clusterDomain: CLUSTER_DOMAIN, leaseRenewMs, nodeStatusMs: leaseRenewMs,
      }));
    }
    const svc = services = new ServiceSync(client, nodes.map((x) => ({ name: x.name, netnsPath: netnsPath(x.netns) })), log, { informers: serviceInformers });
    const ov = overlay = new OverlaySync(client, nodes.map((x) => ({ name: x.name, netnsPath: netnsPath(x.netns), ip: x.ip })), log, (node, cidr) => {
      networks.get(node)?.setPodCIDR(cidr);
      svc.setPodCIDR(node, cidr);
    });
    overlay.start();
    void services.start();
    step("waiting for the nodes to be Ready");
    const readyMs = o.readyTimeoutMs ?? 60_000;
    if (readyMs > 0) await waitNodesReady(client, nodes.map((x) => x.name), () => ov.complete, readyMs);
    state.phase = "running";
    writeState(state);
    o.progress?.("ready", total, total);
    log(`keel cluster: ${n} node(s) Ready; kubeconfig ${api.kubeconfigPath}`);
  } catch (e) {
    await close().catch((c: Error) => log(`keel cluster: clean-up after a failed start: ${c.message}`));
    throw e;
  }
  const killKubelet = async (node: string) => {
    const k = kubelets.find((x) => x.nodeName === node);
    if (!k) throw new InvalidClusterOptionError("node", node, `no such node in this cluster (${nodes.map((x) => x.name).join(", ")})`);
    if (killed.has(node)) return;
    killed.add(node);
    await k.close();
  };
  return { dataDir, url: api.url, kubeconfigPath: api.kubeconfigPath, nodes, dnsIP: DNS_CLUSTER_IP, join: joinInfo!, killKubelet, close };
}

export interface JoinInfo {
  /** The API server as the underlay reaches it (https://GATEWAY:6443); the bootstrap endpoint is on the next port. */
  server: string;
  token: string;
  caCertHash: string;
  /** The whole `keel join ...` command line (also in DATA_DIR/join-command, mode 0600). */
  command: string;
}

/** The API server's port on the underlay gateway (the underlay namespace is the cluster's own). */
export const UNDERLAY_API_PORT = 6443;

export const nodeReady = (n: Node | undefined) => n?.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

/** Every node Ready, and its pod network and overlay set up (networked). */
async function waitNodesReady(client: KubeClient, names: string[], networked: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const list = await client.listAll<Node>(R.nodes);
    if (networked() && names.every((nm) => nodeReady(list.items.find((x) => x.metadata.name === nm)))) return;
    if (Date.now() > deadline) throw new ClusterTimeoutError(`nodes ${names.join(", ")} Ready with their pod network`, ms);
    await new Promise((r) => setTimeout(r, 200));
  }
}
