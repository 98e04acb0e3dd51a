// The HTTP(S) front: authentication, then routing to health, version, discovery, OpenAPI
// and the resource handler.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceRegistry } from "../../api/registry.js";
import { authenticate, isPublicPath, type TokenEntry } from "./auth.js";
import { AGGREGATED_DISCOVERY_TYPE, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from "./discovery.js";
import { ApiError, toApiError, unauthorized } from "./errors.js";
import { sendError, sendJson } from "./http-util.js";
import type { ObjectStore } from "./object-store.js";
import { openapiV3Document, openapiV3Index, parseOpenapiV3Path, sendOpenapiV2 } from "./openapi.js";
import { handleResource } from "./resource-handler.js";
import { handleReview } from "./reviews.js";
import { handleMetrics, METRICS_GROUP } from "./metrics/index.js";
import { handlePodStreaming, proxyPodUpgrade, refuseUpgrade, STREAMING_SUBRESOURCES } from "./streaming/index.js";
import type { Duplex } from "node:stream";
import { forbiddenError, requestAttributes, type Authorization } from "./authz/index.js";
import { handleTokenRequest } from "./authz/serviceaccount-tokens.js";

export interface RouterContext {
  registry: ResourceRegistry;
  objects: ObjectStore;
  tokens: TokenEntry[];
  /** RBAC + node authorizer and service account tokens; without it every user is admin. */
  authz?: Authorization;
  serverAddress: () => string;
  ready: () => boolean;
}

export const VERSION_INFO = {
  major: "1", minor: "32", gitVersion: "v1.32.0-keel", gitCommit: "keel", gitTreeState: "clean", buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.23 (keel: node " + process.versions.node + ")", compiler: "gc", platform: `linux/${process.arch === "x64" ? "amd64" : process.arch}`,
};

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function makeRequestHandler(ctx: RouterContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void route(ctx, req, res).catch((err) => sendError(res, toApiError(err)));
  };
}

async function route(ctx: RouterContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://keel");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  let user = await authenticate(req, ctx.tokens, ctx.authz && ((t) => ctx.authz!.authenticateToken(t)));
  if (!isPublicPath(path) && !user) {
    req.resume();
    sendError(res, unauthorized());
    return;
  }
  if (user && ctx.authz && !isPublicPath(path)) {
    const verdict = await ctx.authz.check(user, req, url);
    if ("error" in verdict) { req.resume(); return sendError(res, verdict.error); }
    req = verdict.req; // a replay when a check read the body
    user = verdict.user; // another one when impersonating (kubectl --as)
  }
  const method = req.method ?? "GET";
  if (path === "/healthz" || path === "/livez" || path === "/readyz" || path.startsWith("/healthz/") || path.startsWith("/livez/") || path.startsWith("/readyz/")) {
    if (path.startsWith("/readyz") && !ctx.ready()) return sendText(res, 500, "[-]store not ready\nreadyz check failed");
    return sendText(res, 200, "ok");
  }
  if (path === "/version") return sendJson(res, 200, VERSION_INFO);
  if ((path === "/api" || path === "/apis") && method === "GET" && wantsAggregated(req.headers.accept)) {
    return sendJson(res, 200, aggregatedDiscovery(ctx.registry, path === "/api"), { Vary: "Accept" }, AGGREGATED_DISCOVERY_TYPE);
  }
  if (path === "/api" && method === "GET") return sendJson(res, 200, apiVersions(ctx.serverAddress()), { Vary: "Accept" });
  if (path === "/apis" && method === "GET") return sendJson(res, 200, apiGroupList(ctx.registry), { Vary: "Accept" });
  if (path === "/openapi/v2" && method === "GET") return sendOpenapiV2(ctx.registry, req, res);
  if (path === "/openapi/v3") return sendJson(res, 200, openapiV3Index(ctx.registry));
  if (path.startsWith("/openapi/v3/")) {
    const gv = parseOpenapiV3Path(path.slice("/openapi/v3/".length));
    const doc = gv && openapiV3Document(ctx.registry, gv.group, gv.version);
    if (!doc) return sendError(res, new ApiError(404, "NotFound", `the server could not find the requested resource (${path})`));
    return sendJson(res, 200, doc, { "Cache-Control": "public, immutable", ETag: JSON.stringify(url.searchParams.get("hash") ?? "") });
  }
  const parts = path.split("/").filter(Boolean);
  let group: string, version: string, rest: string[];
  if (parts[0] === "api" && parts.length >= 2) { group = ""; version = parts[1]; rest = parts.slice(2); }
  else if (parts[0] === "apis" && parts.length >= 3) { group = parts[1]; version = parts[2]; rest = parts.slice(3); }
  else if (parts[0] === "apis" && parts.length === 2 && method === "GET") {
    const g = apiGroup(ctx.registry, parts[1]);
    if (g) return sendJson(res, 200, g);
    return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  } else {
    return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  if (rest.length === 0) {
    const list = apiResourceList(ctx.registry, group, version);
    if (list && method === "GET") return sendJson(res, 200, list);
    return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  // The legacy watch path /api/v1/watch/namespaces/x/pods is list+watch=true.
  if (rest[0] === "watch") { rest = rest.slice(1); url.searchParams.set("watch", "true"); }
  let namespace: string | undefined, plural: string, name: string | undefined, sub: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && ctx.registry.get(group, version, rest[2])?.namespaced) {
    namespace = rest[1]; plural = rest[2]; name = rest[3]; sub = rest[4];
    if (rest.length > 5) return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  } else {
    plural = rest[0]; name = rest[1]; sub = rest[2];
    if (rest.length > 3) return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  }
  const r = ctx.registry.get(group, version, plural);
  if (!r) return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  if (r.namespaced && !namespace && name) return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  if (!r.namespaced && namespace) return sendError(res, new ApiError(404, "NotFound", "the server could not find the requested resource"));
  if (r.review) return handleReview(r, user!, req, res, ctx.authz);
  if (r.group === METRICS_GROUP) return handleMetrics(ctx.objects, { resource: r, namespace, name, subresource: sub }, req, res, url);
  if (ctx.authz && r.group === "" && r.plural === "serviceaccounts" && sub === "token" && name && namespace) return handleTokenRequest(ctx.authz.signer, ctx.objects, ctx.registry, namespace, name, req, res);
  if (r.group === "" && r.plural === "pods" && namespace && name && sub && STREAMING_SUBRESOURCES.has(sub)) return handlePodStreaming(ctx, namespace, name, sub, req, res, url);
  await handleResource(ctx.objects, { resource: r, namespace, name, subresource: sub }, req, res, url);
}

/**
 * Connection upgrades (pods/exec, attach, portforward): checked as requests are, then proxied to
 * the kubelet. `closeAll` ends the sessions still open (closeAllConnections does not see them).
 */
export function makeUpgradeHandler(ctx: RouterContext) {
  const open = new Set<Duplex>();
  const handler = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => {});
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    void (async () => {
      const url = new URL(req.url ?? "/", "http://keel");
      const user = await authenticate(req, ctx.tokens, ctx.authz && ((t) => ctx.authz!.authenticateToken(t)));
      if (!user) throw unauthorized();
      if (ctx.authz) {
        const verdict = await ctx.authz.check(user, req, url);
        if ("error" in verdict) throw verdict.error;
        // A WebSocket upgrade is a GET, yet it can run commands: kube-apiserver (1.31+,
        // AuthorizePodWebsocketUpgradeCreatePermission) also asks for "create" on the subresource.
        const create = requestAttributes(verdict.user, "POST", url);
        const v = await ctx.authz.authorize(create);
        if (!v.allowed) throw forbiddenError(create, v.reason);
      }
      await proxyPodUpgrade(ctx, req, socket, head, url);
    })().catch((e) => refuseUpgrade(socket, toApiError(e)));
  };
  return Object.assign(handler, { closeAll: () => { for (const s of open) s.destroy(); } });
}
