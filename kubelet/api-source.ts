// The kubelet under the API server: registers its Node, renews its Lease, watches the pods bound
// to it (spec.nodeName), writes their status through the status subresource, honours graceful
// deletion and records Events. When the API server is unreachable nothing on the node changes:
// the pods keep running, status updates wait, and on reconnect a fresh list (never a failed one)
// decides what should run, and the latest status of each pod is written.
import { KUBELET_ENDPOINT_ANNOTATION } from "../api/kubelet-endpoint.js";
import type { Lease, Node, Pod, PodStatus } from "../api/index.js";
import { EventRecorder, isAlreadyExists, isConflict, isGone, isNotFound, KubeClient, R, type WatchHandle } from "../controlplane/kit/index.js";
import type { KubeletCore } from "./kubelet.js";
import { buildNodeStatus, type NodeStatusOptions } from "./node-status.js";

export interface ApiSourceOptions extends NodeStatusOptions {
  client: KubeClient;
  core: KubeletCore;
  leaseDurationSeconds?: number;
  /** How often the Lease is renewed (default 5 s). */
  leaseRenewMs?: number;
  /** How often the Node's status is refreshed (default 10 s). */
  nodeStatusMs?: number;
  /** Retry delay after the API server failed a request (default 1 s, doubling up to 10 s). */
  retryMs?: number;
  podCIDR?: (cidr: string) => void;
  /**
   * Published as the Node's keel.dev/kubelet-endpoint annotation: where the API server reaches
   * this kubelet when the node's own address will not do (api/kubelet-endpoint.ts).
   */
  kubeletEndpoint?: string;
  log?: (msg: string) => void;
}

const nowMicro = () => new Date().toISOString().replace("Z", "000Z");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ApiSource {
  private stopped = false;
  private watch?: WatchHandle;
  private timers: NodeJS.Timeout[] = [];
  private readonly recorder: EventRecorder;
  /** Latest status per pod UID not yet written. */
  private pendingStatus = new Map<string, { pod: Pod; status: PodStatus }>();
  private flushing?: Promise<void>;
  private deleting = new Set<string>();
  private node?: Node;
  /** When a watch event last told us about each pod UID. */
  private seenAt = new Map<string, number>();

  constructor(private readonly o: ApiSourceOptions) {
    this.recorder = new EventRecorder(o.client, "kubelet", o.nodeName);
  }

  private get client(): KubeClient { return this.o.client; }

  /** Hook for the core's events. */
  event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void {
    if (pod.metadata.annotations?.["kubernetes.io/config.source"] === "file") return;
    this.recorder.event({ ...pod, apiVersion: "v1", kind: "Pod" }, type, reason, message);
  }

  /** Hook for the core's status changes. */
  status(pod: Pod, status: PodStatus): void {
    if (pod.metadata.annotations?.["kubernetes.io/config.source"] === "file") return;
    this.pendingStatus.set(pod.metadata.uid!, { pod, status });
    void this.flushStatus();
  }

  async start(): Promise<void> {
    await this.retrying("register node", () => this.registerNode());
    await this.retrying("renew lease", () => this.renewLease());
    this.every(this.o.leaseRenewMs ?? 5000, () => this.renewLease());
    this.every(this.o.nodeStatusMs ?? 10_000, () => this.updateNodeStatus());
    this.every(2000, () => this.flushStatus());
    await this.listAndWatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.watch?.stop();
    await this.flushing;
    await this.recorder.flush();
  }

  private every(ms: number, fn: () => Promise<void>): void {
    let busy = false;
    this.timers.push(setInterval(() => {
      if (busy || this.stopped) return;
      busy = true;
      fn().catch((e) => this.o.log?.(`kubelet: ${(e as Error).message}`)).finally(() => { busy = false; });
    }, ms));
  }

  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    let delay = this.o.retryMs ?? 1000;
    while (!this.stopped) {
      try {
        return await fn();
      } catch (e) {
        this.o.log?.(`kubelet: ${what}: ${(e as Error).message}; retrying in ${delay} ms`);
        await sleep(delay);
        delay = Math.min(delay * 2, 10_000);
      }
    }
    return undefined;
  }

  // ---- node and lease ----

  private async registerNode(): Promise<void> {
    const status = buildNodeStatus(this.o);
    try {
      this.node = await this.client.create<Node>(R.nodes, undefined, {
        metadata: {
          name: this.o.nodeName, labels: { "kubernetes.io/hostname": this.o.nodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": status.nodeInfo?.architecture ?? "amd64" },
          ...(this.o.kubeletEndpoint ? { annotations: { [KUBELET_ENDPOINT_ANNOTATION]: this.o.kubeletEndpoint } } : {}),
        },
        spec: {}, status,
      } as Node);
      this.o.log?.(`kubelet: registered node ${this.o.nodeName}`);
    } catch (e) {
      if (!isAlreadyExists(e) && !isConflict(e)) throw e;
      this.node = await this.client.get<Node>(R.nodes, undefined, this.o.nodeName);
      // A restarted kubelet listens on a new port: say so.
      const want = this.o.kubeletEndpoint;
      if (want && this.node.metadata.annotations?.[KUBELET_ENDPOINT_ANNOTATION] !== want)
        this.node = await this.client.patch<Node>(R.nodes, undefined, this.o.nodeName, { metadata: { annotations: { [KUBELET_ENDPOINT_ANNOTATION]: want } } });
    }
    await this.updateNodeStatus();
  }

  private async updateNodeStatus(): Promise<void> {
    const status = buildNodeStatus(this.o, this.node?.status);
    this.node = await this.client.patchStatus<Node>(R.nodes, undefined, this.o.nodeName, { status });
    const cidr = this.node.spec?.podCIDR;
    if (cidr) this.o.podCIDR?.(cidr);
  }

  private async renewLease(): Promise<void> {
    const ns = "kube-node-lease";
    const spec = { holderIdentity: this.o.nodeName, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40, renewTime: nowMicro() };
    try {
      const cur = await this.client.get<Lease>(R.leases, ns, this.o.nodeName);
      await this.client.update<Lease>(R.leases, { ...cur, spec: { ...cur.spec, ...spec } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.client.create<Lease>(R.leases, ns, {
        metadata: { name: this.o.nodeName, namespace: ns, ownerReferences: this.node?.metadata.uid ? [{ apiVersion: "v1", kind: "Node", name: this.o.nodeName, uid: this.node.metadata.uid }] : undefined },
        spec: { ...spec, acquireTime: spec.renewTime },
      } as Lease);
    }
  }

  // ---- pods ----

  private async listAndWatch(): Promise<void> {
    const fieldSelector = `spec.nodeName=${this.o.nodeName}`;
    const listStarted = Date.now();
    const list = await this.retrying("list pods", () => this.client.listAll<Pod>(R.pods, undefined, { fieldSelector }));
    if (!list || this.stopped) return;
    await this.apply(list.items, listStarted);
    let rv = list.metadata?.resourceVersion;
    this.watch?.stop();
    let restarted = false;
    const restart = (delay: number) => {
      if (this.stopped || restarted) return;
      restarted = true;
      setTimeout(() => void this.listAndWatch().catch((e) => this.o.log?.(`kubelet: ${(e as Error).message}`)), delay);
    };
    this.watch = this.client.watch<Pod>(R.pods, undefined, { fieldSelector, resourceVersion: rv, allowWatchBookmarks: true }, (ev) => {
      const pod = ev.object;
      if (ev.type === "BOOKMARK") { rv = pod.metadata.resourceVersion; return; }
      rv = pod.metadata.resourceVersion;
      if (ev.type === "DELETED") { this.seenAt.delete(pod.metadata.uid!); void this.o.core.remove(pod.metadata.uid!, 0, "deleted from the API"); }
      else if (ev.type === "ADDED" || ev.type === "MODIFIED") this.handle(pod);
    }, (err) => {
      // A clean end or 410: list again; an unreachable server: the same after a pause.
      restart(err && !isGone(err) ? (this.o.retryMs ?? 1000) : 0);
    });
  }

  /** A successful list: exactly these pods should run (the ones finished or deleting aside). */
  private async apply(pods: Pod[], listStarted: number): Promise<void> {
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    // A pod that a watch event brought after this list began is newer than the list: keep it.
    await this.o.core.sync(live.map((p) => this.prepare(p)), "api", (uid) => (this.seenAt.get(uid) ?? 0) >= listStarted);
    for (const p of pods) if (p.metadata.deletionTimestamp) this.handle(p);
  }

  private prepare(pod: Pod): Pod {
    return { ...pod, apiVersion: "v1", kind: "Pod", metadata: { ...pod.metadata, annotations: { ...pod.metadata.annotations, "kubernetes.io/config.source": "api" } } };
  }

  private handle(raw: Pod): void {
    const pod = this.prepare(raw);
    const uid = pod.metadata.uid!;
    this.seenAt.set(uid, Date.now());
    if (pod.metadata.deletionTimestamp) {
      if (this.deleting.has(uid)) return;
      this.deleting.add(uid);
      void this.gracefulDelete(pod).finally(() => this.deleting.delete(uid));
      return;
    }
    this.o.core.upsert(pod);
  }

  /** Stops the pod within its grace period, then removes it from the API (gracePeriodSeconds=0). */
  private async gracefulDelete(pod: Pod): Promise<void> {
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.event(pod, "Normal", "Killing", `Stopping pod ${pod.metadata.name} (grace period ${grace}s)`);
    await this.o.core.remove(pod.metadata.uid!, grace, `deletion requested, grace period ${grace}s`);
    this.pendingStatus.delete(pod.metadata.uid!);
    await this.retrying("delete pod", async () => {
      try {
        await this.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
    });
  }

  private flushStatus(): Promise<void> {
    if (this.flushing) return this.flushing;
    const run = async () => {
      await Promise.resolve(); // so that `flushing` is set before the loop can finish
      try {
        while (this.pendingStatus.size && !this.stopped) {
          const [uid, { pod, status }] = this.pendingStatus.entries().next().value as [string, { pod: Pod; status: PodStatus }];
          this.pendingStatus.delete(uid);
          try {
            await this.client.patchStatus<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name!, { status });
          } catch (e) {
            if (isNotFound(e)) continue;
            // Unreachable or failing: keep the newest status for the next round.
            if (!this.pendingStatus.has(uid)) this.pendingStatus.set(uid, { pod, status });
            this.o.log?.(`kubelet: status of ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).message}`);
            return;
          }
        }
      } finally {
        this.flushing = undefined;
      }
    };
    this.flushing = run();
    return this.flushing;
  }

}
