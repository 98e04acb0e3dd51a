// The kubelet: pod workers fed by a source of desired pods (a manifests directory, or the API
// server), with re-adoption of the pods a previous kubelet left running under the same root.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import pLimit from "p-limit";
import type { Pod, PodStatus } from "../api/index.js";
import { ImageService } from "../images/index.js";
import { Runtime } from "../runtime/runtime.js";
import { LoopbackNetwork, type PodNetworkPlugin } from "./network.js";
import { KubeletPaths, sandboxId } from "./paths.js";
import { PodCgroups } from "./pod-cgroups.js";
import { EvictionManager } from "./eviction.js";
import { LogRotator } from "./log-rotation.js";
import type { ConfigSource } from "./config-source.js";
import type { ServiceAccountTokens } from "./service-account-token.js";
import type { KubeletMetrics } from "./metrics.js";
import { PodWorker, type EventType, type WorkerDeps } from "./pod-worker.js";

export interface KubeletCoreOptions {
  /** State root (default /var/lib/keel/kubelet). */
  root?: string;
  /** Pod logs (default /var/log/pods). */
  logDir?: string;
  nodeName: string;
  hostIP?: string;
  /** The image store (default images' own default root). */
  imageRoot?: string;
  network?: PodNetworkPlugin;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  syncIntervalMs?: number;
  pidsLimit?: number;
  /** The kubepods cgroup (relative to the kubelet's own cgroup); default keel-kubepods-<node>. false: no pod cgroups. */
  cgroupRoot?: string | false;
  /** Memory-pressure eviction: below this MemAvailable (default 100Mi); 0 turns eviction off. */
  evictionMemoryAvailableMin?: number;
  evictionIntervalMs?: number;
  /** ConfigMaps and Secrets for pods' volumes and env. */
  configs?: ConfigSource;
  /** Pods' DNS (KubeletConfiguration clusterDNS, clusterDomain): their resolv.conf, see dns.ts. */
  clusterDNS?: string[];
  clusterDomain?: string;
  /** Pods' ServiceAccount tokens (service-account-token.ts), when running under an API server. */
  serviceAccountTokens?: ServiceAccountTokens;
  /** Container log rotation (kubelet's containerLogMaxSize 10Mi, containerLogMaxFiles 5). */
  logMaxBytes?: number;
  logMaxFiles?: number;
  logRotateIntervalMs?: number;
  /** For tests: the node's MemAvailable. */
  memoryAvailable?: () => number;
  onStatus?: (pod: Pod, status: PodStatus) => void;
  onPodStarted?: (pod: Pod, seconds: number) => void;
  /** Where pod starts and their steps are timed. */
  metrics?: KubeletMetrics;
  onEvent?: (pod: Pod, type: EventType, reason: string, message: string, container?: string) => void;
  log?: (msg: string) => void;
}

export class KubeletCore {
  readonly paths: KubeletPaths;
  readonly workers = new Map<string, PodWorker>();
  private deps!: WorkerDeps;
  eviction?: EvictionManager;
  private logs?: LogRotator;

  private constructor(private readonly o: KubeletCoreOptions) {
    this.paths = new KubeletPaths(o.root ?? "/var/lib/keel/kubelet", o.logDir ?? "/var/log/pods");
  }

  static async open(o: KubeletCoreOptions): Promise<KubeletCore> {
    const k = new KubeletCore(o);
    mkdirSync(k.paths.podsDir, { recursive: true });
    const images = await ImageService.open(...(o.imageRoot ? [o.imageRoot] : []));
    k.deps = {
      runtime: new Runtime({ root: k.paths.runtimeRoot }), images, paths: k.paths,
      network: o.network ?? new LoopbackNetwork(), nodeName: o.nodeName, hostIP: o.hostIP,
      backoffBaseMs: o.backoffBaseMs ?? 10_000, backoffMaxMs: o.backoffMaxMs ?? 300_000,
      syncIntervalMs: o.syncIntervalMs ?? 500, pidsLimit: o.pidsLimit, configs: o.configs, rootfsQueue: pLimit(4),
      dns: { clusterDNS: o.clusterDNS, clusterDomain: o.clusterDomain },
      serviceAccountTokens: o.serviceAccountTokens,
      podCgroups: o.cgroupRoot === false ? undefined : new PodCgroups(o.cgroupRoot ?? `keel-kubepods-${o.nodeName.replace(/[^A-Za-z0-9_.-]/g, "_")}`),
      onStatus: (pod, st) => o.onStatus?.(pod, st),
      onPodStarted: (pod, s) => { o.metrics?.observePodStart(s); o.onPodStarted?.(pod, s); },
      metrics: o.metrics,
      onEvent: (pod, type, reason, message, container) => {
        o.log?.(`${pod.metadata.namespace}/${pod.metadata.name}${container ? `[${container}]` : ""}: ${reason}: ${message}`);
        o.onEvent?.(pod, type, reason, message, container);
      },
    };
    k.adopt();
    await k.collectOrphans();
    for (const w of k.workers.values()) w.start();
    k.logs = new LogRotator(k, { maxBytes: o.logMaxBytes ?? 10 * 1024 * 1024, maxFiles: o.logMaxFiles ?? 5, intervalMs: o.logRotateIntervalMs ?? 10_000 });
    k.logs.start();
    if (o.evictionMemoryAvailableMin !== 0) {
      k.eviction = new EvictionManager(k, { memoryAvailableMin: o.evictionMemoryAvailableMin ?? 100 * 1024 * 1024, intervalMs: o.evictionIntervalMs ?? 10_000, memoryAvailable: o.memoryAvailable });
      k.eviction.start();
    }
    return k;
  }

  get runtime(): Runtime { return this.deps.runtime; }
  get nodeName(): string { return this.o.nodeName; }

  /** Picks up the pods a previous kubelet with this root left: their workers carry on. */
  private adopt(): void {
    for (const uid of readdirSync(this.paths.podsDir)) {
      let pod: Pod;
      try {
        pod = JSON.parse(readFileSync(this.paths.podRecord(uid), "utf8")) as Pod;
      } catch {
        continue;
      }
      const w = new PodWorker(pod, this.deps);
      this.workers.set(uid, w);
      this.o.log?.(`re-adopted pod ${w.podName} (${uid})`);
    }
  }

  /**
   * Removes containers in the runtime's state that no pod record claims (a kubelet that crashed
   * between starting a container and recording it, or while removing a pod), with their rootfs.
   */
  private async collectOrphans(): Promise<void> {
    const claimed = new Set<string>();
    for (const w of this.workers.values()) {
      claimed.add(sandboxId(w.uid));
      for (const c of Object.values(w.record.containers)) if (c.runtimeId) claimed.add(c.runtimeId);
    }
    for (const st of this.deps.runtime.list()) {
      if (claimed.has(st.id)) continue;
      this.o.log?.(`removing orphaned container ${st.id}`);
      await this.deps.runtime.delete(st.id, { force: true }).catch(() => {});
      await this.deps.images.snapshots.release(st.id).catch(() => {});
    }
  }

  /**
   * Makes the pods of one source ("file" for manifests, "api" for the API server) exactly `pods`
   * (by UID): new ones start, missing ones stop. Pods of the other source are left alone.
   */
  async sync(pods: Pod[], source: "file" | "api" = "file", keep: (uid: string) => boolean = () => false): Promise<void> {
    const want = new Map(pods.map((p) => [p.metadata.uid!, p]));
    const stops: Promise<void>[] = [];
    for (const [uid, w] of this.workers) if (!want.has(uid) && sourceOf(w.pod) === source && !keep(uid)) stops.push(this.remove(uid, undefined, `no longer in the ${source} source`));
    for (const [uid, p] of want) this.upsert(p, uid);
    await Promise.all(stops);
  }

  upsert(pod: Pod, uid = pod.metadata.uid!): PodWorker {
    let w = this.workers.get(uid);
    if (!w) {
      w = new PodWorker(pod, this.deps);
      this.workers.set(uid, w);
      w.start();
    } else {
      w.update(pod);
    }
    return w;
  }

  async remove(uid: string, graceSec?: number, why = "removed"): Promise<void> {
    const w = this.workers.get(uid);
    if (!w) return;
    this.o.log?.(`stopping pod ${w.podName} (${why})`);
    await w.terminate(graceSec);
    this.workers.delete(uid);
    if (this.workers.size === 0) await this.deps.podCgroups?.removeLevels();
  }

  /** Stops the workers, leaving every container running for the next kubelet. */
  async close(): Promise<void> {
    this.eviction?.stop();
    this.logs?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.detach()));
  }

  /** Stops every pod (used by tests and `--stop-pods-on-exit`). */
  async stopAll(graceSec?: number): Promise<void> {
    await Promise.all([...this.workers.keys()].map((uid) => this.remove(uid, graceSec)));
  }
}

export function sourceOf(pod: Pod): "file" | "api" {
  return pod.metadata.annotations?.["kubernetes.io/config.source"] === "file" ? "file" : "api";
}
