// The VXLAN overlay between the cluster's nodes (flannel's vxlan backend, cni/overlay): once the
// node IPAM controller has given a Node its spec.podCIDR, that node gets its VXLAN device, and
// every node's routes/neighbours/FDB are programmed for all the others. The nodes all live in
// this process, so VTEP MACs are known here rather than read back from Node annotations.
import type { Node } from "../api/index.js";
import { Overlay } from "../cni/index.js";
import { KubeClient, R } from "../controlplane/kit/index.js";
import { netnsPath } from "./network.js";
import type { NodeRecord } from "./state.js";

export const OVERLAY_MTU = 1450;

export class OverlaySync {
  private readonly overlays = new Map<string, { overlay: Overlay; podCIDR: string; vtepMac: string }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  /** onPodCIDR: a node's podCIDR seen (first or changed), to hand to its kubelet's network at once. */
  constructor(private readonly client: KubeClient, private readonly nodes: NodeRecord[], private readonly log: (m: string) => void,
    private readonly onPodCIDR: (node: string, cidr: string) => void = () => {}, private readonly intervalMs = 500) {}

  /** Every node has its device and its peers. */
  get complete(): boolean {
    return this.nodes.every((n) => this.overlays.has(n.name));
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.sync().catch((e: Error) => this.log(`cluster overlay: ${e.message}`)).finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
      });
    };
    loop();
  }

  /** One pass: devices for nodes that got a podCIDR, then peers everywhere. */
  async sync(): Promise<void> {
    const list = await this.client.listAll<Node>(R.nodes);
    let changed = false;
    for (const n of this.nodes) {
      const cidr = list.items.find((x) => x.metadata.name === n.name)?.spec?.podCIDR;
      if (!cidr || this.overlays.get(n.name)?.podCIDR === cidr) continue;
      await this.overlays.get(n.name)?.overlay.remove();
      const overlay = new Overlay({ nodeNetns: netnsPath(n.netns), localIP: n.ip, underlayDevice: "eth0", podCIDR: cidr, mtu: OVERLAY_MTU });
      const { vtepMac } = await overlay.ensure();
      this.overlays.set(n.name, { overlay, podCIDR: cidr, vtepMac });
      this.onPodCIDR(n.name, cidr);
      changed = true;
    }
    if (!changed) return;
    const peers = this.nodes.flatMap((n) => {
      const o = this.overlays.get(n.name);
      return o ? [{ nodeIP: n.ip, podCIDR: o.podCIDR, vtepMac: o.vtepMac }] : [];
    });
    for (const o of this.overlays.values()) await o.overlay.syncOverlay(peers);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
