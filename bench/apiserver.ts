// bench apiserver: the API server over HTTPS, run as its own process (so its RSS is its own):
// pod creates per second with p50/p99 at 1, 16 and 64 concurrent clients; a list of 10,000
// pods; watch delivery latency to 100 watchers; the server's RSS with 10,000 pods stored.
// For the SQLite backend and a real etcd (started here on loopback) when etcd is installed.
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { etcdMissing, startEtcd } from "../test/controlplane/etcd-fixture.js";
import { summarize } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";

const here = dirname(fileURLToPath(import.meta.url));

interface Server { url: string; token: string; ca: string; child: ChildProcess; dir: string }

async function startServer(store: string | undefined): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-apiserver-"));
  // KEEL_BENCH_SERVER_DIST: another build's dist/ (a before/after comparison in the same conditions).
  const distRoot = process.env.KEEL_BENCH_SERVER_DIST ?? join(here, "..");
  const mod = pathToFileURL(join(distRoot, "controlplane", "apiserver", "index.js")).href;
  const code = `import { startApiServer } from ${JSON.stringify(mod)};
const s = await startApiServer({ dataDir: ${JSON.stringify(join(dir, "data"))}, listen: "127.0.0.1:0"${store ? `, store: ${JSON.stringify(store)}` : ""} });
process.stdout.write(JSON.stringify({ url: s.url }) + "\\n");
process.on("SIGTERM", async () => { await s.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (c) => { buf += c; const i = buf.indexOf("\n"); if (i >= 0) resolve(JSON.parse(buf.slice(0, i)).url); });
    child.once("exit", (c) => reject(new Error(`apiserver exited with ${c}`)));
  });
  return { url, child, dir, token: readFileSync(join(dir, "data", "pki", "admin.token"), "utf8").trim(), ca: readFileSync(join(dir, "data", "pki", "ca.crt"), "utf8") };
}

async function stopServer(s: Server): Promise<void> {
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (s.child.exitCode === null) s.child.kill("SIGKILL");
  rmSync(s.dir, { recursive: true, force: true });
}

/** CPU time the server process has used (user + system), in ms: a figure that other load on a shared machine disturbs less than throughput. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

function call(s: Server, agent: Agent, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, s.url), {
      method, agent, ca: s.ca,
      headers: { Authorization: `Bearer ${s.token}`, ...(payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

const pod = (name: string) => ({
  apiVersion: "v1", kind: "Pod", metadata: { name, labels: { app: "bench" } },
  spec: { containers: [{ name: "c", image: "busybox:1.36", command: ["sleep", "3600"], resources: { requests: { cpu: "10m", memory: "16Mi" } } }] },
});

async function createPods(s: Server, concurrency: number, opts: { seconds?: number; count?: number; ns: string; prefix: string }) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let next = 0;
  const stopAt = opts.seconds ? performance.now() + opts.seconds * 1000 : Infinity;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) {
      const i = next++;
      if (performance.now() >= stopAt || (opts.count !== undefined && i >= opts.count)) return;
      const st = performance.now();
      const r = await call(s, agent, "POST", `/api/v1/namespaces/${opts.ns}/pods`, pod(`${opts.prefix}-${i}`));
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.text}`);
      latencies.push(performance.now() - st);
    }
  }));
  agent.destroy();
  const elapsed = (performance.now() - t0) / 1000;
  const sum = summarize(latencies);
  return { creates: latencies.length, per_s: Math.round(latencies.length / elapsed), p50_ms: sum.p50_ms, p99_ms: sum.p99_ms };
}

async function watchLatency(s: Server, watchers: number, events: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: watchers + 4 });
  const ns = "default";
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const listRv = JSON.parse((await call(s, agent, "GET", `/api/v1/namespaces/${ns}/configmaps?limit=1`)).text).metadata.resourceVersion;
  let expected = watchers * events;
  let doneResolve!: () => void;
  const done = new Promise<void>((r) => { doneResolve = r; });
  const reqs = Array.from({ length: watchers }, () => new Promise<void>((ready) => {
    const req = request(new URL(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${listRv}&labelSelector=bench%3Dwatch`, s.url),
      { agent, ca: s.ca, headers: { Authorization: `Bearer ${s.token}` } }, (res) => {
        ready();
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            const ev = JSON.parse(buf.slice(0, i));
            buf = buf.slice(i + 1);
            const t = sent.get(ev.object?.metadata?.name);
            if (ev.type === "ADDED" && t !== undefined) { lat.push(performance.now() - t); if (--expected === 0) doneResolve(); }
          }
        });
      });
    req.on("error", () => undefined);
    req.end();
    return req;
  }));
  await Promise.all(reqs);
  await new Promise((r) => setTimeout(r, 300));
  const writer = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < events; i++) {
    const name = `watch-${i}`;
    sent.set(name, performance.now());
    await call(s, writer, "POST", `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels: { bench: "watch" } }, data: { i: String(i) } });
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 30_000))]);
  agent.destroy();
  writer.destroy();
  const sum = summarize(lat);
  return { deliveries: lat.length, p50_ms: sum.p50_ms, p99_ms: sum.p99_ms };
}

async function runBackend(label: string, store: string | undefined, quick: boolean): Promise<Row[]> {
  const s = await startServer(store);
  const rows: Row[] = [];
  try {
    const seconds = quick ? 2 : 5;
    for (const c of [1, 16, 64]) {
      const cpu0 = cpuMs(s.child.pid!);
      const r = await createPods(s, c, { seconds, ns: "default", prefix: `c${c}` });
      const srv_cpu_ms = Math.round(((cpuMs(s.child.pid!) - cpu0) / r.creates) * 1000) / 1000;
      rows.push({ subject: `${label}: pod creates, ${c} clients`, ...r, srv_cpu_ms, items: null, rss_mib: null });
    }
    // Exactly N pods in their own namespace, then time a list of all of them.
    const target = quick ? 2000 : 10_000;
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    await call(s, agent, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "listbench" } });
    await createPods(s, 64, { count: target, ns: "listbench", prefix: "fill" });
    const listTimes: number[] = [];
    let items = 0;
    for (let i = 0; i < 3; i++) {
      const st = performance.now();
      const r = await call(s, agent, "GET", "/api/v1/namespaces/listbench/pods");
      listTimes.push(performance.now() - st);
      const parsed = JSON.parse(r.text);
      if (!Array.isArray(parsed.items)) throw new Error(`list failed: ${r.status} ${r.text.slice(0, 300)}`);
      items = parsed.items.length;
    }
    agent.destroy();
    rows.push({ subject: `${label}: list all pods`, creates: null, per_s: null, p50_ms: summarize(listTimes).p50_ms, p99_ms: null, srv_cpu_ms: null, items, rss_mib: rssMiB(s.child.pid!) });
    const w = await watchLatency(s, quick ? 20 : 100, quick ? 10 : 50);
    rows.push({ subject: `${label}: watch delivery, ${quick ? 20 : 100} watchers (deliveries in 'items')`, creates: null, per_s: null, p50_ms: w.p50_ms, p99_ms: w.p99_ms, srv_cpu_ms: null, items: w.deliveries, rss_mib: null });
  } finally {
    await stopServer(s);
  }
  return rows;
}

export async function main({ quick, argv }: { quick: boolean; argv: string[] }): Promise<void> {
  const rows: Row[] = [...(await runBackend("sqlite", undefined, quick))];
  const notes: string[] = [
    "Each create is one HTTPS POST (keep-alive, bearer token) that the server answers only after the store made it durable.",
    "srv_cpu_ms: the server process's CPU time per create (user + system); on a shared machine it varies less than creates/s.",
    "Anchors: Kubernetes SLO for a mutating call p99 <= 1 s; k3s server (kine on SQLite) about 1.6 GB with a workload. etcd's own put floor is in bench/results/store.md.",
  ];
  const missing = argv.includes("--sqlite-only") ? "--sqlite-only given" : etcdMissing();
  if (missing) notes.push(`etcd skipped: ${missing}`);
  else {
    const etcd = await startEtcd();
    try { rows.push(...(await runBackend("etcd", etcd.spec, quick))); } finally { await etcd.stop(); }
  }
  const ratios: Record<string, number> = {};
  const c64 = rows.find((r) => r.subject === "sqlite: pod creates, 64 clients");
  const c1 = rows.find((r) => r.subject === "sqlite: pod creates, 1 clients");
  if (c64 && c1) ratios["sqlite creates/s 64 clients / 1 client"] = Math.round((Number(c64.per_s) / Number(c1.per_s)) * 100) / 100;
  const out = writeReport({
    name: "apiserver", title: "keel API server: pod creates, list, watch delivery, memory",
    params: { quick, transport: "HTTPS + bearer token, server in its own process", storedPods: quick ? 2000 : 10_000 },
    rows, ratios, chart: { figure: "per_s", unit: "creates/s" }, notes,
  });
  console.log(readFileSync(out.md, "utf8"));
}
