// GET /containerLogs/NS/POD/CONTAINER: a container's log from the CRI file its supervisor
// writes, with the kubelet's query parameters: follow, previous, tailLines, sinceSeconds,
// sinceTime, timestamps, limitBytes. Following polls the file for growth (it may be truncated by
// copytruncate rotation) and ends once the container is no longer the one running.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { ServerResponse } from "node:http";
import type { KubeletCore } from "../kubelet.js";
import { restartCount } from "../pod-state.js";
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

export interface CriEntry { time: string; stream: string; text: string }

/**
 * Splits CRI log text ("<time> <stream> <F|P> <text>\n") into whole entries, joining partial
 * ("P") pieces; keeps an unfinished last line for the next chunk.
 */
export class CriLogParser {
  private rest = "";
  private partial = new Map<string, string>();

  push(chunk: string): CriEntry[] {
    const text = this.rest + chunk;
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    const out: CriEntry[] = [];
    for (const raw of lines) {
      const a = raw.indexOf(" "), b = raw.indexOf(" ", a + 1), c = raw.indexOf(" ", b + 1);
      if (a < 0 || b < 0 || c < 0) continue;
      const stream = raw.slice(a + 1, b);
      const piece = (this.partial.get(stream) ?? "") + raw.slice(c + 1);
      if (raw.slice(b + 1, c) === "P") { this.partial.set(stream, piece); continue; }
      this.partial.delete(stream);
      out.push({ time: raw.slice(0, a), stream, text: piece });
    }
    return out;
  }
}

/** Reads what the file has beyond `offset`; a file now shorter than offset was rotated: from 0. */
function readFrom(file: string, offset: number): { text: string; offset: number } {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return { text: "", offset };
  }
  try {
    const size = statSync(file).size;
    if (size < offset) offset = 0;
    if (size === offset) return { text: "", offset };
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    // Stop at the last newline: the supervisor may be halfway through a line.
    const end = buf.lastIndexOf(0x0a, n - 1) + 1;
    return { text: buf.subarray(0, end).toString("utf8"), offset: offset + end };
  } finally {
    closeSync(fd);
  }
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
  let { text, offset } = readFrom(file, 0);
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
      const r = readFrom(file, offset);
      offset = r.offset;
      if (r.text && !write(parser.push(r.text))) return finish();
      const live = core.workers.get(worker.uid)?.record.containers[container];
      // Over when the pod is gone, or the container is no longer running as this instance.
      if (!live || restartCount(live) !== restart || live.state !== "running") {
        const last = readFrom(file, offset);
        if (last.text) write(parser.push(last.text));
        finish();
      }
    }, 200);
  });
}
