// Where a node's kubelet serves its HTTP API (logs, exec, attach, port-forward, stats): the
// keel.dev/kubelet-endpoint annotation when the node sets one (a kubelet the API server reaches
// some other way than the node's own address, e.g. `keel cluster up`'s kubelets, whose nodes'
// addresses live in network namespaces, or simulated nodes' shared stats server), else the node's
// address (metrics-server's preferred order) and status.daemonEndpoints.kubeletEndpoint.Port,
// as kube-apiserver finds it. keel's kubelet serves plain HTTP.
import type { Node } from "./core.js";

export const KUBELET_ENDPOINT_ANNOTATION = "keel.dev/kubelet-endpoint";
const ADDRESS_ORDER = ["InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS", "Hostname"];
const DEFAULT_KUBELET_PORT = 10250;

export class NoKubeletEndpointError extends Error {
  readonly code = "ENOKUBELET";
  constructor(readonly node: string) {
    super(`node ${node} publishes no kubelet address (no ${KUBELET_ENDPOINT_ANNOTATION} annotation, status.addresses is empty)`);
    this.name = "NoKubeletEndpointError";
  }
}

/** The kubelet's base URL, e.g. http://10.250.0.2:10250 (no trailing slash). */
export function kubeletBaseUrl(node: Node): URL {
  const annotated = node.metadata.annotations?.[KUBELET_ENDPOINT_ANNOTATION];
  if (annotated) return new URL(annotated.replace(/\/+$/, ""));
  const addrs = node.status?.addresses ?? [];
  const addr = ADDRESS_ORDER.map((t) => addrs.find((a) => a.type === t)?.address).find(Boolean);
  if (!addr) throw new NoKubeletEndpointError(node.metadata.name ?? "");
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || DEFAULT_KUBELET_PORT;
  return new URL(`http://${addr.includes(":") ? `[${addr}]` : addr}:${port}`);
}
