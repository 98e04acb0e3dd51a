// The part of the kubelet's stats API (/stats/summary, kubelet/pkg/apis/stats/v1alpha1) that the
// resource metrics need, and where a node's summary is read from.
import type { Node } from "../../../api/core.js";
import { kubeletBaseUrl } from "../../../api/kubelet-endpoint.js";
export { NoKubeletEndpointError, KUBELET_ENDPOINT_ANNOTATION } from "../../../api/kubelet-endpoint.js";

export interface CpuStats { time?: string; usageNanoCores?: number; usageCoreNanoSeconds?: number }
export interface MemoryStats { time?: string; workingSetBytes?: number; usageBytes?: number }
export interface ContainerStats { name: string; startTime?: string; cpu?: CpuStats; memory?: MemoryStats }
export interface PodStats { podRef: { name: string; namespace: string; uid?: string }; startTime?: string; containers?: ContainerStats[]; cpu?: CpuStats; memory?: MemoryStats }
export interface Summary { node: { nodeName: string; startTime?: string; cpu?: CpuStats; memory?: MemoryStats }; pods?: PodStats[] }

export class SummaryFetchError extends Error {
  constructor(readonly node: string, readonly url: string, reason: string) {
    super(`reading the stats summary of node ${node} from ${url}: ${reason}`);
    this.name = "SummaryFetchError";
  }
}

/** Where a node's summary is: its kubelet (api/kubelet-endpoint.ts) at /stats/summary. */
export function summaryUrl(node: Node): string {
  return `${kubeletBaseUrl(node).href.replace(/\/+$/, "")}/stats/summary?only_cpu_and_memory=true`;
}

/** Reads one node's summary (the source metrics-server also reads). */
export async function fetchSummary(node: Node, timeoutMs = 5000): Promise<Summary> {
  const url = summaryUrl(node);
  let res: Response;
  try { res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }); } catch (err) {
    throw new SummaryFetchError(node.metadata.name ?? "", url, (err as Error).message);
  }
  if (!res.ok) { await res.body?.cancel(); throw new SummaryFetchError(node.metadata.name ?? "", url, `HTTP ${res.status}`); }
  return (await res.json()) as Summary;
}
