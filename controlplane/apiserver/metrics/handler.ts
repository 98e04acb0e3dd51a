// metrics.k8s.io/v1beta1: NodeMetrics and PodMetrics, answered from the nodes' kubelet summaries
// (as metrics-server answers them) for `kubectl top` and the HPA. Read-only: get and list, with
// label selectors; nothing is stored.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Node, Pod } from "../../../api/core.js";
import type { KubeObject } from "../../../api/meta.js";
import { parseLabelSelector, matchesLabels } from "../../../api/selectors.js";
import { ApiError, methodNotAllowed, notFound, toApiError } from "../errors.js";
import { sendJson } from "../http-util.js";
import type { ObjectStore } from "../object-store.js";
import { MetricsScraper, containerUsage, nodeUsage, type Scraped, type Usage } from "./scraper.js";

export const METRICS_GROUP = "metrics.k8s.io";
const API_VERSION = "metrics.k8s.io/v1beta1";

export interface MetricsRequest {
  resource: { group: string; plural: string };
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** One scraper per API server (its samples are the only state). */
const scrapers = new WeakMap<ObjectStore, MetricsScraper>();
export function scraperFor(objects: ObjectStore): MetricsScraper {
  let s = scrapers.get(objects);
  if (!s) scrapers.set(objects, (s = new MetricsScraper()));
  return s;
}
/** Tests (and embedders) may read summaries their own way. */
export function setScraper(objects: ObjectStore, scraper: MetricsScraper): void {
  scrapers.set(objects, scraper);
}

/** Quantities as metrics-server prints them: cpu in nano-cores, memory in Ki. */
const usageList = (u: Usage) => ({ cpu: `${Math.max(0, Math.round(u.cpuNanoCores))}n`, memory: `${Math.max(0, Math.floor(u.memoryBytes / 1024))}Ki` });
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const windowOf = (s: Scraped) => `${s.prev ? Math.max(1, Math.round((s.at - s.prev.at) / 1000)) : 10}s`;

function nodeMetrics(node: Node, s: Scraped): KubeObject | undefined {
  const u = nodeUsage(s);
  if (!u) return undefined;
  return {
    kind: "NodeMetrics", apiVersion: API_VERSION,
    metadata: { name: node.metadata.name, labels: node.metadata.labels, creationTimestamp: rfc3339(Date.now()) },
    timestamp: rfc3339(s.at), window: windowOf(s), usage: usageList(u),
  } as KubeObject;
}

function podMetrics(pod: Pod, s: Scraped): KubeObject | undefined {
  const stats = s.summary.pods?.find((p) => p.podRef.namespace === pod.metadata.namespace && p.podRef.name === pod.metadata.name && (!p.podRef.uid || p.podRef.uid === pod.metadata.uid));
  if (!stats) return undefined;
  const containers = (stats.containers ?? []).map((c) => ({ c, u: containerUsage(s, stats, c) })).filter((x) => x.u).map(({ c, u }) => ({ name: c.name, usage: usageList(u!) }));
  if (!containers.length) return undefined;
  return {
    kind: "PodMetrics", apiVersion: API_VERSION,
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, labels: pod.metadata.labels, creationTimestamp: rfc3339(Date.now()) },
    timestamp: rfc3339(s.at), window: windowOf(s), containers,
  } as KubeObject;
}

export async function handleMetrics(objects: ObjectStore, rr: MetricsRequest, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const r = { group: METRICS_GROUP, plural: rr.resource.plural === "nodes" ? "nodemetrics" : "podmetrics" };
  try {
    req.resume();
    if ((req.method ?? "GET") !== "GET" || rr.subresource) throw methodNotAllowed();
    if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") throw methodNotAllowed("watch is not supported on metrics.k8s.io");
    const ls = url.searchParams.get("labelSelector");
    const selector = ls ? parseLabelSelector(ls) : undefined;
    const scraper = scraperFor(objects);
    const nodeR = objects.registry.get("", "v1", "nodes")!;
    const podR = objects.registry.get("", "v1", "pods")!;
    const kind = rr.resource.plural === "nodes" ? "NodeMetrics" : "PodMetrics";
    const listOf = (items: KubeObject[]) => sendJson(res, 200, { kind: `${kind}List`, apiVersion: API_VERSION, metadata: {}, items });

    if (rr.resource.plural === "nodes") {
      const nodes = rr.name ? [await objects.get(nodeR, undefined, rr.name).catch(() => { throw notFound(r, rr.name!); }) as Node]
        : ((await objects.list(nodeR, undefined, { labelSelector: selector })).items as Node[]);
      const samples = await scraper.scrape(nodes);
      const items = nodes.map((n) => samples.get(n.metadata.name!) && nodeMetrics(n, samples.get(n.metadata.name!)!)).filter((x): x is KubeObject => !!x);
      if (rr.name) {
        if (!items.length) throw notFound(r, rr.name);
        return sendJson(res, 200, items[0]);
      }
      return listOf(items);
    }

    // Pods: only the nodes that run the asked-for pods are read.
    let pods = rr.name ? [await objects.get(podR, rr.namespace, rr.name).catch(() => { throw notFound(r, `${rr.namespace}/${rr.name}`); }) as Pod]
      : ((await objects.list(podR, rr.namespace, { labelSelector: selector })).items as Pod[]);
    // The list is filtered by the selector already; a pod got by name is checked against it here.
    pods = pods.filter((p) => p.spec?.nodeName && p.status?.phase === "Running" && (!selector || !rr.name || matchesLabels(selector, p.metadata.labels)));
    const nodeNames = [...new Set(pods.map((p) => p.spec!.nodeName!))];
    const nodes = (await Promise.all(nodeNames.map((n) => objects.get(nodeR, undefined, n).catch(() => undefined)))).filter((n): n is Node => !!n);
    const samples = await scraper.scrape(nodes);
    const items = pods.map((p) => samples.get(p.spec!.nodeName!) && podMetrics(p, samples.get(p.spec!.nodeName!)!)).filter((x): x is KubeObject => !!x);
    if (rr.name) {
      if (!items.length) throw notFound(r, `${rr.namespace}/${rr.name}`);
      return sendJson(res, 200, items[0]);
    }
    return listOf(items);
  } catch (err) {
    const e = err instanceof ApiError ? err : toApiError(err);
    if (res.headersSent) { res.end(); return; }
    sendJson(res, e.code, e.toStatus());
  }
}
