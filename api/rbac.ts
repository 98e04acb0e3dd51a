// rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding. The types,
// their OpenAPI schemas, defaulting and validation as kube-apiserver does them
// (pkg/apis/rbac/validation, pkg/apis/rbac/v1/defaults.go). The authorizer that reads them
// lives in controlplane/apiserver/authz/.
import type { KubeObject, LabelSelector } from "./meta.js";
import { FieldError, invalid, notSupported, required } from "./field-errors.js";
import { arr, obj, ref, str, type Schema } from "./schema-dsl.js";

export const RBAC_GROUP = "rbac.authorization.k8s.io";

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: "User" | "Group" | "ServiceAccount" | string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: "Role" | "ClusterRole" | string;
  name: string;
}

export interface AggregationRule {
  clusterRoleSelectors?: LabelSelector[];
}

export interface Role extends KubeObject {
  rules?: PolicyRule[];
}

export interface ClusterRole extends KubeObject {
  rules?: PolicyRule[];
  aggregationRule?: AggregationRule;
}

export interface RoleBinding extends KubeObject {
  subjects?: Subject[];
  roleRef: RoleRef;
}

export type ClusterRoleBinding = RoleBinding;

// --- OpenAPI schemas (merged into api/schemas.ts) ---
const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const RBAC = "io.k8s.api.rbac.v1";
const gvk = (kind: string) => ({ "x-kubernetes-group-version-kind": [{ group: RBAC_GROUP, version: "v1", kind }] });
const top = (kind: string, description: string, fields: Record<string, Schema>, req: string[] = []): Schema =>
  obj({ apiVersion: str(), kind: str(), metadata: ref(`${META}.ObjectMeta`, "Standard object's metadata."), ...fields }, { description, required: req, ...gvk(kind) });

export const rbacDefinitions: Record<string, Schema> = {
  [`${RBAC}.PolicyRule`]: obj({
    apiGroups: arr(str(), "APIGroups is the name of the APIGroup that contains the resources. \"\" is the core group, \"*\" all groups."),
    nonResourceURLs: arr(str(), "NonResourceURLs is a set of partial urls that a user should have access to. *s are allowed as the final step."),
    resourceNames: arr(str(), "ResourceNames is an optional allow list of names that the rule applies to."),
    resources: arr(str(), "Resources is a list of resources this rule applies to. '*' represents all resources; 'pods/log' a subresource."),
    verbs: arr(str(), "Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. '*' represents all verbs."),
  }, { required: ["verbs"], description: "PolicyRule holds information that describes a policy rule." }),
  [`${RBAC}.Subject`]: obj({
    apiGroup: str(), kind: str("Kind of object being referenced: \"User\", \"Group\", or \"ServiceAccount\"."), name: str(), namespace: str(),
  }, { required: ["kind", "name"], "x-kubernetes-map-type": "atomic" }),
  [`${RBAC}.RoleRef`]: obj({ apiGroup: str(), kind: str(), name: str() }, { required: ["apiGroup", "kind", "name"], "x-kubernetes-map-type": "atomic" }),
  [`${RBAC}.AggregationRule`]: obj({ clusterRoleSelectors: arr(ref(`${META}.LabelSelector`)) }),
  [`${RBAC}.Role`]: top("Role", "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.", {
    rules: arr(ref(`${RBAC}.PolicyRule`), "Rules holds all the PolicyRules for this Role"),
  }),
  [`${RBAC}.ClusterRole`]: top("ClusterRole", "ClusterRole is a cluster level, logical grouping of PolicyRules.", {
    aggregationRule: ref(`${RBAC}.AggregationRule`, "AggregationRule describes how to build the Rules for this ClusterRole."),
    rules: arr(ref(`${RBAC}.PolicyRule`), "Rules holds all the PolicyRules for this ClusterRole"),
  }),
  [`${RBAC}.RoleBinding`]: top("RoleBinding", "RoleBinding references a role, but does not contain it.", {
    roleRef: ref(`${RBAC}.RoleRef`), subjects: arr(ref(`${RBAC}.Subject`)),
  }, ["roleRef"]),
  [`${RBAC}.ClusterRoleBinding`]: top("ClusterRoleBinding", "ClusterRoleBinding references a ClusterRole, but not contain it.", {
    roleRef: ref(`${RBAC}.RoleRef`), subjects: arr(ref(`${RBAC}.Subject`)),
  }, ["roleRef"]),
};

// --- defaulting ---
function defaultSubjects(b: KubeObject): void {
  const subjects = (b as RoleBinding).subjects;
  if (Array.isArray(subjects)) {
    for (const s of subjects) {
      if (!s || typeof s !== "object" || s.apiGroup !== undefined) continue;
      if (s.kind === "ServiceAccount") s.apiGroup = "";
      else if (s.kind === "User" || s.kind === "Group") s.apiGroup = RBAC_GROUP;
    }
  }
  const rr = (b as RoleBinding).roleRef;
  if (rr && typeof rr === "object" && !rr.apiGroup) rr.apiGroup = RBAC_GROUP;
}

export const rbacDefaulters: Record<string, (obj: KubeObject) => void> = {
  [`${RBAC_GROUP}/RoleBinding`]: defaultSubjects,
  [`${RBAC_GROUP}/ClusterRoleBinding`]: defaultSubjects,
};

// --- validation ---
/** RBAC names are path segments (ValidateRBACName), so "system:node" is a valid name. */
export const isPathSegmentName = (n: string): boolean => n !== "." && n !== ".." && !/[/%]/.test(n);

function validateRules(rules: unknown, namespaced: boolean): FieldError[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [invalid("rules", rules, "must be a list")];
  const errs: FieldError[] = [];
  rules.forEach((r: PolicyRule, i) => {
    const p = `rules[${i}]`;
    if (!r || typeof r !== "object") { errs.push(invalid(p, r, "must be an object")); return; }
    if (!Array.isArray(r.verbs) || r.verbs.length === 0) errs.push(required(`${p}.verbs`, "verbs must contain at least one value"));
    const urls = r.nonResourceURLs ?? [];
    if (urls.length) {
      if (namespaced) errs.push(invalid(`${p}.nonResourceURLs`, urls, "namespaced rules cannot apply to non-resource URLs"));
      if ((r.apiGroups ?? []).length || (r.resources ?? []).length || (r.resourceNames ?? []).length) {
        errs.push(invalid(`${p}.nonResourceURLs`, urls, "rules cannot apply to both regular resources and non-resource URLs"));
      }
      urls.forEach((u, j) => {
        if (typeof u !== "string" || !(u === "*" || u.startsWith("/"))) errs.push(invalid(`${p}.nonResourceURLs[${j}]`, u, "must start with /"));
      });
      return;
    }
    if (!(r.apiGroups ?? []).length) errs.push(required(`${p}.apiGroups`, "resource rules must supply at least one api group"));
    if (!(r.resources ?? []).length) errs.push(required(`${p}.resources`, "resource rules must supply at least one resource"));
  });
  return errs;
}

function validateBinding(b: KubeObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const rb = b as RoleBinding;
  const rr = rb.roleRef;
  if (!rr || typeof rr !== "object") return [required("roleRef")];
  if (rr.apiGroup !== RBAC_GROUP) errs.push(notSupported("roleRef.apiGroup", rr.apiGroup, [RBAC_GROUP]));
  const kinds = namespaced ? ["ClusterRole", "Role"] : ["ClusterRole"];
  if (!kinds.includes(rr.kind)) errs.push(notSupported("roleRef.kind", rr.kind, kinds));
  if (!rr.name) errs.push(required("roleRef.name"));
  else if (!isPathSegmentName(rr.name)) errs.push(invalid("roleRef.name", rr.name, "may not be '.' or '..' and may not contain '/' or '%'"));
  (Array.isArray(rb.subjects) ? rb.subjects : []).forEach((s, i) => {
    const p = `subjects[${i}]`;
    if (!s || typeof s !== "object") { errs.push(invalid(p, s, "must be an object")); return; }
    if (!s.name) errs.push(required(`${p}.name`));
    switch (s.kind) {
      case "ServiceAccount":
        if (s.apiGroup) errs.push(notSupported(`${p}.apiGroup`, s.apiGroup, [""]));
        if (!s.namespace && !namespaced) errs.push(required(`${p}.namespace`));
        break;
      case "User":
      case "Group":
        if (s.apiGroup !== RBAC_GROUP) errs.push(notSupported(`${p}.apiGroup`, s.apiGroup, [RBAC_GROUP]));
        break;
      default:
        errs.push(notSupported(`${p}.kind`, s.kind, ["Group", "ServiceAccount", "User"]));
    }
  });
  return errs;
}

export const rbacValidators: Record<string, (obj: KubeObject) => FieldError[]> = {
  [`${RBAC_GROUP}/Role`]: (r) => validateRules((r as Role).rules, true),
  [`${RBAC_GROUP}/ClusterRole`]: (r) => {
    const errs = validateRules((r as ClusterRole).rules, false);
    const ag = (r as ClusterRole).aggregationRule;
    if (ag !== undefined && ag !== null && (!Array.isArray(ag.clusterRoleSelectors) || ag.clusterRoleSelectors.length === 0)) {
      errs.push(required("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil"));
    }
    return errs;
  },
  [`${RBAC_GROUP}/RoleBinding`]: (b) => validateBinding(b, true),
  [`${RBAC_GROUP}/ClusterRoleBinding`]: (b) => validateBinding(b, false),
};

/** On update: a binding's roleRef may not change (delete and re-create it instead). */
export function validateRbacUpdate(group: string, kind: string, obj: KubeObject, old: KubeObject): FieldError[] {
  if (group !== RBAC_GROUP || (kind !== "RoleBinding" && kind !== "ClusterRoleBinding")) return [];
  return JSON.stringify((obj as RoleBinding).roleRef) === JSON.stringify((old as RoleBinding).roleRef)
    ? [] : [invalid("roleRef", (obj as RoleBinding).roleRef, "cannot change roleRef")];
}

