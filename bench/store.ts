// bench store: durable writes per second through keel's store at 1, 16 and 64 concurrent writers,
// for the embedded SQLite backend and a real etcd (started here on loopback), with etcd's own
// floor in the same run: plain puts through the same gRPC client (no compare), and `etcdctl put`.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Etcd3 } from "etcd3";
import { openStore, SqliteStore, type Store } from "../controlplane/store/index.js";
import { etcdMissing, startEtcd } from "../test/controlplane/etcd-fixture.js";
import { summarize } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";

const VALUE = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "x".repeat(40), namespace: "default", labels: { app: "bench" } }, spec: { containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }] }, status: { phase: "Pending" } }).padEnd(600, " ");

/** `concurrency` workers each create keys back to back for `seconds`; returns the rate and latencies. */
async function drive(concurrency: number, seconds: number, write: (key: string) => Promise<unknown>) {
  const latencies: number[] = [];
  const stopAt = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const run = Math.random().toString(36).slice(2, 8);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = 0; performance.now() < stopAt; i++) {
        const s = performance.now();
        await write(`/bench/${run}/${w}/${i}`);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const sum = summarize(latencies);
  return { writes: latencies.length, writes_per_s: Math.round(latencies.length / elapsed), p50_ms: sum.p50_ms, p99_ms: sum.p99_ms };
}

export async function main({ quick }: { quick: boolean; argv: string[] }): Promise<void> {
  const seconds = quick ? 1 : 5;
  const levels = [1, 16, 64];
  const rows: Row[] = [];
  const notes: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), "keel-bench-store-"));
  try {
    for (const c of levels) {
      const store = new SqliteStore(join(dir, `sqlite-${c}.db`));
      const r = await drive(c, seconds, (k) => store.create(k, VALUE));
      const { commits, writes } = store.stats;
      rows.push({ subject: `sqlite, ${c} writers`, ...r, writes_per_fsync: Math.round((writes / commits) * 10) / 10 });
      await store.close();
      console.log(rows.at(-1));
    }

    const missing = etcdMissing();
    if (missing) {
      notes.push(`etcd skipped: ${missing}`);
    } else {
      const etcd = await startEtcd();
      try {
        // Warm up the fresh server (its first writes allocate the backend file) before measuring.
        const warm = await openStore(etcd.spec);
        await drive(16, quick ? 0.5 : 2, (k) => warm.create(k, VALUE));
        await warm.close();
        for (const c of levels) {
          const store: Store = await openStore(etcd.spec);
          rows.push({ subject: `etcd, ${c} writers`, ...(await drive(c, seconds, (k) => store.create(k, VALUE))), writes_per_fsync: null });
          await store.close();
          console.log(rows.at(-1));
        }
        const client = new Etcd3({ hosts: [etcd.url] });
        for (const c of [1, 64]) {
          rows.push({ subject: `etcd raw put (floor), ${c} writers`, ...(await drive(c, seconds, (k) => client.put(k).value(VALUE).exec())), writes_per_fsync: null });
          console.log(rows.at(-1));
        }
        client.close();
        const exec = promisify(execFile);
        rows.push({
          subject: "etcdctl put, 1 process per put",
          ...(await drive(1, seconds, (k) => exec("etcdctl", ["--endpoints", etcd.url, "put", k, "v"], { env: { ...process.env, ETCDCTL_API: "3" } }))),
          writes_per_fsync: null,
        });
        console.log(rows.at(-1));
      } finally {
        await etcd.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const rate = (s: string) => Number(rows.find((r) => r.subject === s)?.writes_per_s ?? NaN);
  const ratios: Record<string, number> = {};
  for (const c of levels) {
    const v = rate(`sqlite, ${c} writers`) / rate(`etcd, ${c} writers`);
    if (Number.isFinite(v)) ratios[`sqlite / etcd writes/s at ${c} writers`] = v;
  }
  const floor = rate("etcd, 64 writers") / rate("etcd raw put (floor), 64 writers");
  if (Number.isFinite(floor)) ratios["keel etcd store / raw etcd put at 64 writers"] = floor;
  notes.push(
    "Every write is a create of a new ~600-byte key and is durable when acknowledged (SQLite: WAL, synchronous=FULL, group commit; etcd: its raft log fsync).",
    "writes_per_fsync: SQLite writes per group-committed transaction.",
    "Figures swing with machine load (other test suites share these 2 cores); compare rows of one run, not runs.",
    "Target from issue 5 (through the HTTP API, so this store figure is an upper bound): >= 5,000 creates/s at 64 clients on SQLite.",
  );
  const out = writeReport({
    name: "store",
    title: "keel store: durable creates per second",
    params: { seconds, levels, value_bytes: VALUE.length, quick },
    rows,
    ratios,
    chart: { figure: "writes_per_s", unit: "writes/s" },
    notes,
  });
  console.log(`wrote ${out.md}`);
}
