// The resource metrics API (metrics.k8s.io/v1beta1) served by the API server itself, from the
// kubelets' /stats/summary, so `kubectl top` and the HPA need no separate metrics-server.
export { handleMetrics, scraperFor, setScraper, METRICS_GROUP, type MetricsRequest } from "./handler.js";
export { MetricsScraper, cpuNanoCores, containerUsage, nodeUsage, type Scraped, type Sample, type SummaryFetcher, type Usage } from "./scraper.js";
export { fetchSummary, summaryUrl, KUBELET_ENDPOINT_ANNOTATION, NoKubeletEndpointError, SummaryFetchError, type Summary, type PodStats, type ContainerStats, type CpuStats, type MemoryStats } from "./summary.js";
