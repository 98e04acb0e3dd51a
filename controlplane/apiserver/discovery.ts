// API discovery documents (/api, /apis, /api/v1, /apis/<group>/<version>), built from the
// resource registry so custom resources appear as soon as their CRD is written.
import type { ResourceRegistry, ResourceInfo } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";

export function apiVersions(serverAddress: string): unknown {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

export function apiGroupList(registry: ResourceRegistry): unknown {
  const groups = [...registry.groups()].filter(([g]) => g !== "").map(([name, versions]) => groupEntry(name, versions));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

function groupEntry(name: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroup(registry: ResourceRegistry, group: string): unknown | undefined {
  const versions = registry.groups().get(group);
  if (!versions || group === "") return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(group, versions) };
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): unknown | undefined {
  const rs = registry.inGroupVersion(group, version);
  if (!rs.length) return undefined;
  const resources: unknown[] = [];
  for (const r of rs.sort((a, b) => a.plural.localeCompare(b.plural))) {
    resources.push({
      name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}), ...(r.categories.length ? { categories: r.categories } : {}),
    });
    if (r.subresources.status) resources.push({ name: `${r.plural}/status`, singularName: "", namespaced: r.namespaced, kind: r.kind, verbs: ["get", "patch", "update"] });
    if (r.subresources.scale) resources.push({ name: `${r.plural}/scale`, singularName: "", namespaced: r.namespaced, group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] });
    if (r.group === "" && r.kind === "Pod") resources.push({ name: "pods/binding", singularName: "", namespaced: true, kind: "Binding", verbs: ["create"] });
    if (r.group === "" && r.kind === "Namespace") resources.push({ name: "namespaces/finalize", singularName: "", namespaced: false, kind: "Namespace", verbs: ["update"] });
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersionOf({ group, version }), resources };
}

export function resourcePath(r: ResourceInfo, namespace?: string, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return base + (r.namespaced && namespace ? `/namespaces/${namespace}` : "") + `/${r.plural}` + (name ? `/${name}` : "");
}

/** The media type of aggregated discovery (apidiscovery.k8s.io/v2), which kubectl 1.32 asks for first. */
export const AGGREGATED_DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

export function wantsAggregated(accept: string | undefined): boolean {
  return (accept ?? "").split(",").some((part) => {
    const params = part.split(";").map((p) => p.trim());
    return params.includes("g=apidiscovery.k8s.io") && params.includes("v=v2") && params.includes("as=APIGroupDiscoveryList");
  });
}

/** All resources of /api (legacy: true) or /apis in one document. */
export function aggregatedDiscovery(registry: ResourceRegistry, legacy: boolean): unknown {
  const items: unknown[] = [];
  for (const [group, versions] of registry.groups()) {
    if ((group === "") !== legacy) continue;
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        freshness: "Current",
        resources: registry.inGroupVersion(group, v).sort((a, b) => a.plural.localeCompare(b.plural)).map((r) => ({
          resource: r.plural,
          responseKind: { group: r.group, version: r.version, kind: r.kind },
          scope: r.namespaced ? "Namespaced" : "Cluster",
          singularResource: r.singular,
          verbs: r.verbs,
          ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories.length ? { categories: r.categories } : {}),
          subresources: [
            ...(r.subresources.status ? [{ subresource: "status", responseKind: { group: r.group, version: r.version, kind: r.kind }, verbs: ["get", "patch", "update"] }] : []),
            ...(r.subresources.scale ? [{ subresource: "scale", responseKind: { group: "autoscaling", version: "v1", kind: "Scale" }, verbs: ["get", "patch", "update"] }] : []),
            ...(r.group === "" && r.kind === "Pod" ? [{ subresource: "binding", responseKind: { group: "", version: "v1", kind: "Binding" }, verbs: ["create"] }] : []),
          ],
        })),
      })),
    });
  }
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}
