// Authorization for the API server, in kube-apiserver's order: group system:masters may do
// anything; then the node authorizer (kubelets); then RBAC. A request none of them allows gets
// kube's 403 (`pods "x" is forbidden: User "u" cannot delete resource "pods" in API group ""
// in the namespace "default"`). Writes of RBAC objects must not grant more than the writer
// holds (escalation prevention); node requests then pass NodeRestriction. Also here: the
// service account token signer, used by authentication and the TokenRequest subresource.
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { KubeObject } from "../../../api/meta.js";
import type { PolicyRule } from "../../../api/rbac.js";
import type { ResourceRegistry } from "../../../api/registry.js";
import type { User } from "../auth.js";
import { ApiError } from "../errors.js";
import { decodeObject, readBody } from "../http-util.js";
import type { ObjectStore } from "../object-store.js";
import { requestAttributes, resourceWithSubresource, type Attributes } from "./attributes.js";
import { reconcileBootstrapPolicy } from "./bootstrap-policy.js";
import { checkEscalation, isRbacWrite } from "./escalation.js";
import { impersonate, wantsImpersonation } from "./impersonation.js";
import { applyPatch, parsePatchBody, patchTypeOf } from "../patch.js";
import { NodeAuthorizer, checkNodeRestriction, nodeNameOf, restrictionNeedsBody } from "./node.js";
import { RbacCache } from "./rbac-cache.js";
import { NODE_RULES } from "./bootstrap-policy.js";
import { TokenSigner, authenticateServiceAccountToken, looksLikeJwt } from "./serviceaccount-tokens.js";

export const MASTERS_GROUP = "system:masters";

export interface AuthorizationOptions {
  objects: ObjectStore;
  registry: ResourceRegistry;
  /** PEM private key that signs service account tokens (DIR/pki/sa.key). */
  serviceAccountKeyPem: string;
  issuer?: string;
  log?: (msg: string) => void;
}

export interface Verdict {
  allowed: boolean;
  /** Why it was denied, when an authorizer said (the node authorizer does). */
  reason?: string;
}

/** kube's responsewriters.forbiddenMessage + apierrors.NewForbidden. */
export function forbiddenError(a: Attributes, reason?: string): ApiError {
  let msg: string;
  if (!a.isResourceRequest) msg = `User ${JSON.stringify(a.user.name)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  else {
    const res = resourceWithSubresource(a);
    msg = a.namespace
      ? `User ${JSON.stringify(a.user.name)} cannot ${a.verb} resource ${JSON.stringify(res)} in API group ${JSON.stringify(a.apiGroup)} in the namespace ${JSON.stringify(a.namespace)}`
      : `User ${JSON.stringify(a.user.name)} cannot ${a.verb} resource ${JSON.stringify(res)} in API group ${JSON.stringify(a.apiGroup)} at the cluster scope`;
  }
  if (reason) msg += `: ${reason}`;
  if (!a.isResourceRequest || !a.resource) return new ApiError(403, "Forbidden", `forbidden: ${msg}`, {});
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const head = a.name ? `${qualified} ${JSON.stringify(a.name)}` : qualified;
  return new ApiError(403, "Forbidden", `${head} is forbidden: ${msg}`, { ...(a.name ? { name: a.name } : {}), group: a.apiGroup, kind: a.resource });
}

/** A request whose body was read already, readable again by the resource handler. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const r = Readable.from([body]) as unknown as IncomingMessage;
  return Object.assign(r, {
    headers: { ...req.headers, "content-length": String(body.length) }, rawHeaders: req.rawHeaders,
    method: req.method, url: req.url, socket: req.socket, httpVersion: req.httpVersion,
  });
}

export class Authorization {
  readonly signer: TokenSigner;
  private readonly rbac: RbacCache;
  private readonly node: NodeAuthorizer;

  private constructor(private readonly o: AuthorizationOptions) {
    this.signer = new TokenSigner(o.serviceAccountKeyPem, o.issuer);
    this.rbac = new RbacCache(o.objects.store, o.log);
    this.node = new NodeAuthorizer(o.objects, o.registry);
  }

  /** Writes the default roles, then loads and watches the RBAC objects. */
  static async start(o: AuthorizationOptions): Promise<Authorization> {
    const a = new Authorization(o);
    await reconcileBootstrapPolicy(o.objects, o.registry);
    await a.rbac.start();
    return a;
  }

  async authorize(a: Attributes): Promise<Verdict> {
    if (a.user.groups.includes(MASTERS_GROUP)) return { allowed: true };
    const n = await this.node.authorize(a);
    if (n.decision === "allow") return { allowed: true };
    if (n.decision === "deny") return { allowed: false, reason: n.reason };
    if (this.rbac.current.allows(a)) return { allowed: true };
    // The watch may not have shown a binding written a moment ago: ask the store itself.
    if ((await this.rbac.fresh()).allows(a)) return { allowed: true };
    return { allowed: false, reason: n.reason };
  }

  /** The user a bearer token names, if it is a service account token this server signed. */
  async authenticateToken(token: string): Promise<User | undefined> {
    if (!looksLikeJwt(token)) return undefined;
    return authenticateServiceAccountToken(this.signer, this.o.objects, this.o.registry, token);
  }

  /**
   * Authorizes one HTTP request. Returns the error to send, or the request to go on with (the
   * same one, or a replay of it when a check had to read the body) and the user it acts as
   * (another one when impersonating).
   */
  async check(real: User, req: IncomingMessage, url: URL): Promise<{ error: ApiError } | { req: IncomingMessage; user: User }> {
    let user = real;
    if (wantsImpersonation(req.headers)) {
      try {
        user = await impersonate(real, req.headers, async (x) => (await this.authorize(x)).allowed, (x) => forbiddenError(x));
      } catch (err) {
        if (err instanceof ApiError) return { error: err };
        throw err;
      }
    }
    const a = requestAttributes(user, req.method ?? "GET", url);
    const v = await this.authorize(a);
    if (!v.allowed) return { error: forbiddenError(a, v.reason) };
    if (isRbacWrite(a) && !user.groups.includes(MASTERS_GROUP)) return this.checkRbacWrite(a, req);
    if (!nodeNameOf(user)) return { req, user };
    let body: KubeObject | undefined;
    let next = req;
    if (restrictionNeedsBody(a)) {
      const raw = await readBody(req);
      body = decodeObject(raw, req.headers["content-type"]) as unknown as KubeObject;
      next = replay(req, raw);
    }
    const denied = await checkNodeRestriction(this.o.objects, this.o.registry, a, body);
    return denied ? { error: denied } : { req: next, user };
  }

  /** Escalation prevention: reads the body, judges the object the write would leave. */
  private async checkRbacWrite(a: Attributes, req: IncomingMessage): Promise<{ error: ApiError } | { req: IncomingMessage; user: User }> {
    const raw = await readBody(req);
    const next = replay(req, raw);
    const r = this.o.registry.get(a.apiGroup, "v1", a.resource)!;
    let obj: KubeObject | undefined;
    if (a.verb === "patch") {
      const type = patchTypeOf(req.headers["content-type"]);
      const patch = parsePatchBody(type, raw);
      try {
        obj = applyPatch(r, await this.o.objects.get(r, a.namespace || undefined, a.name), type, patch);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
        if (type === "apply") obj = patch as KubeObject; // server-side apply creates
      }
    } else {
      obj = decodeObject(raw, req.headers["content-type"]) as unknown as KubeObject;
    }
    if (!obj) return { req: next, user: a.user }; // the handler answers 404
    const state = await this.rbac.fresh();
    const denied = await checkEscalation({ state, allowed: async (x) => (await this.authorize(x)).allowed }, a, obj);
    return denied ? { error: denied } : { req: next, user: a.user };
  }

  /** What the user may do in a namespace (SelfSubjectRulesReview). */
  rulesFor(user: User, namespace: string): PolicyRule[] {
    if (user.groups.includes(MASTERS_GROUP)) return [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, { verbs: ["*"], nonResourceURLs: ["*"] }];
    const rules = this.rbac.current.rulesFor(user, namespace);
    if (nodeNameOf(user)) rules.push(...NODE_RULES);
    return rules;
  }

  async close(): Promise<void> {
    await this.node.close();
    return this.rbac.close();
  }
}

export { requestAttributes, type Attributes } from "./attributes.js";
export { TokenSigner, issueServiceAccountToken, handleTokenRequest, serviceAccountUser, DEFAULT_ISSUER } from "./serviceaccount-tokens.js";
export { bootstrapClusterRoles, bootstrapClusterRoleBindings, NODE_RULES } from "./bootstrap-policy.js";
export { nodeNameOf, NODES_GROUP } from "./node.js";
