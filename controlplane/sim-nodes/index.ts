// Simulated nodes (like kwok): Node objects with chosen capacity, labels and taints that renew
// their Leases in kube-node-lease, and a tiny fake kubelet that marks the pods bound to them
// Running and Ready through the status subresource, and finishes their graceful deletion.
// Hundreds share one process: one pod informer, one lease ticker.
import type { Node, Pod, Taint } from "../../api/core.js";
import type { Condition } from "../../api/meta.js";
import { Informer, KubeClient, R, isAlreadyExists, isConflict, isNotFound, microTime, type ClientConfig, type Lease } from "../kit/index.js";
import { startSimStatsServer, KUBELET_ENDPOINT_ANNOTATION, type SimStatsServer } from "./stats-server.js";

export interface SimNodeSpec {
  name: string;
  capacity?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
}

export interface SimNodesOptions {
  kubeconfig: string | ClientConfig;
  nodes: SimNodeSpec[];
  /** How often each Lease is renewed (default 10 s, as the kubelet). */
  leaseRenewMs?: number;
  leaseDurationSeconds?: number;
  /** How many API calls run at once (default 16). */
  concurrency?: number;
  /**
   * false: nodes and Leases only, no fake kubelet (pods bound to the nodes stay Pending), as
   * kwok without pod life cycles; the scheduler benchmark uses it to measure create → bound
   * without one status write per pod competing with the bindings. Default true.
   */
  runPods?: boolean;
  log?: (msg: string) => void;
}

/** A pod carrying this annotation "finishes" that many seconds after it starts (batch pods). */
export const RUN_SECONDS_ANNOTATION = "sim.keel.dev/run-seconds";
/** Its exit code when it finishes (default 0: Succeeded; anything else: Failed). */
export const EXIT_CODE_ANNOTATION = "sim.keel.dev/exit-code";

const DEFAULT_CAPACITY = { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" };
const nowTime = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

interface SimNode { spec: SimNodeSpec; alive: boolean; index: number; nextIp: number; podCIDR?: string }

/** Runs fn over items with at most n in flight. */
async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

export class SimNodes {
  readonly client: KubeClient;
  private readonly nodes = new Map<string, SimNode>();
  private readonly pods: Informer<Pod>;
  private readonly nodeCache: Informer<Node>;
  private ticker?: NodeJS.Timeout;
  /** Each node's /stats/summary (for metrics.k8s.io), on one loopback port. */
  private stats?: SimStatsServer;
  private readonly inFlight = new Set<string>();
  private closed = false;
  private readonly finishing = new Map<string, NodeJS.Timeout>();
  private readonly log: (m: string) => void;
  private readonly concurrency: number;

  constructor(private readonly o: SimNodesOptions) {
    this.client = new KubeClient(o.kubeconfig, "keel-sim-nodes");
    this.log = o.log ?? (() => {});
    this.concurrency = o.concurrency ?? 16;
    o.nodes.forEach((spec, index) => this.nodes.set(spec.name, { spec, alive: true, index, nextIp: 2 }));
    this.pods = new Informer<Pod>(this.client, R.pods, { indexers: { node: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) } });
    this.nodeCache = new Informer<Node>(this.client, R.nodes);
  }

  names(): string[] { return [...this.nodes.keys()]; }

  async start(): Promise<void> {
    this.stats = await startSimStatsServer({ podsOn: (n) => this.pods.byIndex("node", n), state: (n) => { const x = this.nodes.get(n); return !x ? "unknown" : x.alive ? "alive" : "dead"; } });
    await pool([...this.nodes.values()], this.concurrency, (n) => this.register(n));
    await this.nodeCache.start();
    await pool([...this.nodes.values()], this.concurrency, (n) => this.renew(n));
    if (this.o.runPods !== false) await this.startPods();
    const every = this.o.leaseRenewMs ?? 10_000;
    this.ticker = setInterval(() => void pool([...this.nodes.values()].filter((n) => n.alive), this.concurrency, (n) => this.renew(n)), every);
  }

  private async startPods(): Promise<void> {
    this.pods.addEventHandler({
      add: (p) => this.onPod(p), update: (_, p) => this.onPod(p),
      delete: (p) => {
        const key = `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`;
        clearTimeout(this.finishing.get(key));
        this.finishing.delete(key);
      },
    });
    await this.pods.start();
  }

  /** The node dies: its Lease stops being renewed and its pods are left as they are. */
  kill(name: string): void {
    const n = this.nodes.get(name);
    if (n) n.alive = false;
  }

  /** The node comes back. */
  revive(name: string): void {
    const n = this.nodes.get(name);
    if (!n || n.alive) return;
    n.alive = true;
    void this.renew(n);
    for (const p of this.pods.byIndex("node", name)) this.onPod(p);
  }

  async close(opts: { deleteNodes?: boolean } = {}): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    for (const t of this.finishing.values()) clearTimeout(t);
    this.pods.stop();
    this.nodeCache.stop();
    await this.stats?.close();
    if (opts.deleteNodes) {
      await pool([...this.nodes.keys()], this.concurrency, async (name) => {
        await this.client.delete(R.nodes, undefined, name).catch(() => {});
        await this.client.delete(R.leases, "kube-node-lease", name).catch(() => {});
      });
    }
    this.client.close();
  }

  private nodeObject(n: SimNode): Node {
    const cap = { ...DEFAULT_CAPACITY, ...(n.spec.capacity ?? {}) };
    return {
      metadata: { name: n.spec.name, labels: { "kubernetes.io/hostname": n.spec.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "keel-sim", ...(n.spec.labels ?? {}) }, annotations: { "keel.dev/simulated": "true", ...(this.stats ? { [KUBELET_ENDPOINT_ANNOTATION]: this.stats.urlFor(n.spec.name) } : {}) } },
      spec: { ...(n.spec.taints ? { taints: n.spec.taints } : {}), ...(n.spec.unschedulable ? { unschedulable: true } : {}) },
      status: {
        capacity: cap, allocatable: cap,
        conditions: [this.readyCondition()],
        addresses: [{ type: "InternalIP", address: `10.255.${(n.index >> 8) & 255}.${n.index & 255}` }, { type: "Hostname", address: n.spec.name }],
        nodeInfo: { kubeletVersion: "v1.32.0-keel-sim", operatingSystem: "linux", architecture: "amd64", containerRuntimeVersion: "keel-sim://0", osImage: "keel simulated node", kernelVersion: "", kubeProxyVersion: "", machineID: "", systemUUID: "", bootID: "" },
      },
    };
  }

  private readyCondition(): Condition {
    const t = nowTime();
    return { type: "Ready", status: "True", reason: "KubeletReady", message: "simulated kubelet is posting ready status", lastHeartbeatTime: t, lastTransitionTime: t } as Condition;
  }

  private async register(n: SimNode): Promise<void> {
    const obj = this.nodeObject(n);
    try {
      const created = await this.client.create<Node>(R.nodes, undefined, obj);
      n.podCIDR = created.spec?.podCIDR;
      // Status is ignored on create when the resource has a status subresource: write it.
      await this.client.patchStatus(R.nodes, undefined, n.spec.name, { status: obj.status });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.client.patch(R.nodes, undefined, n.spec.name, { metadata: { labels: obj.metadata.labels, annotations: obj.metadata.annotations }, spec: obj.spec });
      await this.client.patchStatus(R.nodes, undefined, n.spec.name, { status: obj.status });
    }
  }

  private async renew(n: SimNode): Promise<void> {
    if (this.closed || !n.alive) return;
    const name = n.spec.name;
    const spec = { holderIdentity: name, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40, renewTime: microTime() };
    try {
      await this.client.patch(R.leases, "kube-node-lease", name, { spec });
    } catch (err) {
      if (!isNotFound(err)) { this.log(`sim-node ${name}: lease renew failed: ${(err as Error).message}`); return; }
      try {
        await this.client.create<Lease>(R.leases, "kube-node-lease", {
          metadata: { name, namespace: "kube-node-lease", ownerReferences: [] }, spec,
        });
      } catch (e) { if (!isAlreadyExists(e)) this.log(`sim-node ${name}: lease create failed: ${(e as Error).message}`); }
    }
    // A node marked Unknown while it was away reports Ready again.
    try {
      const node = this.nodeCache.get(name);
      if (!node) return;
      n.podCIDR = node.spec?.podCIDR ?? n.podCIDR;
      const ready = node.status?.conditions?.find((c) => c.type === "Ready");
      if (ready?.status !== "True") {
        const conds = (node.status?.conditions ?? []).filter((c) => c.type !== "Ready");
        await this.client.patchStatus(R.nodes, undefined, name, { status: { conditions: [...conds, this.readyCondition()] } });
      }
    } catch { /* next tick */ }
  }

  private podIp(n: SimNode): string {
    const i = n.nextIp++;
    const m = n.podCIDR && /^(\d+)\.(\d+)\.(\d+)\.\d+\/24$/.exec(n.podCIDR);
    if (m) return `${m[1]}.${m[2]}.${m[3]}.${(i % 253) + 1}`;
    return `10.88.${n.index & 255}.${(i % 253) + 1}`;
  }

  private onPod(p: Pod): void {
    const nodeName = p.spec?.nodeName;
    const n = nodeName ? this.nodes.get(nodeName) : undefined;
    if (!n || !n.alive || this.closed) return;
    const key = `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`;
    if (p.status?.phase === "Running" && p.metadata.annotations?.[RUN_SECONDS_ANNOTATION] !== undefined && !this.finishing.has(key)) {
      const started = Date.parse(p.status.startTime ?? new Date().toISOString());
      const wait = Math.max(0, started + Number(p.metadata.annotations[RUN_SECONDS_ANNOTATION]) * 1000 - Date.now());
      const code = Number(p.metadata.annotations[EXIT_CODE_ANNOTATION] ?? 0);
      this.finishing.set(key, setTimeout(() => {
        if (this.closed || !n.alive) return;
        const t = nowTime();
        const status = {
          phase: code === 0 ? "Succeeded" : "Failed",
          conditions: (p.status?.conditions ?? []).map((c) => (c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False", reason: "PodCompleted", lastTransitionTime: t } : c)),
          containerStatuses: (p.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, imageID: `keel-sim://${c.image}`, ready: false, started: false, restartCount: 0, state: { terminated: { exitCode: code, reason: code === 0 ? "Completed" : "Error", startedAt: p.status?.startTime, finishedAt: t } } })),
        };
        void this.client.patchStatus(R.pods, p.metadata.namespace, p.metadata.name!, { status }).catch(() => {});
      }, wait));
    }
    if (this.inFlight.has(key)) return;
    let work: (() => Promise<void>) | undefined;
    if (p.metadata.deletionTimestamp) {
      // The containers "stop" at once: finish the graceful delete.
      work = async () => { await this.client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } }); };
    } else if (p.status?.phase === "Pending" || !p.status?.phase) {
      const t = nowTime();
      const cond = (type: string) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: t });
      const status = {
        phase: "Running", hostIP: `10.255.${(n.index >> 8) & 255}.${n.index & 255}`, podIP: this.podIp(n), startTime: t,
        conditions: [cond("PodScheduled"), cond("Initialized"), cond("ContainersReady"), cond("Ready")],
        containerStatuses: (p.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image, imageID: `keel-sim://${c.image}`, containerID: `keel-sim://${p.metadata.uid}-${c.name}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } } })),
      };
      work = async () => { await this.client.patchStatus(R.pods, p.metadata.namespace, p.metadata.name!, { status: { ...status, podIPs: [{ ip: status.podIP }] } }); };
    }
    if (!work) return;
    this.inFlight.add(key);
    void work().catch((err) => {
      if (!isNotFound(err) && !isConflict(err)) this.log(`sim-node ${nodeName}: pod ${key}: ${(err as Error).message}`);
    }).finally(() => {
      this.inFlight.delete(key);
      // Events that arrived meanwhile were skipped: look at the pod as it is now.
      const cur = this.pods.getByName(p.metadata.namespace, p.metadata.name!);
      if (cur && cur.metadata.uid === p.metadata.uid && cur.metadata.resourceVersion !== p.metadata.resourceVersion) this.onPod(cur);
    });
  }
}

export async function startSimNodes(o: SimNodesOptions): Promise<SimNodes> {
  const s = new SimNodes(o);
  await s.start();
  return s;
}

/** n nodes named prefix-0 … with the same shape, spread over `zones` zone labels. */
export function simNodeSpecs(n: number, o: { prefix?: string; capacity?: Record<string, string>; zones?: number; labels?: Record<string, string> } = {}): SimNodeSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${o.prefix ?? "keel-sim"}-${i}`,
    capacity: o.capacity,
    labels: { ...(o.zones ? { "topology.kubernetes.io/zone": `zone-${i % o.zones}` } : {}), ...(o.labels ?? {}) },
  }));
}
