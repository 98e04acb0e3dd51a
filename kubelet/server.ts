// A local HTTP endpoint like the kubelet's read-only port: /healthz, /pods (a PodList with the
// current status), /metrics (Prometheus text), /stats/summary (cpu and memory per pod and
// container from cgroups) and /containerLogs/<ns>/<pod>/<container> (the current log as text).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readCriLog } from "../runtime/supervised.js";
import type { KubeletCore } from "./kubelet.js";
import type { KubeletMetrics } from "./metrics.js";
import { restartCount } from "./pod-state.js";

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
      if (url.pathname === "/metrics") return send(200, metrics.render(core), "text/plain; version=0.0.4");
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
      const logs = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (logs) {
        const w = [...core.workers.values()].find((x) => x.pod.metadata.namespace === logs[1] && x.pod.metadata.name === logs[2]);
        const c = w?.record.containers[logs[3]];
        if (!w || !c) return send(404, JSON.stringify({ kind: "Status", status: "Failure", reason: "NotFound", message: `container ${logs[3]} of pod ${logs[1]}/${logs[2]} not found`, code: 404 }));
        const tail = url.searchParams.get("tailLines");
        const lines = readCriLog(core.paths.containerLog(w.pod, c.name, restartCount(c)), tail ? { tail: Number(tail) } : {});
        return send(200, lines.map((l) => l.line + "\n").join(""), "text/plain");
      }
      send(404, JSON.stringify({ kind: "Status", status: "Failure", reason: "NotFound", code: 404, message: `${url.pathname} not found` }));
    })().catch((e) => send(500, JSON.stringify({ kind: "Status", status: "Failure", message: (e as Error).message, code: 500 })));
  });
  await new Promise<void>((resolve, reject) => { server.once("error", reject); server.listen(Number(m[2]), m[1] || "127.0.0.1", () => resolve()); });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
