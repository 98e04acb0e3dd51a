// The resource registry: every kind the API serves, with its REST names, scope, verbs,
// subresources and table columns. Discovery, routing, OpenAPI and `kubectl get` all read it.
import { columnsFor, customColumns, type Column } from "./tables.js";
import { definitionFor } from "./schemas.js";
import type { CustomResourceDefinition, JSONSchemaProps } from "./extensions.js";

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  categories: string[];
  verbs: string[];
  subresources: { status?: boolean; scale?: ScaleSubresource };
  columns: Column[];
  /** OpenAPI definition name for built-ins; undefined for custom resources. */
  definition?: string;
  /** The CRD's schema for custom resources. */
  schema?: JSONSchemaProps;
  /** Whether spec changes bump metadata.generation (all but a few kinds). */
  tracksGeneration: boolean;
  custom: boolean;
  /** Create-only review resources answered by the server and never stored (SelfSubjectReview ...). */
  review?: boolean;
}

export const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

export function apiVersionOf(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

type Builtin = Omit<ResourceInfo, "listKind" | "columns" | "definition" | "singular" | "custom" | "verbs" | "categories" | "shortNames" | "subresources" | "tracksGeneration">
  & Partial<Pick<ResourceInfo, "verbs" | "categories" | "shortNames" | "subresources" | "tracksGeneration" | "review">>;

const replicasScale: ScaleSubresource = { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" };

const builtins: Builtin[] = [
  { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, shortNames: ["ns"], subresources: { status: true }, verbs: ["create", "delete", "get", "list", "patch", "update", "watch"] },
  { group: "", version: "v1", kind: "Node", plural: "nodes", namespaced: false, shortNames: ["no"], subresources: { status: true } },
  { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true, shortNames: ["po"], categories: ["all"], subresources: { status: true } },
  { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true, shortNames: ["svc"], categories: ["all"], subresources: { status: true }, verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] },
  { group: "", version: "v1", kind: "Endpoints", plural: "endpoints", namespaced: true, shortNames: ["ep"] },
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, shortNames: ["cm"], tracksGeneration: false },
  { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true, tracksGeneration: false },
  { group: "", version: "v1", kind: "Event", plural: "events", namespaced: true, shortNames: ["ev"], tracksGeneration: false },
  { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, shortNames: ["sa"], tracksGeneration: false },
  { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true, shortNames: ["deploy"], categories: ["all"], subresources: { status: true, scale: replicasScale } },
  { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true, shortNames: ["rs"], categories: ["all"], subresources: { status: true, scale: replicasScale } },
  { group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true, shortNames: ["ds"], categories: ["all"], subresources: { status: true } },
  { group: "apps", version: "v1", kind: "StatefulSet", plural: "statefulsets", namespaced: true, shortNames: ["sts"], categories: ["all"], subresources: { status: true, scale: replicasScale } },
  { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true, categories: ["all"], subresources: { status: true } },
  { group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", namespaced: true, shortNames: ["cj"], categories: ["all"], subresources: { status: true } },
  { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true, tracksGeneration: false },
  { group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true, tracksGeneration: false },
  { group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers", namespaced: true, shortNames: ["hpa"], categories: ["all"], subresources: { status: true } },
  { group: "authentication.k8s.io", version: "v1", kind: "SelfSubjectReview", plural: "selfsubjectreviews", namespaced: false, verbs: ["create"], review: true },
  { group: "authorization.k8s.io", version: "v1", kind: "SelfSubjectAccessReview", plural: "selfsubjectaccessreviews", namespaced: false, verbs: ["create"], review: true },
  { group: "authorization.k8s.io", version: "v1", kind: "SelfSubjectRulesReview", plural: "selfsubjectrulesreviews", namespaced: false, verbs: ["create"], review: true },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true, tracksGeneration: false },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false, tracksGeneration: false },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true, tracksGeneration: false },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false, tracksGeneration: false },
  { group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true, shortNames: ["quota"], subresources: { status: true }, tracksGeneration: false },
  { group: "", version: "v1", kind: "LimitRange", plural: "limitranges", namespaced: true, shortNames: ["limits"], tracksGeneration: false },
  { group: "apps", version: "v1", kind: "ControllerRevision", plural: "controllerrevisions", namespaced: true, tracksGeneration: false },
  { group: "scheduling.k8s.io", version: "v1", kind: "PriorityClass", plural: "priorityclasses", namespaced: false, shortNames: ["pc"], tracksGeneration: false },
  // Served by controlplane/apiserver/metrics from the kubelets' /stats/summary, never stored.
  { group: "metrics.k8s.io", version: "v1beta1", kind: "NodeMetrics", plural: "nodes", namespaced: false, verbs: ["get", "list"], tracksGeneration: false },
  { group: "metrics.k8s.io", version: "v1beta1", kind: "PodMetrics", plural: "pods", namespaced: true, verbs: ["get", "list"], tracksGeneration: false },
  { group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions", namespaced: false, shortNames: ["crd", "crds"], categories: ["api-extensions"], subresources: { status: true } },
];

function complete(b: Builtin): ResourceInfo {
  return {
    ...b,
    listKind: `${b.kind}List`,
    singular: b.kind.toLowerCase(),
    shortNames: b.shortNames ?? [],
    categories: b.categories ?? [],
    verbs: b.verbs ?? ALL_VERBS,
    subresources: b.subresources ?? {},
    columns: columnsFor(b.plural),
    definition: definitionFor(b.group, b.version, b.kind),
    tracksGeneration: b.tracksGeneration ?? true,
    custom: false,
  };
}

/** The resources served right now: the built-ins plus whatever CRDs have added. */
export class ResourceRegistry {
  private readonly resources = new Map<string, ResourceInfo>();
  /** Bumped on every change, so derived documents (discovery, OpenAPI) can be cached. */
  version = 0;

  constructor() {
    for (const b of builtins) this.add(complete(b));
  }

  private static key(group: string, version: string, plural: string): string {
    return `${group}/${version}/${plural}`;
  }

  add(r: ResourceInfo): void {
    this.resources.set(ResourceRegistry.key(r.group, r.version, r.plural), r);
    this.version++;
  }

  remove(group: string, plural: string): void {
    for (const [k, r] of this.resources) if (r.group === group && r.plural === plural && r.custom) this.resources.delete(k);
    this.version++;
  }

  get(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.resources.get(ResourceRegistry.key(group, version, plural));
  }

  byKind(group: string, kind: string): ResourceInfo | undefined {
    for (const r of this.resources.values()) if (r.group === group && r.kind === kind) return r;
    return undefined;
  }

  all(): ResourceInfo[] {
    return [...this.resources.values()];
  }

  /** Group → versions served, in registration order (built-in groups first). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.resources.values()) {
      const vs = out.get(r.group) ?? [];
      if (!vs.includes(r.version)) vs.push(r.version);
      out.set(r.group, vs);
    }
    return out;
  }

  inGroupVersion(group: string, version: string): ResourceInfo[] {
    return this.all().filter((r) => r.group === group && r.version === version);
  }

  /** Replaces the custom resources of one CRD (called whenever the CRD is written). */
  syncCustomResource(crd: CustomResourceDefinition): void {
    this.remove(crd.spec.group, crd.spec.names.plural);
    if (crd.metadata.deletionTimestamp) return;
    for (const v of crd.spec.versions) {
      if (!v.served) continue;
      const n = crd.spec.names;
      this.add({
        group: crd.spec.group, version: v.name, kind: n.kind, listKind: n.listKind ?? `${n.kind}List`, plural: n.plural,
        singular: n.singular ?? n.kind.toLowerCase(), shortNames: n.shortNames ?? [], namespaced: crd.spec.scope === "Namespaced",
        categories: n.categories ?? [], verbs: ALL_VERBS,
        subresources: { status: Boolean(v.subresources?.status), scale: v.subresources?.scale },
        columns: customColumns(v.additionalPrinterColumns ?? []), schema: v.schema?.openAPIV3Schema, tracksGeneration: true, custom: true,
      });
    }
  }
}
