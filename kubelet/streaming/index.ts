// The kubelet's streaming endpoints, as the API server's pods/log, pods/exec, pods/attach and
// pods/portforward proxy to them:
//   GET /containerLogs/NS/POD/CONTAINER?follow&previous&tailLines&sinceSeconds&timestamps...
//   GET /exec/NS/POD/CONTAINER?command=...&stdin&stdout&stderr&tty   (WebSocket, v5/v4.channel.k8s.io)
//   GET /attach/NS/POD/CONTAINER?stdout&stderr                      (WebSocket, the same channels)
//   GET /portForward/NS/POD                                          (WebSocket tunnelling SPDY/3.1, portforward.k8s.io)
// and the same over a plain SPDY/3.1 upgrade, kubectl's fallback.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { KubeletCore } from "../kubelet.js";
import { ChannelConnection, CHANNEL_PROTOCOLS } from "./channel.js";
import { runAttach, runExec, streamFlags } from "./exec.js";
import { parseLogOptions, serveContainerLogs } from "./logs.js";
import { forwardPortsOver, PORT_FORWARD_PROTOCOLS, servePortForward } from "./port-forward.js";
import { SpdyServerConnection } from "./spdy.js";
import { SpdyExecSession, SPDY_CHANNEL_PROTOCOLS } from "./spdy-session.js";
import { findPod, StreamingError } from "./target.js";

const LOGS = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/;
const EXEC = /^\/(exec|attach)\/([^/]+)\/([^/]+)\/([^/]+)$/;
const PORT_FORWARD = /^\/portForward\/([^/]+)\/([^/]+)$/;

function sendStatus(res: ServerResponse, e: StreamingError): void {
  res.writeHead(e.code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(e.status()));
}

/** Handles the request if it is a log request; false if it is not one of ours. */
export function handleStreamingRequest(core: KubeletCore, req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const m = LOGS.exec(url.pathname);
  if (m) {
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent);
    void (async () => serveContainerLogs(core, ns, pod, container, parseLogOptions(url.searchParams), res))().catch((e) => {
      if (res.headersSent) { res.end(); return; }
      sendStatus(res, e instanceof StreamingError ? e : new StreamingError(500, "InternalError", (e as Error).message));
    });
    return true;
  }
  if (EXEC.test(url.pathname) || PORT_FORWARD.test(url.pathname)) {
    sendStatus(res, new StreamingError(400, "BadRequest", "Upgrade request required"));
    return true;
  }
  return false;
}

function refuse(socket: Duplex, e: StreamingError): void {
  const body = JSON.stringify(e.status());
  socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Serves the WebSocket upgrades (exec, attach, port-forward) on the kubelet's HTTP server;
 * returns what ends every session still open (upgraded sockets outlive closeAllConnections).
 */
export function attachStreaming(server: Server, core: KubeletCore): () => void {
  const sessions = new Set<Duplex>();
  const wss = new WebSocketServer({
    noServer: true,
    // The first protocol the client offers that we speak (kubectl offers only one).
    handleProtocols: (offered) => [...offered].find((p) => (CHANNEL_PROTOCOLS as readonly string[]).includes(p)) ?? false,
  });
  const pendingProtocol = new WeakMap<IncomingMessage, string>();
  wss.on("headers", (headers: string[], req: IncomingMessage) => {
    const p = pendingProtocol.get(req);
    if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    sessions.add(socket);
    socket.on("close", () => sessions.delete(socket));
    const url = new URL(req.url ?? "/", "http://kubelet");
    const exec = EXEC.exec(url.pathname), pf = PORT_FORWARD.exec(url.pathname);
    if (!exec && !pf) return refuse(socket, new StreamingError(404, "NotFound", `${url.pathname} not found`));
    try {
      if (pf) findPod(core, decodeURIComponent(pf[1]), decodeURIComponent(pf[2]));
    } catch (e) {
      return refuse(socket, e as StreamingError);
    }
    const upgrade = (req.headers.upgrade ?? "").toLowerCase();
    if (upgrade === "spdy/3.1") return serveSpdy(core, req, socket, head, url, exec, pf);
    if (upgrade !== "websocket") {
      return refuse(socket, new StreamingError(400, "BadRequest", `unsupported upgrade ${JSON.stringify(req.headers.upgrade)}: keel's kubelet speaks WebSocket and SPDY/3.1`));
    }
    if (pf) {
      // "SPDY/3.1+portforward.k8s.io" is not an RFC 7230 token ("/"), which ws refuses: take the
      // offer out of its sight and answer it in the 101's headers ourselves.
      const offered = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
      const chosen = offered.find((p) => PORT_FORWARD_PROTOCOLS.includes(p));
      if (!chosen) return refuse(socket, new StreamingError(400, "BadRequest", `port-forward needs the WebSocket subprotocol ${PORT_FORWARD_PROTOCOLS.join(" or ")} (offered: ${offered.join(", ") || "none"})`));
      delete req.headers["sec-websocket-protocol"];
      pendingProtocol.set(req, chosen);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (pf) {
        servePortForward(core, decodeURIComponent(pf[1]), decodeURIComponent(pf[2]), ws);
        return;
      }
      const [verb, ns, pod, container] = [exec![1], ...exec!.slice(2).map(decodeURIComponent)];
      const conn = new ChannelConnection(ws);
      const flags = streamFlags(url.searchParams);
      const run = verb === "exec" ? runExec(core, ns, pod, container, url.searchParams.getAll("command"), flags, conn) : runAttach(core, ns, pod, container, flags, conn);
      void run.catch(() => conn.close());
    });
  });
  return () => { for (const s of sessions) s.destroy(); };
}

/** The stream protocol versions a SPDY client offers (X-Stream-Protocol-Version, repeated or comma-joined). */
function offeredVersions(req: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === "x-stream-protocol-version") out.push(...req.rawHeaders[i + 1].split(",").map((v) => v.trim()).filter(Boolean));
  }
  return out;
}

/** exec, attach and port-forward over a plain SPDY/3.1 upgrade (kubectl's fallback). */
function serveSpdy(core: KubeletCore, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, exec: RegExpExecArray | null, pf: RegExpExecArray | null): void {
  const offered = offeredVersions(req);
  const ours = pf ? ["portforward.k8s.io"] : SPDY_CHANNEL_PROTOCOLS;
  const chosen = offered.find((v) => ours.includes(v));
  if (!chosen) return refuse(socket, new StreamingError(403, "Forbidden", `no stream protocol in common: the client offers [${offered.join(", ")}], keel's kubelet speaks [${ours.join(", ")}]`));
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${chosen}\r\n\r\n`);
  const spdy = new SpdyServerConnection((b) => { if (!socket.destroyed) socket.write(b); });
  socket.on("data", (d: Buffer) => spdy.receive(d));
  if (head.length) spdy.receive(head);
  const hangUp = () => socket.destroy();
  if (pf) {
    const end = forwardPortsOver(core, decodeURIComponent(pf[1]), decodeURIComponent(pf[2]), spdy, hangUp);
    socket.on("close", end);
    return;
  }
  socket.on("close", () => spdy.close());
  const [verb, ns, pod, container] = [exec![1], ...exec!.slice(2).map(decodeURIComponent)];
  const flags = streamFlags(url.searchParams);
  void SpdyExecSession.accept(spdy, flags, hangUp).then((session) =>
    verb === "exec" ? runExec(core, ns, pod, container, url.searchParams.getAll("command"), flags, session) : runAttach(core, ns, pod, container, flags, session),
  ).catch(hangUp);
}
