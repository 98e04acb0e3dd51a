// What a request asks to do, in the terms authorizers decide on (kube's RequestInfo and
// authorizer.Attributes): a verb, and either a resource (group, resource, subresource,
// namespace, name) or a non-resource path.
import type { User } from "../auth.js";

export interface Attributes {
  user: User;
  verb: string;
  /** False for /healthz, /api, /openapi/v3 ...: then only `path` and `verb` count. */
  isResourceRequest: boolean;
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** Subresources of a namespace: /api/v1/namespaces/NAME/status is not "status in namespace NAME". */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/**
 * Derives the attributes from the method and URL as kube-apiserver's RequestInfoFactory does:
 * GET on a collection is list (watch with ?watch=true or the /watch/ prefix), on an object get;
 * POST create; PUT update; PATCH patch; DELETE on an object delete, on a collection
 * deletecollection. Lists and watches filtered by `metadata.name=X` carry the name X.
 */
export function requestAttributes(user: User, method: string, url: URL): Attributes {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const parts = path.split("/").filter(Boolean).map((p) => decodeURIComponent(p));
  const base = { user, path, apiGroup: "", apiVersion: "", resource: "", subresource: "", namespace: "", name: "" };
  const m = method.toUpperCase();
  let rest: string[];
  let apiGroup = "", apiVersion = "";
  if (parts[0] === "api" && parts.length >= 3) { apiVersion = parts[1]; rest = parts.slice(2); }
  else if (parts[0] === "apis" && parts.length >= 4) { apiGroup = parts[1]; apiVersion = parts[2]; rest = parts.slice(3); }
  else return { ...base, isResourceRequest: false, verb: m === "HEAD" ? "get" : m.toLowerCase() };

  let watchPath = false;
  if (rest[0] === "watch") { watchPath = true; rest = rest.slice(1); }
  let namespace = "";
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
  }
  const [resource = "", name = "", subresource = ""] = rest;
  const q = url.searchParams;
  let verb: string;
  switch (m) {
    case "POST": verb = "create"; break;
    case "PUT": verb = "update"; break;
    case "PATCH": verb = "patch"; break;
    case "DELETE": verb = name ? "delete" : "deletecollection"; break;
    case "GET": case "HEAD": verb = name ? "get" : "list"; break;
    default: verb = m.toLowerCase();
  }
  const isWatch = watchPath || ((m === "GET" || m === "HEAD") && (q.get("watch") === "true" || q.get("watch") === "1"));
  if (isWatch) verb = "watch";
  let objName = name;
  if (!name && (verb === "list" || verb === "watch")) {
    const fs = q.get("fieldSelector") ?? "";
    const mm = /(?:^|,)metadata\.name==?([^,]+)(?:,|$)/.exec(fs);
    if (mm) objName = mm[1];
  }
  return { ...base, isResourceRequest: true, verb, apiGroup, apiVersion, resource, subresource, namespace, name: objName };
}

/** `pods/log`: the form rules name a resource with its subresource in. */
export function resourceWithSubresource(a: { resource: string; subresource: string }): string {
  return a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
}
