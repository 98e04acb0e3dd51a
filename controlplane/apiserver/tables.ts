// Content negotiation for `kubectl get`: when the client asks for
// `application/json;as=Table;v=v1;g=meta.k8s.io`, objects and lists are answered as a
// meta.k8s.io/v1 Table with the columns the registry gives for the resource.
import type { KubeObject, ListMeta, Table } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/registry.js";
import { columnDefinition } from "../../api/tables.js";

export const TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io";

export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const params = part.split(";").map((p) => p.trim());
    return params.includes("as=Table") && params.includes("g=meta.k8s.io") && (params.includes("v=v1") || params.includes("v=v1beta1"));
  });
}

export function toTable(r: ResourceInfo, objects: KubeObject[], meta: ListMeta, includeObject: string | undefined): Table {
  const now = Date.now();
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: meta,
    columnDefinitions: r.columns.map(columnDefinition),
    rows: objects.map((o) => ({
      cells: r.columns.map((c) => {
        try { return c.cell(o, now); } catch { return "<error>"; }
      }),
      object: includeObject === "None" ? undefined
        : includeObject === "Object" ? o
        : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}
