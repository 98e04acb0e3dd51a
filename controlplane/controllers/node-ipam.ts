// Node IPAM: gives each node a podCIDR carved from the cluster CIDR (first free block, lowest
// first), so the CNI plugin on the node knows its pod address range.
import type { Node } from "../../api/core.js";
import { R } from "../kit/index.js";
import { Controller, type ControllerContext } from "./context.js";

export class CidrError extends Error {
  constructor(readonly cidr: string, message: string) { super(`cluster CIDR ${cidr}: ${message}`); this.name = "CidrError"; }
}

function parseV4(cidr: string): { base: number; bits: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new CidrError(cidr, "expected an IPv4 CIDR like 10.244.0.0/16");
  const oct = m.slice(1, 5).map(Number);
  if (oct.some((o) => o > 255) || Number(m[5]) > 32) throw new CidrError(cidr, "out of range");
  return { base: ((oct[0]! << 24) | (oct[1]! << 16) | (oct[2]! << 8) | oct[3]!) >>> 0, bits: Number(m[5]) };
}

const fmt = (n: number, bits: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${bits}`;

/** The index-th block of size /mask inside cidr. */
export function blockAt(cidr: string, mask: number, index: number): string | undefined {
  const { base, bits } = parseV4(cidr);
  if (mask < bits) throw new CidrError(cidr, `node mask /${mask} is wider than the cluster CIDR`);
  if (index >= 2 ** (mask - bits)) return undefined;
  return fmt((base + index * 2 ** (32 - mask)) >>> 0, mask);
}

export class NodeIpamController extends Controller {
  private readonly nodes = this.ctx.informers.get<Node>(R.nodes);
  private readonly cidr = this.ctx.clusterCIDR ?? "10.244.0.0/16";
  private readonly mask = this.ctx.nodeCIDRMaskSize ?? 24;
  /** Blocks handed out by this process, in case the informer has not shown them yet. */
  private readonly allocated = new Map<string, string>();

  constructor(ctx: ControllerContext) { super("node-ipam", ctx); parseV4(this.cidr); }

  register(): void {
    this.nodes.addEventHandler({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o), delete: (o) => this.allocated.delete(o.metadata.name!) });
  }

  async reconcile(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node || node.spec?.podCIDR) return;
    const used = new Set<string>(this.nodes.list().map((n) => n.spec?.podCIDR).filter((c): c is string => !!c));
    for (const [n, c] of this.allocated) if (n !== name) used.add(c);
    let block: string | undefined = this.allocated.get(name);
    for (let i = 0; !block; i++) {
      const b = blockAt(this.cidr, this.mask, i);
      if (!b) {
        this.ctx.recorder.event({ ...node, apiVersion: "v1", kind: "Node" }, "Warning", "CIDRNotAvailable", `no free /${this.mask} left in ${this.cidr}`);
        return;
      }
      if (!used.has(b)) block = b;
    }
    this.allocated.set(name, block);
    await this.ctx.client.patch(R.nodes, undefined, name, { spec: { podCIDR: block, podCIDRs: [block] } });
  }
}
