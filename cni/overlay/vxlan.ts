// The VXLAN overlay between nodes, flannel's vxlan backend model: each node has one VXLAN device
// whose address is its podCIDR's network address (/32); for every other node, a route to its
// podCIDR via that node's VTEP address (onlink), a permanent neighbour entry mapping the VTEP
// address to the node's VTEP MAC, and an FDB entry sending that MAC to the node's underlay IP.
// No learning, no multicast: everything is programmed from the list of peers (Node objects).
import { ipJson, linkExists, runIn, guardNodeNetns } from "../netns.js";
import { ensureSysctl, linkMac } from "../bridge.js";
import { formatIpv4, parseCidr, parseIpv4, formatCidr } from "../cidr.js";
import { InvalidNetworkConfigError, NetCommandError } from "../errors.js";

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
    if (!(await linkExists(ns, this.device))) {
      const argv = ["ip", "link", "add", "name", this.device, "mtu", String(this.mtu)];
      if (this.cfg.mac) argv.push("address", this.cfg.mac);
      argv.push("type", "vxlan", "id", String(this.vni), "local", this.cfg.localIP, "dstport", String(this.port), "nolearning");
      if (this.cfg.underlayDevice) argv.push("dev", this.cfg.underlayDevice);
      await runIn(ns, argv, `create VXLAN device ${this.device}`);
    }
    await runIn(ns, ["ip", "addr", "replace", `${this.podNet}/32`, "dev", this.device], `set VTEP address on ${this.device}`);
    await runIn(ns, ["ip", "link", "set", "dev", this.device, "up"], `bring ${this.device} up`);
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
      await runIn(ns, ["bridge", "fdb", "replace", p.mac, "dev", dev, "dst", p.nodeIP, "self", "permanent"], `FDB ${p.mac} -> ${p.nodeIP}`);
      await runIn(ns, ["ip", "neigh", "replace", p.vtep, "lladdr", p.mac, "dev", dev, "nud", "permanent"], `neighbour ${p.vtep} -> ${p.mac}`);
      await runIn(ns, ["ip", "route", "replace", p.cidr, "via", p.vtep, "dev", dev, "onlink"], `route ${p.cidr} via ${p.vtep}`);
    }
    // remove what no peer asks for any more (a node that left)
    const routes = await ipJson<{ dst: string }[]>(ns, ["route", "show", "dev", dev], `list routes on ${dev}`);
    for (const r of routes) {
      if (r.dst.includes("/") && !want.some((p) => p.cidr === r.dst)) await runIn(ns, ["ip", "route", "del", r.dst, "dev", dev], `remove route ${r.dst}`).catch(ignoreGone);
    }
    const neighs = await ipJson<{ dst: string }[]>(ns, ["neigh", "show", "dev", dev], `list neighbours on ${dev}`);
    for (const n of neighs) {
      if (!want.some((p) => p.vtep === n.dst)) await runIn(ns, ["ip", "neigh", "del", n.dst, "dev", dev], `remove neighbour ${n.dst}`).catch(ignoreGone);
    }
    const { stdout } = await runIn(ns, ["bridge", "-j", "fdb", "show", "dev", dev], `list FDB of ${dev}`);
    const fdb = (stdout.trim() ? JSON.parse(stdout) : []) as { mac: string; dst?: string }[];
    for (const f of fdb) {
      if (f.dst && !want.some((p) => p.mac === f.mac && p.nodeIP === f.dst)) {
        await runIn(ns, ["bridge", "fdb", "del", f.mac, "dev", dev, "dst", f.dst, "self"], `remove FDB ${f.mac}`).catch(ignoreGone);
      }
    }
  }

  /** Removes the device (and with it every route, neighbour and FDB entry on it). */
  async remove(): Promise<void> {
    guardNodeNetns(this.cfg.nodeNetns, "remove the VXLAN device");
    if (await linkExists(this.cfg.nodeNetns, this.device)) await runIn(this.cfg.nodeNetns, ["ip", "link", "del", "dev", this.device], `remove ${this.device}`).catch(ignoreGone);
  }
}

function ignoreGone(e: unknown): void {
  if (e instanceof NetCommandError && /No such|Cannot find|does not exist|not found/i.test(e.stderr)) return;
  throw e;
}
