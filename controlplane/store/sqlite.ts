/**
 * The embedded store: kine's revision log on one SQLite file (better-sqlite3, WAL).
 *
 * One table `kv` is the whole history: every change appends a row, and the row's AUTOINCREMENT id
 * is the change's revision (so `sqlite_sequence` holds the store's current revision, and ids are
 * never reused even after compaction deletes rows). A row records the key's new state (or a
 * tombstone), its create revision, the id of the key's previous row, and the previous value, which
 * is all a watch event needs. The unique index on (name, prev_revision) makes two writers that
 * both read the same "latest row" collide, as in kine; here writers are also serialized by
 * BEGIN IMMEDIATE, so the index is the backstop when several processes share the file.
 *
 * Group commit: writes are queued and applied once per event-loop turn (setImmediate) in one
 * transaction, so concurrent writers share one WAL fsync. The fsync is not SQLite's own
 * (synchronous=NORMAL: the COMMIT only writes the WAL into the page cache, on the event loop);
 * it is an fsync of the WAL file on libuv's thread pool, so the event loop keeps serving
 * requests, and the next batch commits, while the disk syncs. No write's promise resolves, and
 * no watcher sees its event, before that fsync has returned, i.e. before the change is durable;
 * batches are answered in commit order. (A checkpoint, which may recycle the WAL, syncs the
 * database file first, so a change checkpointed before its fsync is durable there.) A reader in
 * this process may see a committed change a little before its writer is answered.
 *
 * Watch: after each commit the new rows are handed to in-process watchers directly. Other
 * processes writing the same file are picked up by a poller (every `pollIntervalMs` while any
 * watch is open) that reads the rows after the last one dispatched; because SQLite serializes
 * writers, ids appear in commit order and reading "after the last id" never skips a row.
 */
import { chmodSync, closeSync, existsSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DeleteResult, GetOptions, KeyValue, ListOptions, ListResult, Store, Watch, WatchErrorHandler, WatchEvent } from './types.js';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  StoreBackendError,
  StoreClosedError,
  StoreError,
} from './errors.js';
import { decodeContinue, encodeContinue, keyAfter, prefixEndString } from './keys.js';
import { WatcherQueue } from './watcher.js';

export interface SqliteStoreOptions {
  /** How often to look for rows written by other processes while a watch is open; 0 disables. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long to wait for another process's write lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** The most memory SQLite's page cache may hold, in KiB. Default 2048 (SQLite's own default). */
  cacheSizeKiB?: number;
}

interface Row {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: string;
  old_value: string | null;
}

type WriteOp =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expected: number }
  | { kind: 'delete'; key: string; expected: number | undefined };

interface QueuedWrite {
  op: WriteOp;
  resolve: (v: KeyValue | DeleteResult) => void;
  reject: (err: unknown) => void;
}

/** Most writes one group-committed transaction carries. */
const MAX_BATCH = 1000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  id              INTEGER PRIMARY KEY AUTOINCREMENT, -- the revision of this change
  name            TEXT    NOT NULL,
  created         INTEGER NOT NULL,                  -- 1: this change created the key
  deleted         INTEGER NOT NULL,                  -- 1: tombstone (value = the deleted value)
  create_revision INTEGER NOT NULL,
  prev_revision   INTEGER NOT NULL,                  -- id of the key's previous row, 0 if none
  value           TEXT    NOT NULL,
  old_value       TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS kv_name_prev_revision ON kv (name, prev_revision);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

export class SqliteStore implements Store {
  readonly backend = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<SqliteStore['prepare']>;
  private queue: QueuedWrite[] = [];
  private flushTimer: NodeJS.Immediate | null = null;
  private closed = false;
  private readonly watchers = new Set<WatcherQueue>();
  /** The id of the last row handed to watchers (or known to need no handing). */
  private dispatched: number;
  private poller: NodeJS.Timeout | null = null;
  private readonly pollIntervalMs: number;
  private commits = 0;
  /** The WAL file, fsynced after each batch's COMMIT. */
  private walFd = -1;
  /** Settles when every committed batch has been synced and answered, in commit order. */
  private acks: Promise<void> = Promise.resolve();
  /** Batches committed but not yet synced and answered. */
  private inflight = 0;
  private readTx?: (fn: () => unknown) => unknown;
  private committedWrites = 0;

  constructor(readonly path: string, opts: SqliteStoreOptions = {}) {
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    let db: Database.Database | undefined;
    try {
      const created = !existsSync(path);
      this.db = db = new Database(path);
      // The store holds Secrets: a file keel creates is readable by its owner only (SQLite gives
      // the -wal and -shm files the database file's mode).
      if (created) chmodSync(path, 0o600);
      this.db.pragma('journal_mode = WAL');
      // FULL: in WAL mode, fsync the WAL on every COMMIT, so a resolved write survives power loss.
      // NORMAL: SQLite does not fsync at COMMIT; flush() fsyncs the WAL off the event loop
      // before acknowledging (WAL mode stays consistent under NORMAL).
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      // better-sqlite3 builds SQLite with a 16 MB page cache (SQLITE_DEFAULT_CACHE_SIZE=-16000,
      // eight times SQLite's own default), which the revision log fills as it grows: 11.5 MiB of
      // the API server's heap at 1,000 pods (heaptrack), and it is never given back. The file's
      // pages stay in the kernel's page cache, so a miss here costs a pread, not a disk read.
      this.db.pragma(`cache_size = -${opts.cacheSizeKiB ?? 2048}`);
      this.db
        .transaction(() => {
          this.db.exec(SCHEMA);
          // Start at revision 1 like etcd, so the first change is revision 2 on both backends.
          const seq = this.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kv'`).get();
          if (seq === undefined) this.db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('kv', 1)`).run();
        })
        .immediate();
    } catch (err) {
      db?.close();
      throw new StoreBackendError('sqlite', `open ${path}`, err);
    }
    this.stmt = this.prepare();
    this.dispatched = this.readRevision();
    try {
      // The WAL exists from here on (the schema transaction wrote it) and stays while this
      // connection is open; its directory entry is made durable once.
      this.walFd = openSync(`${path}-wal`, 'r');
      const dirFd = openSync(dirname(path), 'r');
      try { fsyncSync(dirFd); } finally { closeSync(dirFd); }
    } catch (err) {
      this.db.close();
      throw new StoreBackendError('sqlite', `open ${path}-wal`, err);
    }
  }

  private prepare() {
    const db = this.db;
    const latestOf = `SELECT * FROM kv AS k WHERE k.name >= @start AND %END% k.deleted = 0
         AND k.id = (SELECT MAX(id) FROM kv WHERE name = k.name AND id <= @rev)
       ORDER BY k.name LIMIT @limit`;
    return {
      seq: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kv'`).pluck(),
      compactRev: db.prepare(`SELECT value FROM meta WHERE name = 'compact_revision'`).pluck(),
      setCompactRev: db.prepare(`INSERT INTO meta (name, value) VALUES ('compact_revision', ?)
                                 ON CONFLICT (name) DO UPDATE SET value = excluded.value`),
      latest: db.prepare(`SELECT * FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`),
      atRevision: db.prepare(`SELECT * FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1`),
      listBounded: db.prepare(latestOf.replace('%END%', 'k.name < @end AND')),
      listUnbounded: db.prepare(latestOf.replace('%END%', '')),
      rowsAfter: db.prepare(`SELECT * FROM kv WHERE id > ? ORDER BY id LIMIT ?`),
      rowsBetween: db.prepare(`SELECT * FROM kv WHERE id > ? AND id <= ? ORDER BY id`),
      insert: db.prepare(`INSERT INTO kv (id, name, created, deleted, create_revision, prev_revision, value, old_value)
                          VALUES (@id, @name, @created, @deleted, @create_revision, @prev_revision, @value, @old_value)`),
      // A row is dropped when it is older than the compaction point and either a tombstone or
      // superseded by a newer row of its key that is itself at or before the point (kine's rule).
      compact: db.prepare(`DELETE FROM kv WHERE id < @rev AND (deleted = 1 OR id IN
                             (SELECT prev_revision FROM kv WHERE id <= @rev AND prev_revision > 0))`),
    };
  }

  /** Group-commit counters: how many transactions (fsyncs) carried how many writes. */
  get stats(): { commits: number; writes: number } {
    return { commits: this.commits, writes: this.committedWrites };
  }

  // ---- reads ----------------------------------------------------------------------------------

  async get(key: string, opts: GetOptions = {}): Promise<KeyValue | null> {
    this.checkOpen();
    if (!opts.revision) {
      // The newest row of one key: a single statement is its own snapshot, so no explicit read
      // transaction (nor a look at the store's revision) is needed; this is every write's read.
      try {
        const row = this.stmt.latest.get(key) as Row | undefined;
        return row && !row.deleted ? toKeyValue(row) : null;
      } catch (err) {
        throw new StoreBackendError(this.backend, 'read', err);
      }
    }
    return this.read(() => {
      const rev = this.readableRevision(opts.revision);
      const row = this.stmt.atRevision.get(key, rev) as Row | undefined;
      return row && !row.deleted ? toKeyValue(row) : null;
    });
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const cont = opts.continue ? decodeContinue(opts.continue, prefix) : null;
    return this.read(() => {
      const rev = this.readableRevision(cont ? cont.revision : opts.revision);
      const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
      const end = prefixEndString(prefix);
      const params = { start: cont ? cont.startKey : prefix, end, rev, limit: limit ? limit + 1 : -1 };
      const rows = (end === null ? this.stmt.listUnbounded.all(params) : this.stmt.listBounded.all(params)) as Row[];
      const result: ListResult = { items: [], revision: rev };
      if (limit && rows.length > limit) {
        rows.length = limit;
        result.continue = encodeContinue({ revision: rev, startKey: keyAfter(rows[limit - 1]!.name) });
      }
      result.items = rows.map(toKeyValue);
      return result;
    });
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.readRevision();
  }

  // ---- writes (group-committed) ---------------------------------------------------------------

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue({ kind: 'create', key, value }) as Promise<KeyValue>;
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'update', key, value, expected: expectedModRevision }) as Promise<KeyValue>;
  }

  delete(key: string, expectedModRevision?: number): Promise<DeleteResult> {
    return this.enqueue({ kind: 'delete', key, expected: expectedModRevision }) as Promise<DeleteResult>;
  }

  private enqueue(op: WriteOp): Promise<KeyValue | DeleteResult> {
    if (this.closed) return Promise.reject(new StoreClosedError(this.backend));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.flushTimer ??= setImmediate(() => this.flush());
    });
  }

  /** Applies every queued write in one transaction and one fsync, then answers and notifies. */
  private flush(): void {
    this.flushTimer = null;
    // Cap a transaction so one huge burst cannot hold the event loop (and every reader) for long;
    // the rest goes in the next turn's transaction.
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length > 0) this.flushTimer = setImmediate(() => this.flush());
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; value: KeyValue | DeleteResult; event: WatchEvent } | { ok: false; err: unknown })[] = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      let rev = this.readRevision();
      for (const w of batch) {
        try {
          const out = this.apply(w.op, rev + 1);
          rev++;
          outcomes.push({ ok: true, ...out });
        } catch (err) {
          outcomes.push({ ok: false, err });
        }
      }
      this.db.exec('COMMIT');
      this.commits++;
      this.committedWrites += batch.length;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      const failure = new StoreBackendError(this.backend, 'commit', err);
      for (const w of batch) w.reject(failure);
      return;
    }
    // Durable once the WAL is synced; answered (and published) after every earlier batch.
    this.inflight++;
    const synced = new Promise<void>((resolve, reject) => fsync(this.walFd, (err) => (err ? reject(err) : resolve())));
    this.acks = Promise.all([this.acks, synced]).then(
      () => {
        this.inflight--;
        const events: WatchEvent[] = [];
        batch.forEach((w, i) => {
          const o = outcomes[i]!;
          if (o.ok) {
            events.push(o.event);
            w.resolve(o.value);
          } else {
            w.reject(o.err);
          }
        });
        this.publish(events);
      },
      (err) => {
        this.inflight--;
        const failure = new StoreBackendError(this.backend, 'fsync', err);
        for (const w of batch) w.reject(failure);
        // Committed but maybe not durable: watchers resume from the log (tail) rather than see it as acknowledged.
        this.tail();
      },
    );
  }

  /** One write inside the batch transaction. Checks first, so a refused write leaves no trace. */
  private apply(op: WriteOp, id: number): { value: KeyValue | DeleteResult; event: WatchEvent } {
    const latest = this.stmt.latest.get(op.key) as Row | undefined;
    const live = latest && !latest.deleted ? latest : undefined;
    const row: Row = {
      id,
      name: op.key,
      created: 0,
      deleted: 0,
      create_revision: live ? live.create_revision : id,
      prev_revision: latest ? latest.id : 0,
      value: '',
      old_value: live ? live.value : null,
    };
    switch (op.kind) {
      case 'create':
        if (live) throw new KeyExistsError(op.key, live.id);
        row.created = 1;
        row.value = op.value;
        break;
      case 'update':
        if (!live) throw new NotFoundError(op.key);
        if (live.id !== op.expected) throw new ConflictError(op.key, op.expected, live.id);
        row.value = op.value;
        break;
      case 'delete':
        if (!live) throw new NotFoundError(op.key);
        if (op.expected !== undefined && live.id !== op.expected) throw new ConflictError(op.key, op.expected, live.id);
        row.deleted = 1;
        row.value = live.value;
        break;
    }
    try {
      this.stmt.insert.run(row);
    } catch (err) {
      // Only reachable if another process slipped a row in for this key: the kine collision.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(op.key, latest?.id ?? 0, -1);
      throw err;
    }
    const event = toEvent(row);
    if (op.kind === 'delete') return { value: { revision: id, prev: toKeyValue(live!) }, event };
    return { value: toKeyValue(row), event };
  }

  // ---- watch ----------------------------------------------------------------------------------

  async watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void, onError?: WatchErrorHandler): Promise<Watch> {
    this.checkOpen();
    const w = new WatcherQueue(prefix, fromRevision, onEvent, onError);
    // All synchronous: no commit can run between reading history and joining the live stream,
    // so history (up to `dispatched`) and live events (after it) meet without a gap.
    this.read(() => {
      const compactRev = this.readCompactRevision();
      if (fromRevision < compactRev) throw new CompactedError(fromRevision, compactRev);
      for (const row of this.stmt.rowsBetween.iterate(fromRevision, this.dispatched) as IterableIterator<Row>) {
        w.push(toEvent(row));
      }
    });
    this.watchers.add(w);
    this.startPoller();
    return {
      cancel: async () => {
        w.stop();
        this.watchers.delete(w);
        if (this.watchers.size === 0) this.stopPoller();
      },
    };
  }

  /** Hands a just-committed batch to watchers, or re-reads the log if other processes wrote first. */
  private publish(events: WatchEvent[]): void {
    if (events.length === 0) return;
    if (events[0]!.modRevision === this.dispatched + 1) {
      for (const w of this.watchers) for (const ev of events) w.push(ev);
      this.dispatched = events[events.length - 1]!.modRevision;
    } else {
      this.tail();
    }
  }

  /** Dispatches every row after `dispatched`: the poller's and the cross-process path. */
  private tail(): void {
    if (this.closed) return;
    try {
      if (this.watchers.size === 0) {
        this.dispatched = this.readRevision();
        return;
      }
      const compactRev = this.readCompactRevision();
      if (this.dispatched < compactRev) {
        // Another process compacted history we have not delivered yet: the watches cannot resume.
        for (const w of this.watchers) w.fail(new CompactedError(this.dispatched, compactRev));
        this.watchers.clear();
        this.dispatched = this.readRevision();
        return;
      }
      for (;;) {
        const rows = this.stmt.rowsAfter.all(this.dispatched, 1000) as Row[];
        for (const row of rows) {
          const ev = toEvent(row);
          for (const w of this.watchers) w.push(ev);
          this.dispatched = row.id;
        }
        if (rows.length < 1000) break;
      }
    } catch (err) {
      for (const w of this.watchers) w.fail(new StoreBackendError(this.backend, 'watch poll', err));
      this.watchers.clear();
    }
  }

  private startPoller(): void {
    if (this.poller || this.pollIntervalMs <= 0) return;
    this.poller = setInterval(() => {
      // Rows of batches still syncing are published by flush(), once durable.
      if (this.inflight === 0 && this.readRevision() !== this.dispatched) this.tail();
    }, this.pollIntervalMs);
    this.poller.unref();
  }

  private stopPoller(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  // ---- maintenance ----------------------------------------------------------------------------

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    try {
      this.db
        .transaction(() => {
          const current = this.readRevision();
          if (revision > current) throw new FutureRevisionError(revision, current);
          if (revision <= this.readCompactRevision()) return;
          this.stmt.compact.run({ rev: revision });
          this.stmt.setCompactRev.run(revision);
        })
        .immediate();
    } catch (err) {
      throw err instanceof StoreError ? err : new StoreBackendError(this.backend, 'compact', err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushTimer) {
      clearImmediate(this.flushTimer);
      this.flush();
    }
    this.closed = true;
    await this.acks.catch(() => undefined);
    closeSync(this.walFd);
    this.stopPoller();
    for (const w of this.watchers) w.stop();
    this.watchers.clear();
    this.db.close();
  }

  // ---- helpers --------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError(this.backend);
  }

  /** Runs reads in one read transaction so they see one snapshot even with other writers. */
  private read<T>(fn: () => T): T {
    try {
      // One transaction function made once: better-sqlite3 builds a new wrapper per transaction() call.
      this.readTx ??= this.db.transaction((f: () => unknown) => f());
      return this.readTx(fn) as T;
    } catch (err) {
      throw err instanceof StoreError ? err : new StoreBackendError(this.backend, 'read', err);
    }
  }

  private readRevision(): number {
    return this.stmt.seq.get() as number;
  }

  private readCompactRevision(): number {
    return (this.stmt.compactRev.get() as number | undefined) ?? 0;
  }

  /** Resolves "0/undefined = newest" and checks the revision is neither compacted nor future. */
  private readableRevision(revision: number | undefined): number {
    const current = this.readRevision();
    if (!revision) return current;
    if (revision > current) throw new FutureRevisionError(revision, current);
    const compactRev = this.readCompactRevision();
    if (revision < compactRev) throw new CompactedError(revision, compactRev);
    return revision;
  }
}

function toKeyValue(row: Row): KeyValue {
  return { key: row.name, value: row.value, createRevision: row.create_revision, modRevision: row.id };
}

function toEvent(row: Row): WatchEvent {
  const ev: WatchEvent = {
    type: row.deleted ? 'DELETE' : 'PUT',
    key: row.name,
    value: row.value,
    modRevision: row.id,
    createRevision: row.create_revision,
  };
  if (row.old_value !== null) ev.prevValue = row.old_value;
  return ev;
}
