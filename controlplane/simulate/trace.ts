// Workload traces: one JSON object per line, one task (pod) each:
//   {"arrival": 12.5, "name": "job7-3", "priority": 1000, "cpu": 0.5, "memory": 2147483648,
//    "owner": "job7", "duration": 600, "constraints": {"nodeSelector": {...}, ...}}
// arrival and duration in seconds; cpu in cores or a quantity string ("500m"); memory in bytes
// or a quantity string ("2Gi"); constraints holds core/v1 pod spec fields that constrain
// placement (nodeSelector, affinity, tolerations, topologySpreadConstraints) plus hostPorts
// and labels.
import { readFileSync } from "node:fs";
import type { AffinityLike, PodLike, TolerationLike, TopologySpreadConstraintLike } from "../scheduler/types.js";

export interface TraceConstraints {
  nodeSelector?: Record<string, string>;
  affinity?: AffinityLike;
  tolerations?: TolerationLike[];
  topologySpreadConstraints?: TopologySpreadConstraintLike[];
  hostPorts?: number[];
  labels?: Record<string, string>;
  image?: string;
}

export interface TraceRecord {
  arrival: number;
  name: string;
  priority: number;
  cpu: number | string;
  memory: number | string;
  owner?: string;
  duration?: number;
  constraints?: TraceConstraints;
}

export class TraceError extends Error {
  readonly code = "ETRACE";
  constructor(readonly file: string, readonly line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.name = "TraceError";
  }
}

export function parseTrace(text: string, file = "trace"): TraceRecord[] {
  const out: TraceRecord[] = [];
  const names = new Set<string>();
  text.split("\n").forEach((line, i) => {
    const t = line.trim();
    if (!t || t.startsWith("#")) return;
    let r: Record<string, unknown>;
    try { r = JSON.parse(t) as Record<string, unknown>; } catch (e) { throw new TraceError(file, i + 1, `not JSON: ${(e as Error).message}`); }
    const fail = (why: string): never => { throw new TraceError(file, i + 1, why); };
    if (typeof r !== "object" || r === null || Array.isArray(r)) fail("each line must be a JSON object");
    const arrival = r.arrival ?? 0;
    if (typeof arrival !== "number" || !(arrival >= 0)) fail("arrival must be a number of seconds ≥ 0");
    const name = typeof r.name === "string" && r.name ? r.name : `task-${out.length}`;
    if (names.has(name)) fail(`duplicate task name ${JSON.stringify(name)}`);
    names.add(name);
    const priority = r.priority ?? 0;
    if (!Number.isInteger(priority)) fail("priority must be an integer");
    for (const k of ["cpu", "memory"] as const) {
      if (r[k] === undefined) fail(`${k} is required`);
      if (typeof r[k] !== "number" && typeof r[k] !== "string") fail(`${k} must be a number or a quantity string`);
    }
    if (r.duration !== undefined && (typeof r.duration !== "number" || !(r.duration > 0))) fail("duration must be a positive number of seconds");
    if (r.owner !== undefined && typeof r.owner !== "string") fail("owner must be a string");
    if (r.constraints !== undefined && (typeof r.constraints !== "object" || r.constraints === null)) fail("constraints must be an object");
    out.push({ arrival: arrival as number, name, priority: priority as number, cpu: r.cpu as number | string, memory: r.memory as number | string, owner: r.owner as string | undefined, duration: r.duration as number | undefined, constraints: r.constraints as TraceConstraints | undefined });
  });
  return out;
}

export function readTrace(path: string): TraceRecord[] {
  return parseTrace(readFileSync(path, "utf8"), path);
}

export function formatTrace(records: readonly TraceRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join("\n") + "\n";
}

/** The pod a trace record stands for. */
export function recordToPod(r: TraceRecord, namespace = "default"): PodLike {
  const c = r.constraints ?? {};
  const cpu = typeof r.cpu === "number" ? `${Math.ceil(r.cpu * 1000)}m` : r.cpu;
  const memory = typeof r.memory === "number" ? String(Math.ceil(r.memory)) : r.memory;
  const labels: Record<string, string> = { ...c.labels };
  if (r.owner) labels["keel.dev/owner"] = r.owner;
  return {
    metadata: {
      name: r.name, namespace, uid: `${namespace}/${r.name}`, labels,
      ownerReferences: r.owner ? [{ apiVersion: "batch/v1", kind: "Job", name: r.owner, uid: `owner-${r.owner}`, controller: true }] : undefined,
    },
    spec: {
      priority: r.priority,
      nodeSelector: c.nodeSelector,
      affinity: c.affinity,
      tolerations: c.tolerations,
      topologySpreadConstraints: c.topologySpreadConstraints,
      containers: [{
        name: "task", image: c.image ?? "registry.keel.local/task:1",
        resources: { requests: { cpu, memory } },
        ports: c.hostPorts?.map((p) => ({ containerPort: p, hostPort: p })),
      }],
    },
  };
}
