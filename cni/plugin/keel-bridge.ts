// keel-bridge: the CNI plugin executable over PodNetwork. It accepts the reference bridge
// plugin's config (bridge, mtu, ipam, runtimeConfig.portMappings), so the same config works with
// Debian's bridge + host-local and with keel's. ipam.type "host-local" (or "keel-host-local") is
// served by keel's own IPAM, in the reference's on-disk layout; any other type is delegated to
// that plugin on CNI_PATH. The namespace the plugin runs in is the node's.
import { PodNetwork } from "../pod-network.js";
import { HostLocalIpam, type IpamBackend } from "../ipam/host-local.js";
import { DelegatedIpam } from "../ipam/delegate.js";
import { linkMac } from "../bridge.js";
import { InvalidNetworkConfigError, CheckFailedError } from "../errors.js";
import type { PortMapping } from "../types.js";
import { shapeResult, type CniResult, type PluginRequest } from "./protocol.js";

interface BridgeConfig {
  name: string;
  cniVersion: string;
  bridge?: string;
  mtu?: number;
  stateDir?: string;
  ipam?: {
    type?: string;
    subnet?: string;
    rangeStart?: string;
    rangeEnd?: string;
    gateway?: string;
    ranges?: { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }[][];
    dataDir?: string;
  };
  runtimeConfig?: { portMappings?: PortMapping[] };
  prevResult?: CniResult;
  "cni.dev/valid-attachments"?: { containerID: string; ifname: string }[];
}

function ipamRange(c: BridgeConfig): { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string } {
  const ipam = c.ipam;
  if (!ipam || !ipam.type) throw new InvalidNetworkConfigError("ipam.type", "missing");
  const r = ipam.ranges?.[0]?.[0] ?? (ipam.subnet ? { subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway } : undefined);
  if (!r?.subnet) throw new InvalidNetworkConfigError("ipam.subnet", "missing (ipam.subnet or ipam.ranges[0][0].subnet)");
  return r;
}

function keelIpam(c: BridgeConfig): HostLocalIpam {
  const r = ipamRange(c);
  return new HostLocalIpam({ dataDir: c.ipam?.dataDir ?? "/var/lib/cni/networks", network: c.name, subnet: r.subnet, rangeStart: r.rangeStart, rangeEnd: r.rangeEnd, gateway: r.gateway });
}

export async function keelBridge(req: PluginRequest): Promise<CniResult | undefined> {
  const c = req.config as unknown as BridgeConfig;
  const ipamType = c.ipam?.type;
  const own = ipamType === "host-local" || ipamType === "keel-host-local";
  let ipam: IpamBackend;
  let subnet: string;
  if (own) {
    ipam = keelIpam(c);
    subnet = ipamRange(c).subnet;
  } else {
    if (!ipamType) throw new InvalidNetworkConfigError("ipam.type", "missing");
    ipam = new DelegatedIpam(ipamType, req.binDirs, req.config, req.netns);
    subnet = ipamRange(c).subnet;
  }
  const net = new PodNetwork({ bridge: c.bridge ?? "keel0", podCIDR: subnet, mtu: c.mtu, stateDir: c.stateDir }, { ipam });
  const attachment = { containerId: req.containerId, netns: req.netns, ifName: req.ifName, portMappings: c.runtimeConfig?.portMappings };
  switch (req.command) {
    case "ADD": {
      const r = await net.add(attachment);
      const result: CniResult = {
        cniVersion: c.cniVersion,
        interfaces: [{ name: net.bridge, mac: await linkMac(undefined, net.bridge) }, ...r.interfaces],
        ips: [{ address: `${r.ip}/${r.prefixLength}`, gateway: r.gateway, interface: 2 }],
        routes: [{ dst: "0.0.0.0/0", gw: r.gateway }],
        dns: {},
      };
      return shapeResult(result);
    }
    case "DEL":
      await net.del(attachment);
      return undefined;
    case "CHECK": {
      const prev = c.prevResult;
      if (!prev) throw new CheckFailedError(req.containerId, "no prevResult in the config");
      await net.check(attachment);
      return undefined;
    }
    case "GC": {
      if (own) {
        const keep = new Set((c["cni.dev/valid-attachments"] ?? []).map((a) => a.containerID));
        await keelIpam(c).gc(keep);
      }
      return undefined;
    }
    case "STATUS":
      return undefined;
    default:
      return undefined;
  }
}
