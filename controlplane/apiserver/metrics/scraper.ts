// Gathers usage the way metrics-server does: each node's kubelet summary, kept for a short
// resolution so repeated `kubectl top` calls (and the HPA) do not hammer the kubelets, with the
// previous sample kept to turn cumulative CPU counters into a rate when a kubelet reports no
// instantaneous usageNanoCores. No timers: nodes are read when someone asks.
import type { Node } from "../../../api/core.js";
import { fetchSummary, type ContainerStats, type CpuStats, type PodStats, type Summary } from "./summary.js";

export interface Sample { at: number; summary: Summary }
export interface Scraped extends Sample { prev?: Sample }
export type SummaryFetcher = (node: Node) => Promise<Summary>;

export interface Usage { cpuNanoCores: number; memoryBytes: number }

const DEFAULT_RESOLUTION_MS = 5_000;
/** How long to wait for a second sample when a kubelet reports only cumulative CPU. */
const SECOND_SAMPLE_MS = 1_000;
const CONCURRENCY = 32;

const statTime = (c: CpuStats | undefined, fallback: number) => (c?.time ? Date.parse(c.time) || fallback : fallback);

/** Cores in use, in nano-cores: the kubelet's instantaneous figure, else the rate between two samples. */
export function cpuNanoCores(cur: CpuStats | undefined, curAt: number, prev: CpuStats | undefined, prevAt: number | undefined): number | undefined {
  if (cur?.usageNanoCores !== undefined && cur.usageNanoCores !== null) return cur.usageNanoCores;
  if (cur?.usageCoreNanoSeconds === undefined || prev?.usageCoreNanoSeconds === undefined || prevAt === undefined) return undefined;
  const dtMs = statTime(cur, curAt) - statTime(prev, prevAt);
  const used = cur.usageCoreNanoSeconds - prev.usageCoreNanoSeconds;
  if (dtMs <= 0 || used < 0) return undefined; // restarted container or clock trouble: skip this round
  return Math.round(used / (dtMs / 1000));
}

const samePod = (a: PodStats, b: PodStats) =>
  a.podRef.namespace === b.podRef.namespace && a.podRef.name === b.podRef.name && (!a.podRef.uid || !b.podRef.uid || a.podRef.uid === b.podRef.uid);

/** One container's usage, or undefined when either figure is missing (metrics-server skips those). */
export function containerUsage(s: Scraped, pod: PodStats, c: ContainerStats): Usage | undefined {
  const prevPod = s.prev?.summary.pods?.find((p) => samePod(p, pod));
  const prevC = prevPod?.containers?.find((x) => x.name === c.name);
  const cpu = cpuNanoCores(c.cpu, s.at, prevC?.cpu, s.prev?.at);
  const mem = c.memory?.workingSetBytes ?? c.memory?.usageBytes;
  return cpu === undefined || mem === undefined ? undefined : { cpuNanoCores: cpu, memoryBytes: mem };
}

/** The node's own figures, else the sum of its pods' containers. */
export function nodeUsage(s: Scraped): Usage | undefined {
  const n = s.summary.node;
  const cpu = cpuNanoCores(n.cpu, s.at, s.prev?.summary.node.cpu, s.prev?.at);
  const mem = n.memory?.workingSetBytes ?? n.memory?.usageBytes;
  if (cpu !== undefined && mem !== undefined) return { cpuNanoCores: cpu, memoryBytes: mem };
  let total: Usage | undefined;
  for (const p of s.summary.pods ?? []) for (const c of p.containers ?? []) {
    const u = containerUsage(s, p, c);
    if (u) total = { cpuNanoCores: (total?.cpuNanoCores ?? 0) + u.cpuNanoCores, memoryBytes: (total?.memoryBytes ?? 0) + u.memoryBytes };
  }
  return total;
}

export class MetricsScraper {
  private readonly samples = new Map<string, Scraped>();
  private readonly inFlight = new Map<string, Promise<Scraped | undefined>>();

  constructor(
    private readonly fetcher: SummaryFetcher = (n) => fetchSummary(n),
    private readonly resolutionMs = DEFAULT_RESOLUTION_MS,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** Fresh samples of these nodes; nodes whose kubelet cannot be read are left out (and logged). */
  async scrape(nodes: Node[]): Promise<Map<string, Scraped>> {
    const out = new Map<string, Scraped>();
    let i = 0;
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, nodes.length) }, async () => {
      while (i < nodes.length) {
        const node = nodes[i++]!;
        const s = await this.sample(node);
        if (s) out.set(node.metadata.name!, s);
      }
    }));
    // Forget nodes that are gone, so the cache stays the size of the cluster.
    if (nodes.length && this.samples.size > nodes.length * 2) for (const k of [...this.samples.keys()]) if (!nodes.some((n) => n.metadata.name === k)) this.samples.delete(k);
    return out;
  }

  private sample(node: Node): Promise<Scraped | undefined> {
    const name = node.metadata.name!;
    const cur = this.samples.get(name);
    if (cur && Date.now() - cur.at < this.resolutionMs) return Promise.resolve(cur);
    let p = this.inFlight.get(name);
    if (!p) {
      p = this.read(node, cur).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, p);
    }
    return p;
  }

  private async read(node: Node, prev: Scraped | undefined): Promise<Scraped | undefined> {
    const name = node.metadata.name!;
    try {
      let s: Scraped = { at: Date.now(), summary: await this.fetcher(node), prev: prev ? { at: prev.at, summary: prev.summary } : undefined };
      if (!s.prev && s.summary.node.cpu?.usageNanoCores === undefined && (s.summary.pods ?? []).some((p) => p.containers?.some((c) => c.cpu?.usageNanoCores === undefined))) {
        // Only cumulative counters and nothing to compare with yet: take a second look.
        await new Promise((r) => setTimeout(r, SECOND_SAMPLE_MS));
        s = { at: Date.now(), summary: await this.fetcher(node), prev: { at: s.at, summary: s.summary } };
      }
      this.samples.set(name, s);
      return s;
    } catch (err) {
      this.log(`metrics: ${(err as Error).message}`);
      return undefined;
    }
  }
}
