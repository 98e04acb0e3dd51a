/** keel's revisioned key-value store; see types.ts for the contract. */
export type { DeleteResult, GetOptions, KeyValue, ListOptions, ListResult, Store, Watch, WatchErrorHandler, WatchEvent, WatchEventType } from './types.js';
export * from './errors.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
// EtcdStore is loaded on demand by openStore (its gRPC client costs memory a SQLite server never needs).
export type { EtcdStore, EtcdStoreOptions } from './etcd.js';
/**
 * Continue tokens: a caller that filters a list (label or field selectors) and stops mid-page can
 * mint its own token for "the same snapshot, from the key after this one"; `list` accepts it.
 */
export { decodeContinue, encodeContinue, keyAfter, type ContinueState } from './keys.js';
export { startCompactor, type Compactor, type CompactorOptions } from './compactor.js';
