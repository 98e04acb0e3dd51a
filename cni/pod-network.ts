// PodNetwork: the bridge plugin + host-local IPAM + portmap, in-process, with CNI semantics:
// ADD is idempotent (the same container and interface get the same address back), DEL frees
// everything and may be repeated, CHECK verifies what ADD left.
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/atomic-file.js";
import type { NodeNetworkConfig, PodAttachment, PodAttachResult } from "./types.js";
import { HostLocalIpam, type IpamBackend } from "./ipam/host-local.js";
import { attachVeth, detachVeth, ensureBridge, hostVethName, inspectPod, masterOf } from "./bridge.js";
import { assertNetnsExists, guardNodeNetns } from "./netns.js";
import { HostPorts, validatePortMappings } from "./hostports.js";
import { parseCidr, formatCidr } from "./cidr.js";
import { CheckFailedError, InvalidNetworkConfigError } from "./errors.js";
import { existsSync } from "node:fs";

export const DEFAULT_STATE_DIR = "/var/lib/keel/cni";
export const DEFAULT_BRIDGE = "keel0";

export class PodNetwork {
  readonly bridge: string;
  readonly mtu: number;
  readonly stateDir: string;
  readonly podCIDR: string;
  private readonly ipam: IpamBackend;
  private readonly hostLocal: HostLocalIpam | undefined;
  private readonly hostPorts: HostPorts;

  /**
   * internals: for keel's CNI plugin executable, which names its IPAM network after the CNI
   * config's name and may delegate IPAM to another plugin; the kubelet passes only cfg.
   */
  constructor(readonly cfg: NodeNetworkConfig, internals: { ipam?: IpamBackend } = {}) {
    this.bridge = cfg.bridge ?? DEFAULT_BRIDGE;
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(this.bridge)) throw new InvalidNetworkConfigError("bridge", `${JSON.stringify(this.bridge)} is not a valid interface name`);
    this.mtu = cfg.mtu ?? 1500;
    if (!Number.isInteger(this.mtu) || this.mtu < 576 || this.mtu > 65535) throw new InvalidNetworkConfigError("mtu", `${cfg.mtu} is out of range (576-65535)`);
    this.stateDir = cfg.stateDir ?? DEFAULT_STATE_DIR;
    this.podCIDR = formatCidr(parseCidr(cfg.podCIDR, "podCIDR"));
    if (cfg.clusterCIDR) parseCidr(cfg.clusterCIDR, "clusterCIDR");
    this.hostLocal = internals.ipam ? undefined : new HostLocalIpam({ dataDir: join(this.stateDir, "networks"), network: this.bridge, subnet: this.podCIDR });
    this.ipam = internals.ipam ?? this.hostLocal!;
    this.hostPorts = new HostPorts(cfg.nodeNetns, this.stateDir, this.podCIDR, this.bridge);
  }


  async add(p: PodAttachment): Promise<PodAttachResult> {
    const ifName = this.checkAttachment(p);
    guardNodeNetns(this.cfg.nodeNetns, `attach pod ${p.containerId}`);
    if (this.cfg.nodeNetns) assertNetnsExists(this.cfg.nodeNetns, "node");
    assertNetnsExists(p.netns, "pod");
    if (p.portMappings) validatePortMappings(p.portMappings);
    const alloc = await this.ipam.allocate(p.containerId, ifName);
    const hostVeth = hostVethName(p.containerId, ifName);
    try {
      await ensureBridge(this.cfg.nodeNetns, this.bridge, `${alloc.gateway}/${alloc.prefixLength}`, this.mtu);
      const macs = await attachVeth({
        nodeNetns: this.cfg.nodeNetns,
        bridge: this.bridge,
        hostVeth,
        podNetns: p.netns,
        ifName,
        mtu: this.mtu,
        addressCidr: `${alloc.ip}/${alloc.prefixLength}`,
        gateway: alloc.gateway,
      });
      await this.hostPorts.set(p.containerId, alloc.ip, p.portMappings ?? []);
      const result: PodAttachResult = {
        ip: alloc.ip,
        gateway: alloc.gateway,
        prefixLength: alloc.prefixLength,
        mac: macs.podMac,
        interfaces: [
          { name: hostVeth, mac: macs.hostMac },
          { name: ifName, mac: macs.podMac, sandbox: p.netns },
        ],
      };
      await mkdir(this.resultsDir, { recursive: true });
      // Not fsync'd: what CHECK and DEL compare against, for a pod a machine crash takes with it.
      await writeFileAtomic(this.resultPath(p.containerId, ifName), JSON.stringify(result), 0o644, { durable: false });
      return result;
    } catch (e) {
      // a failed first ADD leaves nothing behind; a failed repeat ADD keeps the existing address
      if (!alloc.existing) {
        await detachVeth(this.cfg.nodeNetns, hostVeth, p.netns, ifName).catch(() => undefined);
        await this.ipam.release(p.containerId, ifName).catch(() => undefined);
      }
      throw e;
    }
  }

  async del(p: PodAttachment): Promise<void> {
    const ifName = this.checkAttachment(p);
    guardNodeNetns(this.cfg.nodeNetns, `detach pod ${p.containerId}`);
    // the pod's namespace may already be gone (its sandbox exited): clean the node side anyway
    const podNetns = p.netns && existsSync(p.netns) ? p.netns : undefined;
    await detachVeth(this.cfg.nodeNetns, hostVethName(p.containerId, ifName), podNetns, ifName);
    await this.hostPorts.remove(p.containerId);
    await this.ipam.release(p.containerId, ifName);
    await rm(this.resultPath(p.containerId, ifName), { force: true });
  }

  async check(p: PodAttachment): Promise<void> {
    const ifName = this.checkAttachment(p);
    assertNetnsExists(p.netns, "pod");
    let prev: PodAttachResult;
    try {
      prev = JSON.parse(await readFile(this.resultPath(p.containerId, ifName), "utf8")) as PodAttachResult;
    } catch {
      throw new CheckFailedError(p.containerId, "no ADD recorded for this container and interface");
    }
    const ip = this.hostLocal ? await this.ipam.lookup(p.containerId, ifName) : prev.ip;
    if (ip !== prev.ip) throw new CheckFailedError(p.containerId, `IPAM holds ${ip ?? "no address"}, ADD gave ${prev.ip}`);
    const seen = await inspectPod(p.netns, ifName).catch(() => {
      throw new CheckFailedError(p.containerId, `interface ${ifName} missing in ${p.netns}`);
    });
    const want = `${prev.ip}/${prev.prefixLength}`;
    if (!seen.addrs.includes(want)) throw new CheckFailedError(p.containerId, `${ifName} has ${seen.addrs.join(", ") || "no address"}, expected ${want}`);
    if (seen.defaultVia !== prev.gateway) throw new CheckFailedError(p.containerId, `default route via ${seen.defaultVia ?? "nothing"}, expected ${prev.gateway}`);
    const hostVeth = hostVethName(p.containerId, ifName);
    const master = await masterOf(this.cfg.nodeNetns, hostVeth).catch(() => undefined);
    if (master !== this.bridge) throw new CheckFailedError(p.containerId, `host veth ${hostVeth} is not on bridge ${this.bridge}`);
  }

  /**
   * Garbage collection (CNI GC): detaches every pod this node's IPAM knows whose container is not
   * in keep — for a kubelet restarting after a crash, with its live sandboxes. Returns the freed
   * container ids. Only with keel's own IPAM (a delegated IPAM keeps its own books).
   */
  async gc(keep: Iterable<string>): Promise<string[]> {
    if (!this.hostLocal) return [];
    guardNodeNetns(this.cfg.nodeNetns, "garbage-collect pod networks");
    const live = new Set(keep);
    const freed: string[] = [];
    for (const [, owner] of await this.hostLocal.list()) {
      if (live.has(owner.containerId)) continue;
      await this.del({ containerId: owner.containerId, netns: "", ifName: owner.ifName });
      freed.push(owner.containerId);
    }
    return freed;
  }

  /** Addresses currently allocated by keel's own IPAM, address → container. */
  async allocations(): Promise<Map<string, string>> {
    const m = new Map<string, string>();
    if (this.hostLocal) for (const [ip, o] of await this.hostLocal.list()) m.set(ip, o.containerId);
    return m;
  }

  private get resultsDir(): string {
    return join(this.stateDir, "results", this.bridge);
  }

  private resultPath(containerId: string, ifName: string): string {
    return join(this.resultsDir, `${containerId}-${ifName}.json`);
  }

  private checkAttachment(p: PodAttachment): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(p.containerId ?? "")) throw new InvalidNetworkConfigError("containerId", `${JSON.stringify(p.containerId)} is not a valid container id`);
    const ifName = p.ifName ?? "eth0";
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifName)) throw new InvalidNetworkConfigError("ifName", `${JSON.stringify(ifName)} is not a valid interface name`);
    return ifName;
  }
}
