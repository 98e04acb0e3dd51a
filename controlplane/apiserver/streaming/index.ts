// pods/log, pods/exec, pods/attach and pods/portforward: proxied to the kubelet of the pod's
// node. Logs are a plain (chunked, possibly endless) GET; the others are upgrades (WebSocket,
// or SPDY from older clients) passed through byte for byte once the kubelet answers, so the
// API server need not speak the streaming protocols itself.
import { request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import type { ResourceRegistry } from "../../../api/registry.js";
import { ApiError } from "../errors.js";
import type { ObjectStore } from "../object-store.js";
import { locateKubelet, pickContainer } from "./kubelet-location.js";

export const STREAMING_SUBRESOURCES = new Set(["log", "exec", "attach", "portforward"]);

export interface StreamingContext {
  registry: ResourceRegistry;
  objects: ObjectStore;
}

/** The kubelet path and query for a pod subresource request. */
async function kubeletTarget(ctx: StreamingContext, namespace: string, name: string, sub: string, url: URL): Promise<{ host: string; port: number; path: string }> {
  const loc = await locateKubelet(ctx.registry, ctx.objects, namespace, name);
  const q = new URLSearchParams(url.searchParams);
  const enc = encodeURIComponent;
  if (sub === "portforward") return { host: loc.host, port: loc.port, path: `${loc.prefix}/portForward/${enc(namespace)}/${enc(name)}?${q}` };
  const container = pickContainer(loc.pod, q.get("container"));
  q.delete("container");
  const verb = sub === "log" ? "containerLogs" : sub;
  return { host: loc.host, port: loc.port, path: `${loc.prefix}/${verb}/${enc(namespace)}/${enc(name)}/${enc(container)}?${q}` };
}

/** GET .../pods/NAME/log, and plain (non-upgrade) requests to the streaming subresources. */
export async function handlePodStreaming(ctx: StreamingContext, namespace: string, name: string, sub: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (sub !== "log") throw new ApiError(400, "BadRequest", `pods/${sub} needs a connection upgrade (WebSocket or SPDY)`);
  if (req.method !== "GET") throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on pods/log`);
  const t = await kubeletTarget(ctx, namespace, name, sub, url);
  await new Promise<void>((resolve, reject) => {
    const out = request({ host: t.host, port: t.port, path: t.path, method: "GET" }, (kres) => {
      res.writeHead(kres.statusCode ?? 502, { "Content-Type": kres.headers["content-type"] ?? "text/plain", "Cache-Control": "no-cache" });
      res.flushHeaders();
      kres.pipe(res);
      kres.on("end", resolve);
      kres.on("error", () => { res.destroy(); resolve(); });
    });
    // The client stopped following: stop the kubelet's side too.
    res.on("close", () => out.destroy());
    out.on("error", (e) => (res.headersSent ? (res.destroy(), resolve()) : reject(new ApiError(502, "ServiceUnavailable", `the kubelet of pod ${name} at ${t.host}:${t.port} did not answer: ${e.message}`))));
    out.end();
  });
}

/** Answers an upgrade request that is refused with its Status. */
export function refuseUpgrade(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify(e.toStatus());
  socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

// Headers passed to the kubelet: the upgrade handshake only (never the caller's credentials).
const UPGRADE_HEADERS = ["upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions", "x-stream-protocol-version"];

/**
 * exec, attach and portforward (the caller has authenticated and authorized the request):
 * the upgrade request goes to the kubelet, and from its answer on the bytes flow both ways.
 */
export async function proxyPodUpgrade(ctx: StreamingContext, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
  socket.on("error", () => {});
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
  if (!m || !STREAMING_SUBRESOURCES.has(m[3]) || m[3] === "log") throw new ApiError(404, "NotFound", "the server could not find the requested resource");
  const t = await kubeletTarget(ctx, decodeURIComponent(m[1]), decodeURIComponent(m[2]), m[3], url);
  const upstream = connect({ host: t.host, port: t.port });
  await new Promise<void>((resolve, reject) => { upstream.once("connect", resolve); upstream.once("error", reject); })
    .catch((e: Error) => { throw new ApiError(502, "ServiceUnavailable", `the kubelet of pod ${m[2]} at ${t.host}:${t.port} did not answer: ${e.message}`); });
  // WebSocket upgrades are GETs, SPDY ones POSTs; repeated headers (X-Stream-Protocol-Version) stay repeated.
  const lines = [`${req.method ?? "GET"} ${t.path} HTTP/1.1`, `Host: ${t.host}:${t.port}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (UPGRADE_HEADERS.includes(req.rawHeaders[i].toLowerCase())) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  }
  upstream.write(lines.join("\r\n") + "\r\n\r\n");
  if (head.length) upstream.write(head);
  upstream.on("error", () => socket.destroy());
  socket.on("close", () => upstream.destroy());
  upstream.on("close", () => socket.destroy());
  upstream.pipe(socket);
  socket.pipe(upstream);
}
