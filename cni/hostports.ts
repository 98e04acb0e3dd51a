// hostPort mappings (the portmap plugin's job) with nftables in the node's namespace: traffic to
// any local address of the node on a hostPort is DNAT'ed to the pod; the whole table is rebuilt
// from the recorded mappings of all pods in one transaction on every change.
import { mkdir, readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/atomic-file.js";
import type { PortMapping } from "./types.js";
import { deleteTable, replaceTable } from "./nft.js";
import { FileLock, SHORT_LOCK_RETRIES } from "../lib/file-lock.js";
import { InvalidNetworkConfigError } from "./errors.js";

export const HOSTPORT_TABLE = "keel-hostports";

interface Recorded {
  containerId: string;
  podIP: string;
  mappings: PortMapping[];
}

export function validatePortMappings(m: PortMapping[]): void {
  m.forEach((p, i) => {
    for (const f of ["hostPort", "containerPort"] as const) {
      if (!Number.isInteger(p[f]) || p[f] < 1 || p[f] > 65535) throw new InvalidNetworkConfigError(`portMappings[${i}].${f}`, `${p[f]} is not a port (1-65535)`);
    }
    if (p.protocol !== "tcp" && p.protocol !== "udp") throw new InvalidNetworkConfigError(`portMappings[${i}].protocol`, `${JSON.stringify(p.protocol)} is not tcp or udp`);
  });
}

/** Removes a pod's record; false when it had none. */
async function removeRecord(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

export class HostPorts {
  private readonly dir: string;
  constructor(private readonly nodeNetns: string | undefined, stateDir: string, private readonly podCIDR: string, private readonly bridge: string) {
    this.dir = join(stateDir, "hostports", bridge);
  }

  async set(containerId: string, podIP: string, mappings: PortMapping[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${containerId}.json`);
    if (mappings.length === 0) {
      // most pods have no hostPort: with no record before and none now, the table is unchanged
      if (!(await removeRecord(path))) return;
    } else await writeFileAtomic(path, JSON.stringify({ containerId, podIP, mappings } satisfies Recorded));
    await this.sync();
  }

  async remove(containerId: string): Promise<void> {
    if (!(await removeRecord(join(this.dir, `${containerId}.json`)))) return;
    await this.sync();
  }

  /** Rebuilds the table from the recorded mappings (removes it when there are none). */
  async sync(): Promise<void> {
    // read-and-apply under a lock, so two pods' changes cannot overwrite each other's table
    await mkdir(this.dir, { recursive: true });
    await FileLock.for(this.dir, { retries: SHORT_LOCK_RETRIES }).exclusive(() => this.apply());
  }

  private async apply(): Promise<void> {
    const all: Recorded[] = [];
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch {
      // nothing recorded
    }
    for (const n of names.filter((n) => n.endsWith(".json")).sort()) {
      try {
        all.push(JSON.parse(await readFile(join(this.dir, n), "utf8")) as Recorded);
      } catch {
        // removed meanwhile
      }
    }
    if (all.length === 0) {
      await deleteTable(this.nodeNetns, "ip", HOSTPORT_TABLE);
      return;
    }
    const rules: string[] = [];
    for (const r of all) for (const m of r.mappings) rules.push(`    ${m.protocol} dport ${m.hostPort} dnat to ${r.podIP}:${m.containerPort}`);
    const body = [
      "  chain hostports {",
      ...rules,
      "  }",
      "  chain prerouting {",
      "    type nat hook prerouting priority dstnat; policy accept;",
      "    fib daddr type local jump hostports",
      "  }",
      "  chain output {",
      "    type nat hook output priority -100; policy accept;",
      "    fib daddr type local jump hostports",
      "  }",
      "  chain postrouting {",
      "    type nat hook postrouting priority srcnat; policy accept;",
      // a pod reaching its own or a neighbour's hostPort: the reply must come back through the node
      `    ct status dnat ip saddr ${this.podCIDR} oifname "${this.bridge}" masquerade`,
      "  }",
    ].join("\n");
    await replaceTable(this.nodeNetns, "ip", HOSTPORT_TABLE, body);
  }
}
