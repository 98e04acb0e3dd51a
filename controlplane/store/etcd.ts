/**
 * The distributed store: a real etcd server through the `etcd3` client's raw KV and watch RPCs.
 * Revisions are etcd's own, so several keel API servers sharing one etcd see one history.
 *
 * - create: a transaction "create_revision == 0 → put", else read the key for the error.
 * - update / delete: "version > 0 (exists) and mod_revision == expected → put / delete with
 *   prev_kv", else read the key to tell NotFound from Conflict.
 * - watch: etcd watch on the prefix with start_revision = fromRevision + 1 and prev_kv.
 * - compact: etcd compact with physical = true.
 */
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions, type IKeyValue, type IRangeRequest, type IWatchResponse, type Watcher } from 'etcd3';
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
import { decodeContinue, encodeContinue, keyAfter, prefixEndBytes } from './keys.js';
import { WatcherQueue } from './watcher.js';

export interface EtcdStoreOptions {
  /** Deadline for one unary call, so a dead etcd fails requests instead of hanging them. Default 15 s. */
  callTimeoutMs?: number;
}

type WatchBackoff = NonNullable<IOptions['faultHandling']>['watchBackoff'];

/** etcd treats the single byte 0 as "from the lowest key" (key) and "no upper bound" (range_end). */
const ZERO = Buffer.from([0]);

export class EtcdStore implements Store {
  readonly backend = 'etcd';
  private readonly client: Etcd3;
  private readonly watches = new Set<{ queue: WatcherQueue; watcher: Watcher }>();
  private closed = false;

  constructor(readonly hosts: string[], opts: EtcdStoreOptions = {}) {
    const timeout = opts.callTimeoutMs ?? 15_000;
    this.client = new Etcd3({
      hosts,
      dialTimeout: 5_000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      // etcd3's defaults suit a fleet of etcd hosts: a host that failed 3 calls is shunned for 5 s,
      // and watch reconnects back off up to 30 s. With one etcd behind an API server that turns a
      // 1 s etcd restart into 5-30 s of outage; probe again after 1 s and cap watch back-off at 2 s.
      faultHandling: {
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
        // etcd3 types this as a backoff but uses it as a backoff factory (its own default is one).
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }) as unknown as WatchBackoff,
      },
    });
  }

  // ---- reads ----------------------------------------------------------------------------------

  async get(key: string, opts: GetOptions = {}): Promise<KeyValue | null> {
    this.checkOpen();
    const res = await this.call('get', opts.revision, () => this.client.kv.range({ key: Buffer.from(key), revision: opts.revision ?? 0 }));
    return res.kvs.length > 0 ? toKeyValue(res.kvs[0]!) : null;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const cont = opts.continue ? decodeContinue(opts.continue, prefix) : null;
    const revision = cont ? cont.revision : (opts.revision ?? 0);
    const start = cont ? cont.startKey : prefix;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const req: IRangeRequest = {
      key: start === '' ? ZERO : Buffer.from(start),
      range_end: prefixEndBytes(prefix) ?? ZERO,
      revision,
      limit,
    };
    const res = await this.call('list', revision, () => this.client.kv.range(req));
    // Pin every page to the first page's revision, so pages form one snapshot.
    const result: ListResult = { items: res.kvs.map(toKeyValue), revision: revision || Number(res.header.revision) };
    if (res.more && result.items.length > 0) {
      result.continue = encodeContinue({ revision: result.revision, startKey: keyAfter(result.items[result.items.length - 1]!.key) });
    }
    return result;
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    const res = await this.call('current revision', undefined, () => this.client.kv.range({ key: ZERO, count_only: true }));
    return Number(res.header.revision);
  }

  // ---- writes ---------------------------------------------------------------------------------

  async create(key: string, value: string): Promise<KeyValue> {
    this.checkOpen();
    const k = Buffer.from(key);
    const res = await this.call('create', undefined, () =>
      this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) {
      const existing = res.responses[0]?.response_range.kvs[0];
      throw new KeyExistsError(key, existing ? Number(existing.mod_revision) : 0);
    }
    const rev = Number(res.header.revision);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.checkOpen();
    const k = Buffer.from(key);
    const res = await this.call('update', undefined, () =>
      this.client.kv.txn({
        compare: guard(k, expectedModRevision),
        success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) throw refusal(key, expectedModRevision, res.responses[0]?.response_range.kvs[0]);
    const prev = res.responses[0]!.response_put.prev_kv!;
    return { key, value, createRevision: Number(prev.create_revision), modRevision: Number(res.header.revision) };
  }

  async delete(key: string, expectedModRevision?: number): Promise<DeleteResult> {
    this.checkOpen();
    const k = Buffer.from(key);
    const res = await this.call('delete', undefined, () =>
      this.client.kv.txn({
        compare: guard(k, expectedModRevision),
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) throw refusal(key, expectedModRevision ?? 0, res.responses[0]?.response_range.kvs[0]);
    const prev = res.responses[0]!.response_delete_range.prev_kvs[0]!;
    return { revision: Number(res.header.revision), prev: toKeyValue(prev) };
  }

  // ---- watch ----------------------------------------------------------------------------------

  async watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void, onError?: WatchErrorHandler): Promise<Watch> {
    this.checkOpen();
    // etcd only reports a compacted start revision after the watch is created; ask first so the
    // caller gets the error from watch() itself, as on SQLite. The contract is stricter than
    // etcd's (fromRevision >= compacted, where etcd allows one less) because etcd's compaction
    // drops a delete event at exactly the compaction revision.
    await this.checkWatchable(prefix, fromRevision);
    const queue = new WatcherQueue(prefix, fromRevision, onEvent, onError);
    // watcher() attaches without waiting, so the listeners are in place before any event arrives.
    const watcher = this.client.watch().prefix(prefix).startRevision(String(fromRevision + 1)).withPreviousKV().watcher();
    const entry = { queue, watcher };
    watcher.on('data', (res: IWatchResponse) => {
      for (const ev of res.events) queue.push(toEvent(ev.type, ev.kv, ev.prev_kv));
    });
    // etcd3 resumes a reconnecting watcher from the last *header* revision + 1, which during a
    // history catch-up is past events not yet delivered (seen losing 2000 of 3000 events across an
    // etcd restart); resume from the last event delivered instead.
    watcher.on('disconnected', () => {
      watcher.request.start_revision = String(queue.lastRevision + 1);
    });
    let connected = false;
    this.watches.add(entry); // so that close() during the handshake cancels it too
    await new Promise<void>((resolve, reject) => {
      watcher.once('connected', () => {
        connected = true;
        resolve();
      });
      watcher.once('end', () => {
        if (!connected) reject(new StoreClosedError(this.backend));
      });
      watcher.on('error', (err: Error) => {
        this.watches.delete(entry);
        void watcher.cancel().catch(() => {});
        void this.watchFailure(prefix, queue.lastRevision, err).then((failure) => {
          if (connected) queue.fail(failure);
          else reject(failure);
        });
      });
    });
    return {
      cancel: async () => {
        queue.stop();
        if (this.watches.delete(entry)) await watcher.cancel();
      },
    };
  }

  /** Throws CompactedError if `fromRevision` is older than the compaction point. */
  private async checkWatchable(prefix: string, fromRevision: number): Promise<void> {
    try {
      // A read at revision R fails exactly when R < the compaction revision; 1 is etcd's first.
      await this.client.kv.range({ key: prefix === '' ? ZERO : Buffer.from(prefix), revision: Math.max(fromRevision, 1), count_only: true });
    } catch (err) {
      const mapped = mapError(err, 'watch', fromRevision);
      if (mapped instanceof CompactedError) throw new CompactedError(fromRevision, 0);
      if (mapped instanceof FutureRevisionError) return; // a watch may start in the future: it waits
      throw mapped;
    }
  }

  /** Why a watch was cancelled by etcd: compaction (the only reason etcd cancels one), or else. */
  private async watchFailure(prefix: string, lastRevision: number, err: Error): Promise<StoreError> {
    try {
      await this.checkWatchable(prefix, lastRevision);
    } catch (checked) {
      if (checked instanceof StoreError) return checked;
    }
    return new StoreBackendError(this.backend, 'watch', err);
  }

  // ---- maintenance ----------------------------------------------------------------------------

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    try {
      await this.client.kv.compact({ revision, physical: true });
    } catch (err) {
      const mapped = mapError(err, 'compact', revision);
      if (mapped instanceof CompactedError) return; // already compacted at or past it
      throw mapped;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.watches];
    this.watches.clear();
    for (const { queue } of entries) queue.stop();
    await Promise.allSettled(entries.map(({ watcher }) => watcher.cancel()));
    this.client.close();
  }

  // ---- helpers --------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError(this.backend);
  }

  private async call<T>(op: string, revision: number | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapError(err, op, revision ?? 0);
    }
  }
}

/** The compare clause of a conditional write: the key exists and, if given, is at `expected`. */
function guard(key: Buffer, expected: number | undefined) {
  const compare = [{ key, target: 'Version' as const, result: 'Greater' as const, version: 0 }];
  if (expected !== undefined) return [...compare, { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expected }];
  return compare;
}

function refusal(key: string, expected: number, current: IKeyValue | undefined): StoreError {
  if (!current) return new NotFoundError(key);
  return new ConflictError(key, expected, Number(current.mod_revision));
}

function mapError(err: unknown, op: string, revision: number): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (msg.includes('required revision has been compacted')) return new CompactedError(revision, 0);
  if (msg.includes('required revision is a future revision')) return new FutureRevisionError(revision, 0);
  return new StoreBackendError('etcd', op, err);
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
}

function toEvent(type: string, kv: IKeyValue, prev: IKeyValue | undefined): WatchEvent {
  const isDelete = type === 'Delete';
  const ev: WatchEvent = {
    type: isDelete ? 'DELETE' : 'PUT',
    key: kv.key.toString('utf8'),
    // A tombstone carries no value; the deleted value is prev_kv's.
    value: isDelete ? (prev?.value.toString('utf8') ?? '') : kv.value.toString('utf8'),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(isDelete ? (prev?.create_revision ?? 0) : kv.create_revision),
  };
  if (prev) ev.prevValue = prev.value.toString('utf8');
  return ev;
}
