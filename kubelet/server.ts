// A local HTTP endpoint like the kubelet's read-only port: /healthz, /pods (a PodList with the
// current status), /metrics (Prometheus text), /stats/summary (cpu and memory per pod and
// container from cgroups), and the streaming endpoints the API server proxies to (streaming/):
// /containerLogs, /exec, /attach, /portForward.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubeletCore } from "./kubelet.js";
import type { KubeletMetrics } from "./metrics.js";
import { restartCount } from "./pod-state.js";
import { attachStreaming, handleStreamingRequest } from "./streaming/index.js";

export interface KubeletServer {
  url: string;
  close(): Promise<void>;
}

export async function startKubeletServer(core: KubeletCore, metrics: KubeletMetrics, listen: string): Promise<KubeletServer> {
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen ${listen}: expected HOST:PORT`);
  const server: Server = createServer((req, res) => {
    const send = (code: number, body: string, type = "application/json") => { res.writeHead(code, { "Content-Type": type }); res.end(body); };
    const url = new URL(req.url ?? "/", "http://x");
    void (async () => {
      if (url.pathname === "/healthz") return send(200, "ok", "text/plain");
      if (url.pathname === "/pods") {
        const items = [...core.workers.values()].map((w) => ({ ...w.pod, apiVersion: "v1", kind: "Pod", status: w.currentStatus ?? {} }));
        return send(200, JSON.stringify({ apiVersion: "v1", kind: "PodList", metadata: {}, items }));
      }
      if (url.pathname === "/metrics") return send(200, await metrics.render(), metrics.contentType);
      if (url.pathname === "/stats/summary") {
        const pods = [];
        for (const w of core.workers.values()) {
          const containers = [];
          for (const c of Object.values(w.record.containers)) {
            if (c.state !== "running" || !c.runtimeId) continue;
            const st = await core.runtime.stats(c.runtimeId).catch(() => undefined);
            containers.push({ name: c.name, startTime: c.startedAt, restartCount: restartCount(c), cpu: st ? { usageCoreNanoSeconds: st.cpu.usageNs } : undefined, memory: st ? { usageBytes: st.memory.current, workingSetBytes: st.memory.current } : undefined });
          }
          pods.push({ podRef: { name: w.pod.metadata.name, namespace: w.pod.metadata.namespace, uid: w.uid }, startTime: w.record.startTime, containers });
        }
        return send(200, JSON.stringify({ node: { nodeName: core.nodeName }, pods }));
      }
      if (handleStreamingRequest(core, req, res, url)) return;
      send(404, JSON.stringify({ kind: "Status", status: "Failure", reason: "NotFound", code: 404, message: `${url.pathname} not found` }));
    })().catch((e) => send(500, JSON.stringify({ kind: "Status", status: "Failure", message: (e as Error).message, code: 500 })));
  });
  const endSessions = attachStreaming(server, core);
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(Number(m[2]), m[1] || "127.0.0.1", () => resolve()); });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise((r) => { endSessions(); server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
