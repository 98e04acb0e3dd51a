// The HTTP(S) front: authentication, then routing to health, version, discovery, OpenAPI
// and the resource handler.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceRegistry } from "../../api/registry.js";
import { authenticate, isPublicPath, type TokenEntry } from "./auth.js";
import { AGGREGATED_DISCOVERY_TYPE, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from "./discovery.js";
import { ApiError, toApiError, unauthorized } from "./errors.js";
import { sendError, sendJson } from "./http-util.js";
import type { ObjectStore } from "./object-store.js";
import { openapiV3Document, openapiV3Index, parseOpenapiV3Path } from "./openapi.js";
import { handleResource } from "./resource-handler.js";
import { handleReview } from "./reviews.js";

export interface RouterContext {
  registry: ResourceRegistry;
  objects: ObjectStore;
  tokens: TokenEntry[];
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
  const user = authenticate(req, ctx.tokens);
  if (!isPublicPath(path) && !user) {
    req.resume();
    sendError(res, unauthorized());
    return;
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
  if (r.review) return handleReview(r, user!, req, res);
  await handleResource(ctx.objects, { resource: r, namespace, name, subresource: sub }, req, res, url);
}
