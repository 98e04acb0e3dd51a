// The simulated nodes' stats API: one loopback HTTP server answering, for every simulated node,
// GET /nodes/NAME/stats/summary in the kubelet's summary shape, so the API server's
// metrics.k8s.io (and `kubectl top`, and the HPA) read simulated nodes exactly as real ones.
// Each Node carries its base URL in the keel.dev/kubelet-endpoint annotation.
//
// Usage is made up, deterministically: each container uses the pod's `sim.keel.dev/cpu-usage`
// and `sim.keel.dev/memory-usage` annotations if set, else half its requests (1m cpu and 8Mi
// memory without requests); a node adds a fixed system share to what its pods use.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Pod } from "../../api/core.js";
import { Quantity, quantityOrUndefined } from "../../api/quantity.js";

export const CPU_USAGE_ANNOTATION = "sim.keel.dev/cpu-usage";
export const MEMORY_USAGE_ANNOTATION = "sim.keel.dev/memory-usage";
export { KUBELET_ENDPOINT_ANNOTATION } from "../../api/kubelet-endpoint.js";

const SYSTEM_CPU_NANOCORES = 50_000_000; // 50m
const SYSTEM_MEMORY_BYTES = 200 * 1024 * 1024;

export interface SimStatsSource {
  /** The pods bound to a node (the simulated kubelet's view). */
  podsOn(node: string): Pod[];
  /** Whether the node exists and is alive (a dead node's kubelet does not answer). */
  state(node: string): "alive" | "dead" | "unknown";
}

export interface SimStatsServer {
  /** The base URL of one node's stats API (for the Node annotation). */
  urlFor(node: string): string;
  close(): Promise<void>;
}

const quantity = quantityOrUndefined;

/** One container's made-up usage: nano-cores and bytes. */
export function simContainerUsage(pod: Pod, c: { resources?: { requests?: Record<string, string> } }): { nanoCores: number; bytes: number } {
  const a = pod.metadata.annotations ?? {};
  const cpu = quantity(a[CPU_USAGE_ANNOTATION]) ?? (quantity(c.resources?.requests?.cpu) ? Quantity.fromMilli(quantity(c.resources!.requests!.cpu)!.milliValue() / 2n) : Quantity.parse("1m"));
  const mem = quantity(a[MEMORY_USAGE_ANNOTATION]) ?? (quantity(c.resources?.requests?.memory) ? Quantity.parse(String(quantity(c.resources!.requests!.memory)!.value() / 2n)) : Quantity.parse("8Mi"));
  return { nanoCores: Number(cpu.nanos), bytes: Number(mem.value()) };
}

export function simSummary(node: string, pods: Pod[], now = Date.now()): unknown {
  const time = new Date(now).toISOString();
  let nodeCpu = SYSTEM_CPU_NANOCORES, nodeMem = SYSTEM_MEMORY_BYTES;
  const podStats = pods.filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp).map((p) => {
    const started = Date.parse(p.status?.startTime ?? "") || now;
    const secs = Math.max(0, (now - started) / 1000);
    const containers = (p.spec?.containers ?? []).map((c) => {
      const u = simContainerUsage(p, c);
      nodeCpu += u.nanoCores; nodeMem += u.bytes;
      return {
        name: c.name, startTime: p.status?.startTime,
        cpu: { time, usageNanoCores: u.nanoCores, usageCoreNanoSeconds: Math.round(u.nanoCores * secs) },
        memory: { time, workingSetBytes: u.bytes, usageBytes: u.bytes },
      };
    });
    return { podRef: { name: p.metadata.name, namespace: p.metadata.namespace, uid: p.metadata.uid }, startTime: p.status?.startTime, containers };
  });
  return { node: { nodeName: node, cpu: { time, usageNanoCores: nodeCpu }, memory: { time, workingSetBytes: nodeMem, usageBytes: nodeMem } }, pods: podStats };
}

export async function startSimStatsServer(src: SimStatsSource): Promise<SimStatsServer> {
  const server: Server = createServer((req, res) => {
    const send = (code: number, body: unknown) => { const t = JSON.stringify(body); res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(t) }); res.end(t); };
    const m = /^\/nodes\/([^/]+)\/stats\/summary$/.exec(new URL(req.url ?? "/", "http://x").pathname);
    if (!m || req.method !== "GET") return send(404, { message: "not found" });
    const node = decodeURIComponent(m[1]!);
    const st = src.state(node);
    if (st === "unknown") return send(404, { message: `no simulated node ${node}` });
    if (st === "dead") return send(503, { message: `simulated node ${node} is down` });
    send(200, simSummary(node, src.podsOn(node)));
  });
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(0, "127.0.0.1", () => { server.off("error", reject); resolve(); }); });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    urlFor: (node) => `${base}/nodes/${encodeURIComponent(node)}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
