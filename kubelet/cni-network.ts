// Pod networking through keel's CNI (cni/PodNetwork): each sandbox gets a veth on the node's
// bridge and an address from the node's pod CIDR; host ports become port mappings. PodNetwork's
// ADD brings the pod's loopback up in the same netlink batch as its veth.
import type { Pod } from "../api/index.js";
import { PodNetwork, type NodeNetworkConfig, type PortMapping } from "../cni/index.js";
import { KubeletError } from "./errors.js";
import { type PodNetworkPlugin, type PodNetworkRequest, type PodNetworkResult } from "./network.js";

export class CniNetwork implements PodNetworkPlugin {
  readonly name = "keel-cni";
  readonly net: PodNetwork;

  constructor(cfg: NodeNetworkConfig) {
    this.net = new PodNetwork(cfg);
  }

  async setUp(req: PodNetworkRequest & { pod?: Pod }): Promise<PodNetworkResult> {
    const portMappings: PortMapping[] = [];
    for (const c of req.pod?.spec?.containers ?? [])
      for (const p of c.ports ?? []) if (p.hostPort) portMappings.push({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: (p.protocol ?? "TCP").toLowerCase() === "udp" ? "udp" : "tcp" });
    const r = await this.net.add({ containerId: req.containerId, netns: req.netns, podName: req.name, podNamespace: req.namespace, ...(portMappings.length ? { portMappings } : {}) });
    return { ip: r.ip };
  }

  async tearDown(req: PodNetworkRequest): Promise<void> {
    await this.net.del({ containerId: req.containerId, netns: req.netns, podName: req.name, podNamespace: req.namespace });
  }
}

/**
 * CNI networking whose pod CIDR comes later: under the API server a node learns its podCIDR
 * from its Node object (the node IPAM controller assigns it). Until then a sandbox waits a
 * little, then fails and is retried by its worker.
 */
export class PodCidrNetwork implements PodNetworkPlugin {
  readonly name = "keel-cni";
  private inner?: CniNetwork;
  private waiters: (() => void)[] = [];

  constructor(private readonly cfg: Omit<NodeNetworkConfig, "podCIDR">, private readonly waitMs = 5000) {}

  setPodCIDR(cidr: string): void {
    if (this.inner?.net.podCIDR === cidr) return;
    this.inner = new CniNetwork({ ...this.cfg, podCIDR: cidr });
    for (const w of this.waiters.splice(0)) w();
  }

  async setUp(req: PodNetworkRequest): Promise<PodNetworkResult> {
    if (!this.inner) await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, this.waitMs); });
    if (!this.inner) throw new KubeletError("ENOPODCIDR", "this node has no podCIDR yet (spec.podCIDR of its Node): pods wait for it");
    return this.inner.setUp(req);
  }

  async tearDown(req: PodNetworkRequest): Promise<void> {
    await this.inner?.tearDown(req);
  }
}
