/**
 * keel's revisioned key-value store: the one contract both backends (embedded SQLite, real etcd)
 * implement, modeled on etcd's MVCC semantics as kine reproduces them on SQL.
 *
 * - Every successful change (create, update, delete) makes the store's revision go up by exactly
 *   one, and that revision is the change's `modRevision`. Failed writes change nothing.
 * - Revisions are global to the store (not per key) and are JavaScript numbers (safe up to 2^53).
 *   An empty store is at revision 1 on both backends (etcd's convention).
 * - Keys are strings compared byte-wise in their UTF-8 encoding (so list order is the same on
 *   both backends); values are strings. keel stores Kubernetes objects as JSON text, so strings
 *   avoid a Buffer round trip on every read; callers needing binary must encode it themselves.
 * - `compact(C)` drops history older than C: reads at a revision < C and watches from a revision
 *   < C fail with `CompactedError`, which the API server maps to 410 Gone. Reads at C or later, and
 *   watches from C or later (delivering the events after C), keep working. (etcd may drop the
 *   event numbered C itself when it is a delete, so a watch needs fromRevision >= C, not C - 1.)
 * - All methods are async. A write's promise resolves only once the change is durable
 *   (fsynced by SQLite, or committed by etcd's raft log).
 */

/** A key's state at some revision. */
export interface KeyValue {
  key: string;
  value: string;
  /** The revision of the change that created this incarnation of the key. */
  createRevision: number;
  /** The revision of the last change to the key; the optimistic-concurrency token. */
  modRevision: number;
}

export interface GetOptions {
  /** Read the store as it was at this revision; omitted or 0 reads the newest state. */
  revision?: number;
}

export interface ListOptions {
  /** Read the store as it was at this revision; omitted or 0 reads the newest state. */
  revision?: number;
  /** At most this many items; 0 or omitted for all. */
  limit?: number;
  /**
   * The `continue` token of the previous page. The next page is read at the same revision as the
   * first one (the token carries it), so pages form one consistent snapshot, as in Kubernetes.
   * When a token is given, `revision` is ignored.
   */
  continue?: string;
}

export interface ListResult {
  /** Live keys under the prefix, in key order. */
  items: KeyValue[];
  /** The store revision the list was read at (the Kubernetes list's resourceVersion). */
  revision: number;
  /** Set when more items remain: pass it as `continue` to read the next page. */
  continue?: string;
}

export interface DeleteResult {
  /** The revision of the delete. */
  revision: number;
  /** The key's last state before the delete. */
  prev: KeyValue;
}

export type WatchEventType = 'PUT' | 'DELETE';

/** One change, as a watch delivers it. */
export interface WatchEvent {
  type: WatchEventType;
  key: string;
  /** PUT: the new value. DELETE: the value the key had when deleted (same as prevValue). */
  value: string;
  /** The value before this change; undefined for a PUT that created the key. */
  prevValue?: string;
  /** The revision of this change. */
  modRevision: number;
  /** The revision that created the key (for a DELETE: of the incarnation that was deleted). */
  createRevision: number;
}

export interface Watch {
  /** Stops delivery; no event is delivered after the promise resolves. Safe to call twice. */
  cancel(): Promise<void>;
}

/**
 * Called at most once when a watch ends on its own: `CompactedError` when the history it needs
 * was compacted away (possible after an etcd reconnect, or another process compacting a shared
 * SQLite file), or another `StoreError`. No events follow it.
 */
export type WatchErrorHandler = (err: Error) => void;

export interface Store {
  /** Which backend this is ("sqlite" or "etcd"), for logs and metrics. */
  readonly backend: string;

  /** The key's state (at `revision` if given), or null when absent. */
  get(key: string, opts?: GetOptions): Promise<KeyValue | null>;

  /** The live keys starting with `prefix`, in key order; paginated with limit + continue. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;

  /** Creates the key; fails with `KeyExistsError` if it exists. */
  create(key: string, value: string): Promise<KeyValue>;

  /**
   * Replaces the key's value if its modRevision is still `expectedModRevision`; fails with
   * `ConflictError` (carrying the current modRevision) when stale, `NotFoundError` when absent.
   */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;

  /**
   * Deletes the key, only if its modRevision is `expectedModRevision` when given. Fails with
   * `ConflictError` when stale, `NotFoundError` when absent.
   */
  delete(key: string, expectedModRevision?: number): Promise<DeleteResult>;

  /**
   * Delivers, in revision order and each exactly once, every change to keys starting with
   * `prefix` whose revision is greater than `fromRevision`: first the history already in the
   * store, then live changes. Pass the revision of a list to watch from the list's snapshot.
   * `onEvent` is called synchronously per event and must not block; buffer if slow.
   * Fails with `CompactedError` when `fromRevision` is older than the compacted history.
   */
  watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void, onError?: WatchErrorHandler): Promise<Watch>;

  /** Drops history older than `revision` (see the module comment). Compacting an already compacted revision is a no-op. */
  compact(revision: number): Promise<void>;

  /** The newest revision. */
  currentRevision(): Promise<number>;

  /** Waits for pending writes, stops watches, releases the backend. */
  close(): Promise<void>;
}
