// Port-forward (portforward.k8s.io): kubectl 1.32 tunnels SPDY/3.1 through a WebSocket
// (subprotocol "SPDY/3.1+portforward.k8s.io", the bytes in binary messages). For each local
// connection it opens two streams with the same requestID: "error" (the server writes a message
// there if forwarding fails) and "data" (the connection's bytes). The data stream is joined to
// PORT on 127.0.0.1 inside the pod's network namespace, on a socket made there (podSocket, as
// tcpSocket probes connect); a host-network pod is dialled directly.
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { podSocket } from "../pod-socket.js";
import type { WebSocket } from "ws";
import type { KubeletCore } from "../kubelet.js";
import { SpdyServerConnection, type SpdyStream } from "./spdy.js";
import { findPod, podNetns } from "./target.js";

export const PORT_FORWARD_PROTOCOLS = ["SPDY/3.1+portforward.k8s.io"];

interface Pair { error?: SpdyStream; data?: SpdyStream }

/** A connection to the port inside the pod (podSocket: made in its namespace); fails with the dial error's text. */
function dialInPod(netns: string | undefined, port: number, onError: (msg: string) => void): Duplex {
  let s: Socket;
  try {
    s = podSocket(netns, "127.0.0.1");
  } catch (e) {
    s = new Socket();
    queueMicrotask(() => { onError(`dial tcp 127.0.0.1:${port}: ${(e as Error).message}`); s.destroy(); });
    return s;
  }
  s.on("error", (e) => onError(`dial tcp 127.0.0.1:${port}: ${e.message}`));
  s.connect(port, "127.0.0.1");
  return s;
}

function forward(w: { podName: string; uid: string }, netns: string | undefined, pair: Required<Pair>): Duplex | undefined {
  const port = Number(pair.data.headers.port);
  const fail = (msg: string) => {
    if (!pair.error.writableEnded) pair.error.end(`error forwarding port ${port} to pod ${w.podName}, uid ${w.uid}: ${msg}`);
  };
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`invalid port ${JSON.stringify(pair.data.headers.port)}`);
    pair.data.end();
    return undefined;
  }
  const target = dialInPod(netns, port, fail);
  pair.data.pipe(target);
  target.pipe(pair.data);
  // The client reads the error stream to its end after each connection: end it when done.
  target.on("close", () => {
    if (!pair.error.writableEnded) pair.error.end();
    if (!pair.data.writableEnded) pair.data.end();
  });
  pair.data.on("error", () => target.destroy());
  return target;
}

/**
 * Serves port-forward requests arriving as SPDY streams; `fail` ends the transport on a protocol
 * error. Returns what ends every forwarded connection (call it when the transport closes).
 */
export function forwardPortsOver(core: KubeletCore, ns: string, pod: string, spdy: SpdyServerConnection, fail: () => void): () => void {
  const w = findPod(core, ns, pod);
  let netns: string | undefined;
  try { netns = podNetns(w); } catch { netns = undefined; }
  const pairs = new Map<string, Pair>();
  // Connections into the pod end with the session (kubectl stopped, or the kubelet closing).
  const targets = new Set<Duplex>();
  spdy.on("error", fail);
  spdy.on("stream", (s) => {
    const id = s.headers.requestid ?? "";
    const pair = pairs.get(id) ?? {};
    if (s.headers.streamtype === "error") pair.error = s;
    else if (s.headers.streamtype === "data") pair.data = s;
    else { s.destroy(); return; }
    s.on("error", () => {});
    pairs.set(id, pair);
    if (pair.error && pair.data) {
      pairs.delete(id);
      pair.error.resume(); // the client sends nothing there
      const target = forward({ podName: `${ns}/${pod}`, uid: w.uid }, netns, pair as Required<Pair>);
      if (target) { targets.add(target); target.on("close", () => targets.delete(target)); }
    }
  });
  return () => { spdy.close(); for (const t of targets) t.destroy(); };
}

/** Port-forward over a WebSocket that tunnels SPDY (kubectl 1.31+). */
export function servePortForward(core: KubeletCore, ns: string, pod: string, ws: WebSocket): void {
  const spdy = new SpdyServerConnection((b) => { if (ws.readyState === ws.OPEN) ws.send(b, { binary: true }); });
  const endAll = forwardPortsOver(core, ns, pod, spdy, () => ws.close(1011));
  ws.on("message", (d: Buffer) => spdy.receive(d));
  ws.on("close", endAll);
  ws.on("error", endAll);
}
