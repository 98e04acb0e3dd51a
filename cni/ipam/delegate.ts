// IPAM delegated to another plugin executable (the bridge plugin's model: ipam.type names the
// plugin, which receives the same config and CNI_* environment).
import { invokePlugin } from "../exec/invoke.js";
import type { IpamAllocation, IpamBackend } from "./host-local.js";
import { CniError, CNI_CODES } from "../errors.js";

export class DelegatedIpam implements IpamBackend {
  constructor(
    private readonly type: string,
    private readonly binDirs: string[],
    private readonly config: Record<string, unknown>,
    private readonly netns: string,
  ) {}

  async allocate(containerId: string, ifName: string): Promise<IpamAllocation> {
    const r = (await invokePlugin({ command: "ADD", type: this.type, binDirs: this.binDirs, containerId, ifName, netns: this.netns, config: this.config })) as
      | { ips?: { address: string; gateway?: string }[] }
      | undefined;
    const ip = r?.ips?.find((i) => !i.address.includes(":"));
    if (!ip) throw new CniError(`IPAM plugin ${this.type} returned no IPv4 address`, CNI_CODES.ioFailure);
    const [addr, len] = ip.address.split("/");
    if (!ip.gateway) throw new CniError(`IPAM plugin ${this.type} returned no gateway for ${ip.address}`, CNI_CODES.ioFailure);
    return { ip: addr!, prefixLength: Number(len), gateway: ip.gateway, existing: false };
  }

  async release(containerId: string, ifName: string): Promise<string[]> {
    await invokePlugin({ command: "DEL", type: this.type, binDirs: this.binDirs, containerId, ifName, netns: this.netns, config: this.config });
    return [];
  }

  async lookup(): Promise<string | undefined> {
    return undefined; // the delegate keeps its own books; CHECK trusts the interface state
  }
}
