// host-local style IPAM, keel's own implementation of the reference plugin's model: one file per
// allocated address under <dataDir>/<network>/, named by the address and holding
// "<containerId>\r\n<ifName>", plus last_reserved_ip for round-robin allocation.
//
// Safety: every operation holds a lock on the network's directory (lib/file-lock.ts: an atomic
// mkdir, so it excludes other processes too, e.g. concurrent plugin executables, while waiters in
// this process queue rather than poll), and each
// address file is created with link(2) from a fully written temporary file, so it appears
// atomically with its content and never twice.
import { mkdir } from "node:fs/promises";
import { linkSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileLock, LockTimeoutError, SHORT_LOCK_RETRIES } from "../../lib/file-lock.js";
import { writeFileAtomicSync, tempName } from "../../lib/atomic-file.js";
import { cidrContains, formatIpv4, gatewayOf, parseCidr, parseIpv4, type Ipv4Cidr } from "../cidr.js";
import { CniError, CNI_CODES, IpamExhaustedError, InvalidNetworkConfigError } from "../errors.js";

export interface IpamConfig {
  /** Directory holding all networks' allocations (the reference plugin's dataDir). */
  dataDir: string;
  /** Network name: one subdirectory per network. */
  network: string;
  subnet: string;
  /** First and last allocatable addresses; default: the subnet without network, gateway, broadcast. */
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface IpamAllocation {
  ip: string;
  prefixLength: number;
  gateway: string;
  /** Whether this ADD found an existing allocation for the same container and interface. */
  existing: boolean;
}

/** What the bridge needs from an IPAM: keel's host-local, or a delegated IPAM plugin executable. */
export interface IpamBackend {
  allocate(containerId: string, ifName: string): Promise<IpamAllocation>;
  release(containerId: string, ifName: string): Promise<string[]>;
  lookup(containerId: string, ifName: string): Promise<string | undefined>;
}

export class HostLocalIpam implements IpamBackend {
  private readonly subnet: Ipv4Cidr;
  private readonly dir: string;
  private readonly first: number;
  private readonly last: number;
  private readonly gateway: number;

  constructor(readonly cfg: IpamConfig) {
    if (!/^[A-Za-z0-9_.-]+$/.test(cfg.network)) throw new InvalidNetworkConfigError("name", `${JSON.stringify(cfg.network)} is not a safe network name`);
    this.subnet = parseCidr(cfg.subnet, "ipam.subnet");
    if (this.subnet.prefixLength > 30) throw new InvalidNetworkConfigError("ipam.subnet", `${cfg.subnet} is too small for pods`);
    this.gateway = cfg.gateway ? parseIpv4(cfg.gateway, "ipam.gateway") : gatewayOf(this.subnet);
    this.first = cfg.rangeStart ? parseIpv4(cfg.rangeStart, "ipam.rangeStart") : this.subnet.network + 1;
    this.last = cfg.rangeEnd ? parseIpv4(cfg.rangeEnd, "ipam.rangeEnd") : this.subnet.network + this.subnet.size - 2;
    for (const [field, v] of [["ipam.rangeStart", this.first], ["ipam.rangeEnd", this.last], ["ipam.gateway", this.gateway]] as const) {
      if (!cidrContains(this.subnet, v)) throw new InvalidNetworkConfigError(field, `${formatIpv4(v)} is outside ${cfg.subnet}`);
    }
    this.dir = join(cfg.dataDir, cfg.network);
  }

  get gatewayIp(): string {
    return formatIpv4(this.gateway);
  }

  get prefixLength(): number {
    return this.subnet.prefixLength;
  }

  /** ADD: the container's existing address for ifName, or a new one. */
  async allocate(containerId: string, ifName: string): Promise<IpamAllocation> {
    return this.locked(() => {
      const held = this.findByOwner(containerId, ifName);
      if (held.length > 0) return this.allocation(held[0]!, true);
      const lastFile = join(this.dir, "last_reserved_ip.0");
      let last = this.last;
      try {
        last = parseIpv4(readFileSync(lastFile, "utf8").trim());
      } catch {
        // none yet: start at the beginning of the range
      }
      const count = this.last - this.first + 1;
      for (let i = 1; i <= count; i++) {
        let cand = last + i;
        cand = this.first + ((((cand - this.first) % count) + count) % count);
        if (cand === this.gateway) continue;
        const ip = formatIpv4(cand);
        if (this.claim(ip, containerId, ifName)) {
          // Only where the next search starts (as the reference plugin keeps it): not fsync'd.
          writeFileAtomicSync(lastFile, ip, 0o644, { durable: false });
          return this.allocation(ip, false);
        }
      }
      throw new IpamExhaustedError(`${this.cfg.subnet} (${formatIpv4(this.first)}-${formatIpv4(this.last)})`, containerId);
    });
  }

  /** DEL: frees every address the container holds on ifName. Idempotent. */
  async release(containerId: string, ifName: string): Promise<string[]> {
    return this.locked(() => {
      const held = this.findByOwner(containerId, ifName);
      for (const ip of held) rmSync(join(this.dir, ip), { force: true });
      return held;
    });
  }

  /** The container's current address on ifName, if any (CHECK). */
  async lookup(containerId: string, ifName: string): Promise<string | undefined> {
    return this.findByOwner(containerId, ifName)[0];
  }

  /** Every allocation: address → owner. */
  async list(): Promise<Map<string, { containerId: string; ifName: string }>> {
    return this.readAll();
  }

  /** GC: frees allocations of containers not in keep. */
  async gc(keep: Set<string>): Promise<string[]> {
    return this.locked(() => {
      const freed: string[] = [];
      for (const [ip, owner] of this.readAll()) {
        if (!keep.has(owner.containerId)) {
          rmSync(join(this.dir, ip), { force: true });
          freed.push(ip);
        }
      }
      return freed;
    });
  }

  private allocation(ip: string, existing: boolean): IpamAllocation {
    return { ip, prefixLength: this.subnet.prefixLength, gateway: formatIpv4(this.gateway), existing };
  }

  /**
   * The books, read synchronously: a few small files per pod on the node. Under the lock, a
   * chain of asynchronous reads held it for as long as the event loop and libuv's pool were
   * busy, and in a burst of pods every other allocation waited behind that.
   */
  private readAll(): Map<string, { containerId: string; ifName: string }> {
    const out = new Map<string, { containerId: string; ifName: string }>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const name of names) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue;
      try {
        const [containerId = "", ifName = ""] = readFileSync(join(this.dir, name), "utf8").split("\n");
        out.set(name, { containerId: containerId.trim(), ifName: ifName.trim() });
      } catch {
        // freed meanwhile
      }
    }
    return out;
  }

  private findByOwner(containerId: string, ifName: string): string[] {
    const held: string[] = [];
    for (const [ip, owner] of this.readAll()) if (owner.containerId === containerId && owner.ifName === ifName) held.push(ip);
    return held;
  }

  /** Creates the address file atomically with its content; false if the address is taken. */
  private claim(ip: string, containerId: string, ifName: string): boolean {
    const path = join(this.dir, ip);
    const tmp = tempName(path);
    // the reference host-local's format, so either can read the other's books
    writeFileSync(tmp, `${containerId}\r\n${ifName}`, { flag: "wx" });
    try {
      linkSync(tmp, path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new CniError(`IPAM: cannot record ${ip} in ${this.dir}: ${(e as Error).message}`, CNI_CODES.ioFailure, undefined, { cause: e });
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  private async locked<T>(fn: () => T): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    try {
      return await FileLock.for(this.dir, { retries: SHORT_LOCK_RETRIES }).exclusive(async () => fn());
    } catch (e) {
      if (!(e instanceof LockTimeoutError)) throw e;
      throw new CniError(`IPAM: cannot lock ${this.dir}: ${(e.cause as Error | undefined)?.message ?? e.message}`, CNI_CODES.tryAgainLater, undefined, { cause: e });
    }
  }
}
