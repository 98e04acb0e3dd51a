// The VXLAN overlay between nodes, flannel's vxlan backend model: each node has one VXLAN device
// whose address is its podCIDR's network address (/32); for every other node, a route to its
// podCIDR via that node's VTEP address (onlink), a permanent neighbour entry mapping the VTEP
// address to the node's VTEP MAC, and an FDB entry sending that MAC to the node's underlay IP.
// No learning, no multicast: everything is programmed from the list of peers (Node objects).
import { guardNodeNetns } from "../netns.js";
import { ensureSysctl, linkMac } from "../bridge.js";
import { formatIpv4, parseCidr, parseIpv4, formatCidr } from "../cidr.js";
import { InvalidNetworkConfigError } from "../errors.js";
import {
  addVxlan,
  deleteFdb,
  deleteLink,
  deleteNeighbour,
  deleteRoute,
  getLink,
  isExists,
  ignoreGone,
  listFdb,
  listNeighbours,
  listRoutes,
  replaceAddress,
  replaceFdb,
  replaceNeighbour,
  replaceRoute,
  setLink,
} from "../netlink.js";

export interface OverlayConfig {
  nodeNetns?: string;
  /** default keelvx<VNI> */
  device?: string;
  /** VXLAN network identifier; default 1. */
  vni?: number;
  /** UDP port; default 8472 (the Linux and flannel default). */
  port?: number;
  /** This node's underlay address. */
  localIP: string;
  /** The underlay interface (optional: the kernel routes to the peers' underlay IPs). */
  underlayDevice?: string;
  /** This node's pod CIDR. */
  podCIDR: string;
  /** Fixed VTEP MAC; default: the kernel's random one (published on the Node). */
  mac?: string;
  /** Default 1450: a 1500 underlay less the 50 bytes of VXLAN encapsulation. */
  mtu?: number;
}

export interface OverlayPeer {
  nodeIP: string;
  podCIDR: string;
  vtepMac: string;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export class Overlay {
  readonly device: string;
  readonly vni: number;
  readonly port: number;
  readonly mtu: number;
  private readonly podNet: string;

  constructor(readonly cfg: OverlayConfig) {
    this.vni = cfg.vni ?? 1;
    if (!Number.isInteger(this.vni) || this.vni < 1 || this.vni > 16777215) throw new InvalidNetworkConfigError("vni", `${cfg.vni} is not a VNI (1-16777215)`);
    this.port = cfg.port ?? 8472;
    this.mtu = cfg.mtu ?? 1450;
    this.device = cfg.device ?? `keelvx${this.vni}`;
    parseIpv4(cfg.localIP, "localIP");
    this.podNet = formatIpv4(parseCidr(cfg.podCIDR, "podCIDR").network);
    if (cfg.mac && !MAC_RE.test(cfg.mac)) throw new InvalidNetworkConfigError("mac", `${cfg.mac} is not a MAC address`);
  }

  /** Creates the VXLAN device if needed; returns this node's VTEP MAC (to publish to peers). */
  async ensure(): Promise<{ vtepMac: string; vtepIP: string }> {
    const ns = this.cfg.nodeNetns;
    guardNodeNetns(ns, "create the VXLAN device");
    if (!(await getLink(ns, this.device))) {
      await addVxlan(ns, {
        name: this.device,
        mtu: this.mtu,
        ...(this.cfg.mac ? { mac: this.cfg.mac } : {}),
        vni: this.vni,
        local: this.cfg.localIP,
        port: this.port,
        learning: false,
        ...(this.cfg.underlayDevice ? { underlayDevice: this.cfg.underlayDevice } : {}),
      }).catch((e: unknown) => {
        if (!isExists(e)) throw e;
      });
    }
    await replaceAddress(ns, this.device, `${this.podNet}/32`);
    await setLink(ns, this.device, { up: true });
    await ensureSysctl(ns, "net.ipv4.ip_forward", "1");
    return { vtepMac: await linkMac(ns, this.device), vtepIP: this.podNet };
  }

  /** Programs routes, neighbours and FDB entries for exactly these peers (self is skipped), removing the rest. */
  async syncOverlay(peers: OverlayPeer[]): Promise<void> {
    const ns = this.cfg.nodeNetns;
    guardNodeNetns(ns, "program the overlay");
    const want = peers
      .filter((p) => p.nodeIP !== this.cfg.localIP)
      .map((p, i) => {
        parseIpv4(p.nodeIP, `peers[${i}].nodeIP`);
        const c = parseCidr(p.podCIDR, `peers[${i}].podCIDR`);
        if (!MAC_RE.test(p.vtepMac)) throw new InvalidNetworkConfigError(`peers[${i}].vtepMac`, `${p.vtepMac} is not a MAC address`);
        return { ...p, cidr: formatCidr(c), vtep: formatIpv4(c.network), mac: p.vtepMac.toLowerCase() };
      });
    const dev = this.device;
    for (const p of want) {
      await replaceFdb(ns, { dev, mac: p.mac, dst: p.nodeIP });
      await replaceNeighbour(ns, { dev, dst: p.vtep, lladdr: p.mac });
      await replaceRoute(ns, { dst: p.cidr, via: p.vtep, dev, onlink: true });
    }
    // remove what no peer asks for any more (a node that left); host routes (/32) and a default
    // route are not the overlay's
    for (const r of await listRoutes(ns, dev)) {
      const len = Number(r.dst.split("/")[1] ?? 0);
      if (r.dst !== "default" && len < 32 && !want.some((p) => p.cidr === r.dst)) await deleteRoute(ns, { dst: r.dst, dev }).catch(ignoreGone);
    }
    for (const n of await listNeighbours(ns, dev)) {
      if (!want.some((p) => p.vtep === n.dst)) await deleteNeighbour(ns, { dev, dst: n.dst }).catch(ignoreGone);
    }
    for (const f of await listFdb(ns, dev)) {
      if (f.dst && !want.some((p) => p.mac === f.mac && p.nodeIP === f.dst)) await deleteFdb(ns, { dev, mac: f.mac, dst: f.dst }).catch(ignoreGone);
    }
  }

  /** Removes the device (and with it every route, neighbour and FDB entry on it). */
  async remove(): Promise<void> {
    guardNodeNetns(this.cfg.nodeNetns, "remove the VXLAN device");
    await deleteLink(this.cfg.nodeNetns, this.device).catch(ignoreGone);
  }
}
