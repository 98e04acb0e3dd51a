// Simulated nodes: Node objects with chosen capacity, labels and taints, thousands in one
// process. Nothing runs on them; the simulator (and the fake kubelet of the cluster tests)
// just records which pods are bound where.
import { readFileSync } from "node:fs";
import type { NodeLike, TaintLike } from "../scheduler/types.js";
import { ZONE_LABEL } from "../scheduler/node-info.js";

export class NodeSpecError extends Error {
  readonly code = "ENODESPEC";
  constructor(readonly spec: string, reason: string) {
    super(`invalid --nodes spec ${JSON.stringify(spec)}: ${reason}`);
    this.name = "NodeSpecError";
  }
}

export interface MachineShape {
  /** Cores. */
  cpu: number;
  /** Bytes. */
  memory: number;
  pods?: number;
  labels?: Record<string, string>;
  taints?: TaintLike[];
}

export interface SimNodeOptions {
  /** Zones the nodes are spread over round-robin (labelled topology.kubernetes.io/zone). */
  zones?: number;
  prefix?: string;
}

const GI = 2 ** 30;

export function simNode(name: string, shape: MachineShape, zone?: string): NodeLike {
  const labels: Record<string, string> = { "kubernetes.io/hostname": name, "keel.dev/simulated": "true", ...shape.labels };
  if (zone !== undefined) labels[ZONE_LABEL] = zone;
  const resources = { cpu: String(shape.cpu), memory: String(shape.memory), pods: String(shape.pods ?? 110), "ephemeral-storage": String(100 * GI) };
  return {
    metadata: { name, labels, uid: `sim-${name}` },
    spec: shape.taints?.length ? { taints: shape.taints } : {},
    status: { capacity: resources, allocatable: resources },
  };
}

/** Nodes of the given shapes, `count` each, spread over zones. */
export function simNodes(groups: ReadonlyArray<{ count: number; shape: MachineShape }>, o: SimNodeOptions = {}): NodeLike[] {
  const zones = o.zones ?? 3, prefix = o.prefix ?? "keel-sim";
  const out: NodeLike[] = [];
  for (const g of groups) for (let i = 0; i < g.count; i++) {
    const k = out.length;
    out.push(simNode(`${prefix}-${String(k).padStart(5, "0")}`, g.shape, zones > 0 ? `zone-${String.fromCharCode(97 + (k % zones))}` : undefined));
  }
  return out;
}

/**
 * `--nodes SPEC`: comma-separated groups `COUNTxCPUcMEMORYg` (cores, GiB), optionally with
 * `:label=value` parts and `:taint=key=value:Effect`, e.g. `100x32c128g,20x64c256g:gpu=true`;
 * or `@FILE` with a JSON array of Node objects.
 */
export function parseNodeSpec(spec: string, o: SimNodeOptions = {}): NodeLike[] {
  if (spec.startsWith("@")) {
    let raw: unknown;
    try { raw = JSON.parse(readFileSync(spec.slice(1), "utf8")); } catch (e) { throw new NodeSpecError(spec, (e as Error).message); }
    if (!Array.isArray(raw)) throw new NodeSpecError(spec, "the file must hold a JSON array of Node objects");
    return raw as NodeLike[];
  }
  const groups = spec.split(",").map((g) => {
    const [head, ...extras] = g.trim().split(":");
    const m = /^(\d+)x(\d+(?:\.\d+)?)c(\d+(?:\.\d+)?)g$/.exec(head ?? "");
    if (!m) throw new NodeSpecError(spec, `group ${JSON.stringify(g)} is not COUNTxCPUcMEMORYg (for example 100x32c128g)`);
    const shape: MachineShape = { cpu: Number(m[2]), memory: Math.round(Number(m[3]) * GI), labels: {}, taints: [] };
    let i = 0;
    while (i < extras.length) {
      const e = extras[i]!;
      if (e.startsWith("taint=")) {
        const [key, value] = e.slice(6).split("=");
        const effect = extras[i + 1];
        if (!key || !effect || !["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(effect)) throw new NodeSpecError(spec, `taint needs taint=KEY[=VALUE]:NoSchedule|PreferNoSchedule|NoExecute, got ${JSON.stringify(e)}`);
        shape.taints!.push({ key, value, effect });
        i += 2;
        continue;
      }
      const eq = e.indexOf("=");
      if (eq <= 0) throw new NodeSpecError(spec, `expected label=value, got ${JSON.stringify(e)}`);
      shape.labels![e.slice(0, eq)] = e.slice(eq + 1);
      i++;
    }
    return { count: Number(m[1]), shape };
  });
  return simNodes(groups, o);
}

/** Total allocatable cpu (millicores) and memory (bytes) of simulated nodes. */
export function capacityOf(n: NodeLike): { cpu: number; memory: number } {
  const a = n.status?.allocatable ?? {};
  return { cpu: Math.round(Number(a.cpu ?? 0) * 1000), memory: Number(a.memory ?? 0) };
}
