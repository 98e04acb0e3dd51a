// keel's kubelet, as a library: `startKubelet(opts)` runs pods from a manifests directory, from
// the API server (with a kubeconfig), or both, and returns `{ close() }`. Closing leaves the
// pods running (a restarted kubelet with the same root re-adopts them) unless stopPods is set.
import { packageVersion } from "../lib/package-root.js";
import { KubeClient } from "../controlplane/kit/index.js";
import { ApiSource } from "./api-source.js";
import { CniNetwork, PodCidrNetwork } from "./cni-network.js";
import type { NodeNetworkConfig } from "../cni/index.js";
import { ApiConfigSource, ChainedConfigSource, StaticConfigSource } from "./config-source.js";
import { KubeletCore, type KubeletCoreOptions } from "./kubelet.js";
import type { Pod, PodStatus } from "../api/index.js";
import { ManifestSource } from "./manifest-source.js";
import { ServiceAccountTokens } from "./service-account-token.js";
import { defaultHostIP } from "./node-status.js";
import { KubeletMetrics } from "./metrics.js";
import { startKubeletServer, type KubeletServer } from "./server.js";

export { KubeletCore, sourceOf } from "./kubelet.js";
export { ManifestSource } from "./manifest-source.js";
export { ApiSource } from "./api-source.js";
export { parsePodManifest, readPodManifest } from "./manifest.js";
export { CniNetwork, PodCidrNetwork } from "./cni-network.js";
export { LoopbackNetwork, type PodNetworkPlugin, type PodNetworkRequest, type PodNetworkResult } from "./network.js";
export * from "./errors.js";

export interface KubeletOptions extends Omit<KubeletCoreOptions, "nodeName" | "onStatus" | "onEvent"> {
  nodeName?: string;
  /** Static pod manifests. */
  manifests?: string;
  manifestIntervalMs?: number;
  /** Run under the API server this kubeconfig names. */
  kubeconfig?: string;
  leaseRenewMs?: number;
  nodeStatusMs?: number;
  /**
   * keel's CNI for pods: with podCIDR, pods get addresses from it at once; without, from the
   * Node's spec.podCIDR once the control plane assigns one. (Or pass any `network`.)
   */
  cni?: Omit<NodeNetworkConfig, "podCIDR"> & { podCIDR?: string };
  /** Serve /healthz, /pods, /metrics, /stats/summary, /containerLogs on HOST:PORT (port 0: any). */
  listen?: string;
  /**
   * Publish the listen URL on the Node (keel.dev/kubelet-endpoint), for an API server that cannot
   * reach the node's own address (the node's address is in a network namespace of its own).
   */
  publishEndpoint?: boolean;
  /** Every pod status the kubelet computes, as it computes it (besides the API server's copy). */
  onPodStatus?: (pod: Pod, status: PodStatus) => void;
  /** close() stops every pod too (default: pods keep running). */
  stopPods?: boolean;
}

export interface RunningKubelet {
  core: KubeletCore;
  nodeName: string;
  /** The local HTTP endpoint, when `listen` was given. */
  url?: string;
  close(): Promise<void>;
}

function version(): string {
  try {
    return packageVersion();
  } catch {
    return "0.0.0";
  }
}

export async function startKubelet(opts: KubeletOptions): Promise<RunningKubelet> {
  const { hostname } = await import("node:os");
  const nodeName = opts.nodeName ?? hostname();
  const hostIP = opts.hostIP ?? defaultHostIP();
  let api: ApiSource | undefined;
  let core: KubeletCore | undefined;
  const metrics = new KubeletMetrics(() => core);
  let deferred: PodCidrNetwork | undefined;
  let network = opts.network;
  if (!network && opts.cni) {
    if (opts.cni.podCIDR) network = new CniNetwork({ ...opts.cni, podCIDR: opts.cni.podCIDR });
    else network = deferred = new PodCidrNetwork(opts.cni);
  }
  const staticConfigs = new StaticConfigSource();
  const client: KubeClient | undefined = opts.kubeconfig ? new KubeClient(opts.kubeconfig, `keel-kubelet/${nodeName}`) : undefined;
  // Only pods from the API server get ServiceAccount tokens: standalone, there is nobody to sign them.
  const saTokens = client ? new ServiceAccountTokens({ client, caPem: client.config.caPem, log: opts.log }) : undefined;
  core = await KubeletCore.open({
    ...opts, nodeName, hostIP, network,
    configs: new ChainedConfigSource([staticConfigs, ...(client ? [new ApiConfigSource(client)] : [])]),
    serviceAccountTokens: saTokens,
    metrics,
    onStatus: (pod, st) => {
      api?.status(pod, st);
      opts.onPodStatus?.(pod, st);
    },
    onEvent: (pod, type, reason, message) => api?.event(pod, type, reason, message),
  });
  let manifests: ManifestSource | undefined;
  let server: KubeletServer | undefined;
  try {
    if (opts.listen) server = await startKubeletServer(core, metrics, opts.listen);
    if (client) {
      api = new ApiSource({
        client, core, nodeName, hostIP, root: core.paths.root, version: version(), log: opts.log,
        leaseRenewMs: opts.leaseRenewMs, nodeStatusMs: opts.nodeStatusMs,
        kubeletPort: server ? Number(new URL(server.url).port) : undefined,
        kubeletEndpoint: server && opts.publishEndpoint ? server.url : undefined,
        podCIDR: (cidr) => deferred?.setPodCIDR(cidr),
      });
      // Status already computed by re-adopted workers is written once the API is there.
      for (const w of core.workers.values()) if (w.currentStatus) api.status(w.pod, w.currentStatus);
      for (const w of core.workers.values()) saTokens?.resume(w.pod, core.paths);
      await api.start();
    }
    if (opts.manifests) {
      manifests = new ManifestSource({
        dir: opts.manifests, nodeName, intervalMs: opts.manifestIntervalMs,
        onPods: (pods) => core.sync(pods, "file"), configs: staticConfigs,
        onError: (file, err) => opts.log?.(`kubelet: manifest ${file}: ${err.message}`),
      });
      await manifests.start();
    }
  } catch (e) {
    await api?.stop();
    await server?.close();
    await core.close();
    saTokens?.close();
    client?.close();
    throw e;
  }
  return {
    core, nodeName, url: server?.url,
    async close() {
      await server?.close();
      await manifests?.stop();
      await api?.stop();
      if (opts.stopPods) await core.stopAll();
      await core.close();
      saTokens?.close();
      client?.close();
    },
  };
}
