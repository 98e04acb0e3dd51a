// cluster-up: `keel cluster up --nodes 3` (in-process clusterUp, as the CLI runs it) from nothing
// to every node Ready with its pod network, then to a 10-replica Deployment all Running (seen by
// listing pods through the API server), then `down` (close: pods stopped, namespaces removed).
// p50 over a few runs. kind and k3s are measured side by side when installed (they are not on
// the machines this was written on: the report says so); the anchor is kind's 30-60 s.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "../api/index.js";
import { clusterUp } from "../cluster/index.js";
import { KubeClient, R } from "../controlplane/kit/index.js";
import { summarize } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";

const NODES = 3;
const REPLICAS = 10;

const which = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`], { encoding: "utf8" }).stdout.trim() || undefined;

async function oneRun(i: number): Promise<{ upMs: number; podsMs: number; downMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-cluster-up-"));
  const t0 = performance.now();
  const cluster = await clusterUp({ dataDir: dir, nodes: NODES, listen: "127.0.0.1:0", name: `b${process.pid % 10000}r${i}`, stopGraceSec: 0 });
  const upMs = performance.now() - t0;
  const client = new KubeClient(cluster.kubeconfigPath, "keel-bench");
  let podsMs: number;
  try {
    const t1 = performance.now();
    await client.create(R.deployments, "default", {
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "bench", namespace: "default" },
      spec: {
        replicas: REPLICAS, selector: { matchLabels: { app: "bench" } },
        template: { metadata: { labels: { app: "bench" } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] } },
      },
    } as never);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const pods = (await client.list<Pod>(R.pods, "default", { labelSelector: "app=bench" })).items;
      if (pods.length === REPLICAS && pods.every((p) => p.status?.phase === "Running")) break;
      if (Date.now() > deadline) throw new Error(`run ${i}: ${REPLICAS} pods not Running after 120 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    podsMs = performance.now() - t1;
  } catch (e) {
    await cluster.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    client.close();
  }
  const t2 = performance.now();
  try {
    await cluster.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { upMs, podsMs, downMs: performance.now() - t2 };
}

export async function main({ quick }: { quick: boolean; argv: string[] }): Promise<void> {
  reexecInPrivateMountNs({ hideCgroup2: false });
  const runs = quick ? 2 : 5;
  const up: number[] = [], pods: number[] = [], down: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await oneRun(i);
    up.push(r.upMs); pods.push(r.podsMs); down.push(r.downMs);
    console.log(`run ${i + 1}/${runs}: up ${(r.upMs / 1000).toFixed(2)} s, ${REPLICAS} pods Running ${(r.podsMs / 1000).toFixed(2)} s, down ${(r.downMs / 1000).toFixed(2)} s`);
  }
  const su = summarize(up), sp = summarize(pods), sd = summarize(down);
  const rows: Row[] = [
    { subject: "keel cluster up (3 nodes Ready)", p50_ms: su.p50_ms, min_ms: su.min_ms, max_ms: su.max_ms, n: su.n },
    { subject: `keel: Deployment of ${REPLICAS} → all Running`, p50_ms: sp.p50_ms, min_ms: sp.min_ms, max_ms: sp.max_ms, n: sp.n },
    { subject: "keel: up + pods Running", p50_ms: summarize(up.map((u, i) => u + pods[i]!)).p50_ms, n: runs },
    { subject: "keel cluster down", p50_ms: sd.p50_ms, min_ms: sd.min_ms, max_ms: sd.max_ms, n: sd.n },
  ];
  const notes = [
    "keel: API server (SQLite), controller-manager, scheduler, cluster DNS and 3 kubelets in one process; each node a network namespace with the VXLAN overlay and Service proxy; busybox already in the image store.",
  ];
  for (const tool of ["kind", "k3s"]) {
    const path = which(tool);
    // Neither can be installed on these machines (no Docker for kind, no internet for k3s's
    // binary); should one be present, it is only reported, not driven, to keep this host untouched.
    rows.push({ subject: `${tool} (3 nodes)`, p50_ms: null, n: 0, note: path ? `installed at ${path}: not driven by this benchmark` : "not installed on this machine" });
    if (!path) notes.push(`${tool} is not installed on this machine (and cannot be: ${tool === "kind" ? "no Docker" : "no internet for its binary"}): no side-by-side figure.${tool === "kind" ? " The issue's anchor: kind takes about 30-60 s." : ""}`);
  }
  const out = writeReport({
    name: "cluster-up", title: `keel cluster up --nodes ${NODES}: to Ready, and to a ${REPLICAS}-pod Deployment Running`,
    params: { nodes: NODES, replicas: REPLICAS, runs, quick },
    rows, ratios: { "up_p50_ms / 3000 ms target": su.p50_ms / 3000 },
    chart: { figure: "p50_ms", unit: "ms" }, notes,
  });
  console.log(`cluster up p50 ${(su.p50_ms / 1000).toFixed(2)} s; ${REPLICAS} pods Running p50 ${(sp.p50_ms / 1000).toFixed(2)} s; down p50 ${(sd.p50_ms / 1000).toFixed(2)} s → ${out.md}`);
}
