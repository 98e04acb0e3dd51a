// Review resources answered from the request's identity and never stored:
// SelfSubjectReview (`kubectl auth whoami`) and SelfSubjectAccessReview / SelfSubjectRulesReview
// (`kubectl auth can-i`). keel has no authorization yet: every authenticated user may do
// everything, and the answers say so.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceInfo } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";
import type { User } from "./auth.js";
import { methodNotAllowed, toApiError } from "./errors.js";
import { decodeObject, readBody, sendError, sendJson } from "./http-util.js";

export async function handleReview(r: ResourceInfo, user: User, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== "POST") throw methodNotAllowed();
    const body = decodeObject(await readBody(req), req.headers["content-type"]);
    const base = { apiVersion: apiVersionOf(r), kind: r.kind, metadata: { creationTimestamp: null } };
    const userInfo = { username: user.name, groups: [...user.groups, "system:authenticated"] };
    switch (r.kind) {
      case "SelfSubjectReview":
        return sendJson(res, 201, { ...base, status: { userInfo } });
      case "SelfSubjectAccessReview":
        return sendJson(res, 201, { ...base, spec: body.spec ?? {}, status: { allowed: true, reason: "keel grants every authenticated user every verb" } });
      default:
        return sendJson(res, 201, {
          ...base, spec: body.spec ?? {},
          status: { resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }], nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }], incomplete: false },
        });
    }
  } catch (err) {
    sendError(res, toApiError(err));
  }
}
