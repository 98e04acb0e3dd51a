// The VXLAN overlay between the cluster's nodes (flannel's vxlan backend, cni/overlay): once the
// node IPAM controller has given a Node its spec.podCIDR, each node this process runs gets its
// VXLAN device, and publishes its VTEP on its Node (flannel's annotations: backend-data with the
// VTEP MAC, public-ip); every local device is then programmed with every published peer, so
// nodes joined from other machines (`keel join`, which runs its own OverlaySync) are peers too.
import type { Node } from "../api/index.js";
import { Overlay } from "../cni/index.js";
import { KubeClient, R } from "../controlplane/kit/index.js";

export const OVERLAY_MTU = 1450;
/** flannel's annotations, so the Node objects read the same as a flannel cluster's. */
export const VTEP_ANNOTATION = "flannel.alpha.coreos.com/backend-data";
export const PUBLIC_IP_ANNOTATION = "flannel.alpha.coreos.com/public-ip";

/** A node whose overlay device this process makes: its name, its netns path, its underlay address. */
export interface OverlayNode { name: string; netnsPath: string; ip: string }

/** The peers Node objects publish (nodes with a podCIDR and a VTEP). */
export function overlayPeers(nodes: Node[]): { nodeIP: string; podCIDR: string; vtepMac: string }[] {
  return nodes.flatMap((n) => {
    const a = n.metadata.annotations ?? {};
    const ip = a[PUBLIC_IP_ANNOTATION];
    let mac: string | undefined;
    try { mac = (JSON.parse(a[VTEP_ANNOTATION] ?? "{}") as { VtepMAC?: string }).VtepMAC; } catch { mac = undefined; }
    return n.spec?.podCIDR && ip && mac ? [{ nodeIP: ip, podCIDR: n.spec.podCIDR, vtepMac: mac }] : [];
  }).sort((a, b) => a.nodeIP.localeCompare(b.nodeIP));
}

export class OverlaySync {
  private readonly overlays = new Map<string, { overlay: Overlay; podCIDR: string; vtepMac: string }>();
  private lastPeers = "";
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  /** onPodCIDR: a node's podCIDR seen (first or changed), to hand to its kubelet's network at once. */
  constructor(private readonly client: KubeClient, private readonly nodes: OverlayNode[], private readonly log: (m: string) => void,
    private readonly onPodCIDR: (node: string, cidr: string) => void = () => {}, private readonly intervalMs = 500,
    private readonly underlayDevice = "eth0") {}

  /** Every local node has its device, and it is published. */
  get complete(): boolean {
    return this.nodes.every((n) => this.overlays.has(n.name)) && this.lastPeers !== "";
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

  /** One pass: devices for local nodes that got a podCIDR (published on their Node), then peers everywhere. */
  async sync(): Promise<void> {
    let list = (await this.client.listAll<Node>(R.nodes)).items;
    for (const n of this.nodes) {
      const node = list.find((x) => x.metadata.name === n.name);
      const cidr = node?.spec?.podCIDR;
      if (!node || !cidr) continue;
      if (this.overlays.get(n.name)?.podCIDR !== cidr) {
        await this.overlays.get(n.name)?.overlay.remove();
        const overlay = new Overlay({ nodeNetns: n.netnsPath, localIP: n.ip, underlayDevice: this.underlayDevice, podCIDR: cidr, mtu: OVERLAY_MTU });
        const { vtepMac } = await overlay.ensure();
        this.overlays.set(n.name, { overlay, podCIDR: cidr, vtepMac });
        this.onPodCIDR(n.name, cidr);
      }
      const want = { [VTEP_ANNOTATION]: JSON.stringify({ VNI: 1, VtepMAC: this.overlays.get(n.name)!.vtepMac }), [PUBLIC_IP_ANNOTATION]: n.ip };
      const have = node.metadata.annotations ?? {};
      if (Object.entries(want).some(([k, v]) => have[k] !== v)) {
        const updated = await this.client.patch<Node>(R.nodes, undefined, n.name, { metadata: { annotations: want } });
        list = list.map((x) => (x.metadata.name === n.name ? updated : x));
      }
    }
    const peers = overlayPeers(list);
    const key = JSON.stringify(peers);
    if (key === this.lastPeers || !peers.length) return;
    for (const o of this.overlays.values()) await o.overlay.syncOverlay(peers);
    this.lastPeers = key;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
