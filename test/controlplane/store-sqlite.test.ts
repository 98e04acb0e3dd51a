/** SQLite-specific behaviour: durability across SIGKILL, group commit, sharing one file, reopening. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { CompactedError, InvalidStoreSpecError, openStore, SqliteStore, startCompactor, type WatchEvent } from '../../controlplane/store/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keel-store-sqlite-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('every acknowledged write survives SIGKILL of the writing process', async (t) => {
  const path = join(dir, 'durable.db');
  const child = spawn(process.execPath, [fileURLToPath(new URL('./store-durability-child.js', import.meta.url)), path, '16'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Kill it mid-burst once enough writes were acknowledged.
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.split('\n').length > 1500) resolve();
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
  });
  child.kill('SIGKILL');
  await exited;
  // Whatever reached the pipe before the kill was acknowledged; the last line may be cut.
  const acked = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^(\/durable\/w\d+) (\d+)$/.exec(line);
    if (m) acked.set(m[1]!, Math.max(acked.get(m[1]!) ?? -1, Number(m[2])));
  }
  assert.equal(acked.size, 16);

  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  const store = await openStore(`sqlite:${path}`);
  try {
    for (const [key, value] of acked) {
      const kv = await store.get(key);
      assert.ok(kv, `${key} was acknowledged but is missing`);
      // A write in flight at the kill may have committed without its acknowledgement: >=, not ==.
      assert.ok(Number(kv.value) >= value, `${key}: acknowledged ${value}, found ${kv.value}`);
    }
    // Nothing half-written: the log has no gap and ends at the current revision.
    const current = await store.currentRevision();
    const events: WatchEvent[] = [];
    const w = await store.watch('', 1, (ev) => events.push(ev));
    await new Promise((r) => setTimeout(r, 50));
    await w.cancel();
    assert.equal(events.length, current - 1);
    events.forEach((ev, i) => assert.equal(ev.modRevision, i + 2));
  } finally {
    await store.close();
  }
});

test('concurrent writers in one tick share one transaction', async () => {
  const store = new SqliteStore(join(dir, 'group.db'));
  try {
    const before = store.stats;
    const results = await Promise.allSettled([
      ...Array.from({ length: 64 }, (_, i) => store.create(`/g/${i}`, 'x')),
      store.create('/g/0', 'dup'), // refused inside the batch without spoiling it
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 64);
    assert.equal(store.stats.commits - before.commits, 1);
    const revs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.modRevision] : []));
    assert.deepEqual(revs, Array.from({ length: 64 }, (_, i) => revs[0]! + i), 'revisions follow call order');
  } finally {
    await store.close();
  }
});

test('a burst larger than one transaction is split, and close() waits for all of it', async () => {
  const store = new SqliteStore(join(dir, 'burst.db'));
  const writes = Array.from({ length: 2500 }, (_, i) => store.create(`/burst/${i}`, 'x'));
  await store.close(); // before any write was flushed
  const results = await Promise.allSettled(writes);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2500);
  assert.equal(store.stats.commits, 3);
  const again = new SqliteStore(join(dir, 'burst.db'));
  try {
    assert.equal((await again.list('/burst/')).items.length, 2500);
  } finally {
    await again.close();
  }
});

test('two stores on one file: conflicts collide and watches see the other writer', async () => {
  const path = join(dir, 'shared.db');
  const a = new SqliteStore(path, { pollIntervalMs: 20 });
  const b = new SqliteStore(path, { pollIntervalMs: 20 });
  try {
    const from = await b.currentRevision();
    const events: WatchEvent[] = [];
    const w = await b.watch('/s/', from, (ev) => events.push(ev));
    const k = await a.create('/s/k', '1');
    const fromB = await b.update('/s/k', '2', k.modRevision);
    await assert.rejects(a.update('/s/k', '3', k.modRevision), /expected modRevision/);
    await a.update('/s/k', '3', fromB.modRevision);
    await b.create('/s/j', 'j');
    const deadline = Date.now() + 10_000;
    while (events.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await w.cancel();
    assert.deepEqual(events.map((e) => [e.key, e.value, e.modRevision]), [
      ['/s/k', '1', from + 1],
      ['/s/k', '2', from + 2],
      ['/s/k', '3', from + 3],
      ['/s/j', 'j', from + 4],
    ]);
  } finally {
    await a.close();
    await b.close();
  }
});

test('reopening keeps data, revisions and the compaction point', async () => {
  const path = join(dir, 'reopen.db');
  let s = await openStore(`sqlite:${path}`);
  const a = await s.create('/r/a', '1');
  await s.update('/r/a', '2', a.modRevision);
  await s.compact(a.modRevision + 1);
  await s.close();
  s = await openStore(`sqlite:${path}`);
  try {
    assert.equal(await s.currentRevision(), a.modRevision + 1);
    assert.equal((await s.get('/r/a'))?.value, '2');
    await assert.rejects(s.get('/r/a', { revision: a.modRevision }), /compacted/);
    assert.equal((await s.create('/r/b', 'b')).modRevision, a.modRevision + 2);
  } finally {
    await s.close();
  }
});

test('a new database file is private to its owner', async () => {
  const path = join(dir, 'private.db');
  const s = await openStore(`sqlite:${path}`);
  try {
    await s.create('/secret', 's');
    for (const f of [path, `${path}-wal`]) assert.equal((await stat(f)).mode & 0o777, 0o600, f);
  } finally {
    await s.close();
  }
});

test('the compactor keeps one interval and a minimum of history', async () => {
  const store = await openStore(`sqlite:${join(dir, 'compactor.db')}`);
  const compactor = startCompactor(store, { intervalMs: 3_600_000, minRetainedRevisions: 5 });
  try {
    let kv = await store.create('/cmp/k', '0');
    for (let i = 1; i < 20; i++) kv = await store.update(kv.key, String(i), kv.modRevision);
    const firstTick = await store.currentRevision();
    assert.equal(await compactor.runOnce(), null, 'the first round only records where it is');
    for (let i = 20; i < 23; i++) kv = await store.update(kv.key, String(i), kv.modRevision);
    // Up to the previous tick, but keeping 5 revisions: min(firstTick, current - 5).
    const current = await store.currentRevision();
    assert.equal(await compactor.runOnce(), Math.min(firstTick, current - 5));
    await assert.rejects(store.get(kv.key, { revision: 3 }), CompactedError);
    assert.equal((await store.get(kv.key))?.value, '22');
    assert.equal(await compactor.runOnce(), null, 'nothing new to compact');
  } finally {
    compactor.stop();
    await store.close();
  }
});

test('openStore rejects malformed specs with the expected forms', async () => {
  for (const spec of ['', 'mysql:x', 'sqlite:', 'etcd:', 'etcd:not a url', 'etcd:ftp://x']) {
    await assert.rejects(openStore(spec), (e: unknown) => e instanceof InvalidStoreSpecError && /sqlite:\/path/.test(e.message), spec);
  }
});

test('a watch whose undelivered history another process compacted ends with CompactedError', async () => {
  const path = join(dir, 'compacted-under.db');
  const a = new SqliteStore(path, { pollIntervalMs: 0 }); // no poller: A only looks when it writes
  const b = new SqliteStore(path, { pollIntervalMs: 0 });
  try {
    const events: WatchEvent[] = [];
    const errors: Error[] = [];
    await a.watch('/c/', await a.currentRevision(), (ev) => events.push(ev), (err) => errors.push(err));
    let kv = await b.create('/c/k', '0');
    for (let i = 1; i < 5; i++) kv = await b.update(kv.key, String(i), kv.modRevision);
    await b.compact(kv.modRevision);
    await a.create('/c/mine', 'x'); // A's commit finds rows it has not seen, and their history gone
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as { code?: string }).code, 'COMPACTED');
    assert.deepEqual(events, []);
  } finally {
    await a.close();
    await b.close();
  }
});
