// `keel dashboard`: the live view of a cluster, served on loopback. Informers (list + watch
// through the API server) keep nodes, pods and workloads in memory; every change (coalesced over
// 100 ms) sends the whole view to each open page as a server-sent event.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Node, Pod } from "../api/index.js";
import { parseListen } from "../controlplane/apiserver/index.js";
import { Informer, KubeClient, R, type Resource } from "../controlplane/kit/index.js";
import { PAGE } from "./page.js";
import { clusterView, type ClusterView } from "./view.js";

export interface DashboardOptions {
  kubeconfig: string;
  /** HOST:PORT; loopback only (default 127.0.0.1:8080; port 0 picks one). */
  listen?: string;
  log?: (m: string) => void;
}

export interface RunningDashboard { url: string; close(): Promise<void> }

export class DashboardListenError extends Error {
  override name = "DashboardListenError";
  constructor(readonly listen: string) {
    super(`--listen ${listen}: the dashboard serves on loopback only (e.g. 127.0.0.1:8080): it shows the whole cluster to whoever connects`);
  }
}

const WORKLOADS: [string, Resource][] = [["Deployment", R.deployments], ["StatefulSet", R.statefulsets], ["DaemonSet", R.daemonsets], ["Job", R.jobs]];

export async function startDashboard(o: DashboardOptions): Promise<RunningDashboard> {
  const listen = o.listen ?? "127.0.0.1:8080";
  const { host, port } = parseListen(listen);
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== "::1" && host !== "localhost") throw new DashboardListenError(listen);
  const log = o.log ?? (() => {});
  const client = new KubeClient(o.kubeconfig, "keel-dashboard");
  const nodes = new Informer<Node>(client, R.nodes, { log });
  const pods = new Informer<Pod>(client, R.pods, { log });
  const workloads = WORKLOADS.map(([kind, r]) => ({ kind, informer: new Informer(client, r, { log }) }));
  const view = (): ClusterView => clusterView(nodes.list(), pods.list(), workloads.map((w) => ({ kind: w.kind, items: w.informer.list() as never[] })));
  const clients = new Set<ServerResponse>();
  const send = (res: ServerResponse, v: ClusterView) => res.write(`event: snapshot\ndata: ${JSON.stringify(v)}\n\n`);
  let pending: NodeJS.Timeout | undefined;
  const changed = () => {
    pending ??= setTimeout(() => { pending = undefined; const v = view(); for (const c of clients) send(c, v); }, 100);
  };
  const all: Informer[] = [nodes as unknown as Informer, pods as unknown as Informer, ...workloads.map((w) => w.informer)];
  for (const inf of all) inf.addEventHandler({ add: changed, update: changed, delete: changed });
  await Promise.all(all.map((i) => i.start()));
  // Keeps proxies and browsers from dropping an idle stream.
  const ping = setInterval(() => { for (const c of clients) c.write(": ping\n\n"); }, 15_000);

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://dashboard").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(PAGE);
    } else if (path === "/api/view") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(view()));
    } else if (path === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      clients.add(res);
      req.once("close", () => clients.delete(res));
      send(res, view());
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: / (the page), /events (server-sent events), /api/view (JSON)\n");
    }
  });
  await new Promise<void>((res, rej) => server.once("error", rej).listen(port, host, () => res()));
  const a = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${a.port}/`;
  log(`keel dashboard: ${url}`);
  return {
    url,
    async close() {
      clearInterval(ping);
      clearTimeout(pending);
      for (const c of clients) c.end();
      for (const i of all) i.stop();
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
      client.close();
    },
  };
}
