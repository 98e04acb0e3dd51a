// The resources the controllers and the scheduler talk to, as REST path pieces.
export interface Resource {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  kind: string;
}

const r = (group: string, version: string, plural: string, kind: string, namespaced = true): Resource => ({ group, version, plural, kind, namespaced });

export const R = {
  pods: r("", "v1", "pods", "Pod"),
  nodes: r("", "v1", "nodes", "Node", false),
  namespaces: r("", "v1", "namespaces", "Namespace", false),
  services: r("", "v1", "services", "Service"),
  endpoints: r("", "v1", "endpoints", "Endpoints"),
  events: r("", "v1", "events", "Event"),
  configmaps: r("", "v1", "configmaps", "ConfigMap"),
  secrets: r("", "v1", "secrets", "Secret"),
  serviceaccounts: r("", "v1", "serviceaccounts", "ServiceAccount"),
  deployments: r("apps", "v1", "deployments", "Deployment"),
  replicasets: r("apps", "v1", "replicasets", "ReplicaSet"),
  daemonsets: r("apps", "v1", "daemonsets", "DaemonSet"),
  statefulsets: r("apps", "v1", "statefulsets", "StatefulSet"),
  jobs: r("batch", "v1", "jobs", "Job"),
  cronjobs: r("batch", "v1", "cronjobs", "CronJob"),
  leases: r("coordination.k8s.io", "v1", "leases", "Lease"),
  endpointslices: r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
} as const;

export function apiVersion(res: Resource): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

export function resourcePath(res: Resource, namespace?: string, name?: string, subresource?: string): string {
  let p = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  if (res.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${res.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** Every resource the kit knows, for the garbage collector's owner look-ups. */
export function resourceByKind(apiVersionStr: string, kind: string): Resource | undefined {
  return Object.values(R).find((x) => apiVersion(x) === apiVersionStr && x.kind === kind);
}
