// Review resources answered from the request's identity and never stored:
// SelfSubjectReview (`kubectl auth whoami`), SelfSubjectAccessReview (`kubectl auth can-i VERB
// RESOURCE`), answered by the same authorizer that guards requests, and SelfSubjectRulesReview
// (`kubectl auth can-i --list`), the RBAC rules that apply to the user in a namespace.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceInfo } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";
import type { User } from "./auth.js";
import type { Attributes, Authorization } from "./authz/index.js";
import { badRequest, methodNotAllowed, toApiError } from "./errors.js";
import { decodeObject, readBody, sendError, sendJson } from "./http-util.js";

interface ResourceAttributes { namespace?: string; verb?: string; group?: string; version?: string; resource?: string; subresource?: string; name?: string }
interface NonResourceAttributes { path?: string; verb?: string }

/** The attributes a SelfSubjectAccessReview asks about, for the authorizer. */
export function reviewAttributes(user: User, spec: { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: NonResourceAttributes }): Attributes {
  const base = { user, apiGroup: "", apiVersion: "", resource: "", subresource: "", namespace: "", name: "", path: "" };
  if (spec.resourceAttributes) {
    const r = spec.resourceAttributes;
    return {
      ...base, isResourceRequest: true, verb: r.verb ?? "", apiGroup: r.group ?? "", apiVersion: r.version ?? "",
      resource: r.resource ?? "", subresource: r.subresource ?? "", namespace: r.namespace ?? "", name: r.name ?? "",
    };
  }
  if (spec.nonResourceAttributes) return { ...base, isResourceRequest: false, verb: spec.nonResourceAttributes.verb ?? "", path: spec.nonResourceAttributes.path ?? "" };
  throw badRequest("SelfSubjectAccessReview: exactly one of spec.resourceAttributes, spec.nonResourceAttributes must be set");
}

export async function handleReview(r: ResourceInfo, user: User, req: IncomingMessage, res: ServerResponse, authz?: Authorization): Promise<void> {
  try {
    if (req.method !== "POST") throw methodNotAllowed();
    const body = decodeObject(await readBody(req), req.headers["content-type"]);
    const base = { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { creationTimestamp: null } };
    const userInfo = { username: user.name, groups: user.groups };
    const spec = (body.spec ?? {}) as Record<string, unknown>;
    switch (r.kind) {
      case "SelfSubjectReview":
        return sendJson(res, 201, { ...base, status: { userInfo } });
      case "SelfSubjectAccessReview": {
        if (!authz) return sendJson(res, 201, { ...base, spec, status: { allowed: true, reason: "no authorizer: every authenticated user may do everything" } });
        const v = await authz.authorize(reviewAttributes(user, spec));
        return sendJson(res, 201, { ...base, spec, status: { allowed: v.allowed, ...(v.reason ? { reason: v.reason } : {}) } });
      }
      default: {
        const all = { resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }], nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }], incomplete: false };
        if (!authz) return sendJson(res, 201, { ...base, spec, status: all });
        const rules = authz.rulesFor(user, String(spec.namespace ?? ""));
        const resourceRules = rules.filter((x) => !x.nonResourceURLs?.length).map((x) => ({
          verbs: x.verbs, ...(x.apiGroups ? { apiGroups: x.apiGroups } : {}), ...(x.resources ? { resources: x.resources } : {}), ...(x.resourceNames?.length ? { resourceNames: x.resourceNames } : {}),
        }));
        const nonResourceRules = rules.filter((x) => x.nonResourceURLs?.length).map((x) => ({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs }));
        return sendJson(res, 201, { ...base, spec, status: { resourceRules, nonResourceRules, incomplete: false } });
      }
    }
  } catch (err) {
    sendError(res, toApiError(err));
  }
}
