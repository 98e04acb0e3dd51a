// User impersonation (`kubectl --as USER --as-group GROUP`, kube's
// endpoints/filters/impersonation.go): the Impersonate-User and Impersonate-Group headers make
// the request act as another identity, if the real user may `impersonate` that user (resource
// users, or serviceaccounts for `system:serviceaccount:NS:NAME`) and each group (resource groups).
import type { IncomingHttpHeaders } from "node:http";
import type { User } from "../auth.js";
import { AUTHENTICATED_GROUP } from "../auth.js";
import { ApiError, badRequest } from "../errors.js";
import type { Attributes } from "./attributes.js";
import { serviceAccountOf } from "./rbac-state.js";
import { serviceAccountUser } from "./serviceaccount-tokens.js";

const headerValues = (h: string | string[] | undefined): string[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);

export function wantsImpersonation(headers: IncomingHttpHeaders): boolean {
  return headers["impersonate-user"] !== undefined || headers["impersonate-group"] !== undefined || headers["impersonate-uid"] !== undefined;
}

/**
 * The identity the request acts as. `authorize` judges the real user's right to impersonate;
 * `forbidden` words the 403.
 */
export async function impersonate(real: User, headers: IncomingHttpHeaders, authorize: (a: Attributes) => Promise<boolean>, forbidden: (a: Attributes) => ApiError): Promise<User> {
  const name = typeof headers["impersonate-user"] === "string" ? headers["impersonate-user"].trim() : "";
  const groups = headerValues(headers["impersonate-group"]);
  if (!name) throw badRequest("requested impersonation of groups or uid without impersonating a user (Impersonate-User)");
  const base = { user: real, verb: "impersonate", isResourceRequest: true, path: "", apiVersion: "v1", subresource: "", apiGroup: "" };
  const sa = serviceAccountOf(name);
  const checks: Attributes[] = [
    sa ? { ...base, resource: "serviceaccounts", namespace: sa.namespace, name: sa.name } : { ...base, resource: "users", namespace: "", name },
    ...groups.map((g) => ({ ...base, resource: "groups", namespace: "", name: g })),
  ];
  const uid = typeof headers["impersonate-uid"] === "string" ? headers["impersonate-uid"].trim() : "";
  if (uid) checks.push({ ...base, apiGroup: "authentication.k8s.io", resource: "uids", namespace: "", name: uid });
  for (const a of checks) if (!(await authorize(a))) throw forbidden(a);
  const implied = sa ? serviceAccountUser(sa.namespace, sa.name).groups : [];
  const all = [...new Set([...implied, ...groups])];
  if (name !== "system:anonymous" && !all.includes(AUTHENTICATED_GROUP)) all.push(AUTHENTICATED_GROUP);
  return { name, groups: all };
}
