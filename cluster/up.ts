// `clusterUp`: a whole cluster in this one process: the API server (SQLite in the data dir, on
// loopback), the controller-manager, the scheduler and N kubelets, each kubelet's node being a
// network namespace keel creates, wired to the others by an underlay bridge and a VXLAN overlay.
// Everything made is recorded in DATA_DIR/cluster.json before it is made (see state.ts).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Node } from "../api/index.js";
import { startApiServer, parseListen, type RunningApiServer } from "../controlplane/apiserver/index.js";
import { startControllerManager, type RunningControllerManager } from "../controlplane/controllers/index.js";
import { startScheduler, type RunningScheduler } from "../controlplane/scheduler-daemon/index.js";
import { KubeClient, R } from "../controlplane/kit/index.js";
import { PodCidrNetwork, startKubelet, type RunningKubelet } from "../kubelet/index.js";
import { ClusterRunningError, ClusterTimeoutError, InvalidClusterOptionError, NetnsExistsError } from "./errors.js";
import { createNodeNetns, createUnderlay, netnsExists, netnsPath, removeNetns } from "./network.js";
import { OVERLAY_MTU, OverlaySync } from "./overlay.js";
import { ServiceSync } from "./services.js";
import { processAlive, readState, removeState, writeState, type ClusterState, type NodeRecord } from "./state.js";

export interface ClusterUpOptions {
  dataDir: string;
  /** Number of nodes (default 1). */
  nodes?: number;
  /** The API server's HOST:PORT; loopback only (default 127.0.0.1:6443; port 0 picks one). */
  listen?: string;
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
  log?: (msg: string) => void;
  /** Each start-up step as it begins (a terminal's progress line). */
  progress?: (step: string, done: number, total: number) => void;
}

export interface RunningCluster {
  dataDir: string;
  url: string;
  kubeconfigPath: string;
  nodes: NodeRecord[];
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
  const kubelets: RunningKubelet[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const errors: unknown[] = [];
      const attempt = async (p: Promise<unknown> | undefined) => { try { await p; } catch (e) { errors.push(e); } };
      writeState({ ...state, phase: "stopping" });
      await attempt(overlay?.stop());
      await attempt(services?.stop());
      // Pods first (their veths and cgroups), while the API server still takes their status.
      await Promise.all(kubelets.map((k) => attempt(k.core.stopAll(o.stopGraceSec ?? 2))));
      await Promise.all(kubelets.map((k) => attempt(k.close())));
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

  const total = 5 + n;
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
    api = await startApiServer({ dataDir, listen: o.listen ?? "127.0.0.1:6443", log });
    state.url = api.url;
    writeState(state);
    step("controller-manager");
    cm = await startControllerManager({ kubeconfig: api.kubeconfigPath, clusterCIDR, nodeCIDRMaskSize: 24, log });
    step("scheduler");
    sched = await startScheduler({ kubeconfig: api.kubeconfigPath, log });
    // Each kubelet's pod network learns its podCIDR from the overlay sync as soon as node IPAM
    // assigns it (rather than at the kubelet's next node-status round), so the first pods need
    // not wait. The kubelets use the admin credentials: the API server has no node authorizer yet.
    const networks = new Map<string, PodCidrNetwork>();
    for (const nd of nodes) {
      const network = new PodCidrNetwork({ nodeNetns: netnsPath(nd.netns), stateDir: nd.cniStateDir, clusterCIDR, mtu: OVERLAY_MTU });
      networks.set(nd.name, network);
      step(`kubelet ${nd.name}`);
      kubelets.push(await startKubelet({
        kubeconfig: api.kubeconfigPath, nodeName: nd.name, hostIP: nd.ip,
        root: nd.root, logDir: nd.logDir, imageRoot: o.imageRoot, log, network,
      }));
    }
    client = new KubeClient(api.kubeconfigPath, "keel-cluster");
    const svc = services = new ServiceSync(client, nodes, log);
    const ov = overlay = new OverlaySync(client, nodes, log, (node, cidr) => {
      networks.get(node)?.setPodCIDR(cidr);
      svc.setPodCIDR(node, cidr);
    });
    overlay.start();
    services.start();
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
  return { dataDir, url: api.url, kubeconfigPath: api.kubeconfigPath, nodes, close };
}

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
