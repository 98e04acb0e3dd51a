// GET /containerLogs/NS/POD/CONTAINER: a container's log from the CRI file its supervisor
// writes, with the kubelet's query parameters: follow, previous, tailLines, sinceSeconds,
// sinceTime, timestamps, limitBytes. Following polls the file for growth (it may be truncated by
// copytruncate rotation) and ends once the container is no longer the one running.
import type { ServerResponse } from "node:http";
import type { KubeletCore } from "../kubelet.js";
import { restartCount } from "../pod-state.js";
import { CriLogParser, readCriLogFrom, type CriEntry } from "../../runtime/cri-log.js";
import { findContainer, StreamingError } from "./target.js";

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  timestamps: boolean;
  limitBytes?: number;
}

function intParam(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw new StreamingError(400, "BadRequest", `${name}: must be an integer of at least ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

const flag = (q: URLSearchParams, name: string) => q.get(name) === "true" || q.get(name) === "1";

export function parseLogOptions(q: URLSearchParams): LogOptions {
  const sinceTime = q.get("sinceTime") ?? undefined;
  if (sinceTime !== undefined && Number.isNaN(Date.parse(sinceTime))) throw new StreamingError(400, "BadRequest", `sinceTime: not an RFC 3339 time: ${JSON.stringify(sinceTime)}`);
  return {
    follow: flag(q, "follow"), previous: flag(q, "previous"), timestamps: flag(q, "timestamps"),
    tailLines: intParam(q, "tailLines", 0), sinceSeconds: intParam(q, "sinceSeconds", 1), sinceTime, limitBytes: intParam(q, "limitBytes", 1),
  };
}

/** Serves one container's log; resolves when the response is complete. */
export async function serveContainerLogs(core: KubeletCore, ns: string, podName: string, container: string, o: LogOptions, res: ServerResponse): Promise<void> {
  const { worker, record } = findContainer(core, ns, podName, container);
  const current = restartCount(record);
  let restart = current;
  if (o.previous) {
    // Each instance's log is kept as <restart>.log until the pod goes: the previous is one less.
    if (current === 0) throw new StreamingError(400, "BadRequest", `previous terminated container "${container}" in pod "${podName}" not found`);
    restart = current - 1;
  }
  const file = core.paths.containerLog(worker.pod, container, restart);
  const since = o.sinceTime ? Date.parse(o.sinceTime) : o.sinceSeconds ? Date.now() - o.sinceSeconds * 1000 : undefined;
  const parser = new CriLogParser();
  let budget = o.limitBytes ?? Infinity;
  const format = (e: CriEntry) => (o.timestamps ? `${e.time} ${e.text}\n` : `${e.text}\n`);
  const keep = (e: CriEntry) => since === undefined || Date.parse(e.time) >= since;
  /** Writes entries within the byte limit; false once the limit is reached. */
  const write = (entries: CriEntry[]): boolean => {
    for (const e of entries) {
      if (!keep(e)) continue;
      let s = format(e);
      if (Buffer.byteLength(s) > budget) s = Buffer.from(s).subarray(0, budget).toString("utf8");
      budget -= Buffer.byteLength(s);
      res.write(s);
      if (budget <= 0) return false;
    }
    return true;
  };
  res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" });
  let { text, offset } = readCriLogFrom(file, 0);
  let entries = parser.push(text);
  if (o.tailLines !== undefined) entries = o.tailLines === 0 ? [] : entries.slice(-o.tailLines);
  if (!write(entries) || !o.follow || o.previous) { res.end(); return; }
  res.flushHeaders();
  // Follow: poll for growth until the client goes or this container instance is over.
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => { if (done) return; done = true; clearInterval(timer); res.end(); resolve(); };
    res.on("close", finish);
    const timer = setInterval(() => {
      const r = readCriLogFrom(file, offset);
      offset = r.offset;
      if (r.text && !write(parser.push(r.text))) return finish();
      const live = core.workers.get(worker.uid)?.record.containers[container];
      // Over when the pod is gone, or the container is no longer running as this instance.
      if (!live || restartCount(live) !== restart || live.state !== "running") {
        const last = readCriLogFrom(file, offset);
        if (last.text) write(parser.push(last.text));
        finish();
      }
    }, 200);
  });
}
