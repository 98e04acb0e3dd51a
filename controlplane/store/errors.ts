/**
 * The store's typed errors. Each carries a stable `code` and the key/revisions involved, so the
 * API server can map them to Kubernetes statuses without parsing messages:
 *   KeyExistsError → 409 AlreadyExists, ConflictError → 409 Conflict, NotFoundError → 404,
 *   CompactedError → 410 Gone (Expired), FutureRevisionError → 504/Timeout ("too large
 *   resource version"), InvalidContinueError → 400, StoreClosedError/StoreBackendError → 500/503.
 */

export type StoreErrorCode =
  | 'KEY_EXISTS'
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'COMPACTED'
  | 'FUTURE_REVISION'
  | 'INVALID_CONTINUE'
  | 'INVALID_SPEC'
  | 'CLOSED'
  | 'BACKEND';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class KeyExistsError extends StoreError {
  constructor(readonly key: string, readonly modRevision: number) {
    super('KEY_EXISTS', `key ${JSON.stringify(key)} already exists (modRevision ${modRevision})`);
  }
}

export class ConflictError extends StoreError {
  constructor(readonly key: string, readonly expectedModRevision: number, readonly actualModRevision: number) {
    super('CONFLICT', `key ${JSON.stringify(key)} was modified: expected modRevision ${expectedModRevision}, it is ${actualModRevision}`);
  }
}

export class NotFoundError extends StoreError {
  constructor(readonly key: string) {
    super('NOT_FOUND', `key ${JSON.stringify(key)} not found`);
  }
}

export class CompactedError extends StoreError {
  /** `compactRevision` is known on SQLite; etcd does not always report it (then 0). */
  constructor(readonly requestedRevision: number, readonly compactRevision: number) {
    super('COMPACTED', `revision ${requestedRevision} has been compacted` + (compactRevision ? ` (history starts at ${compactRevision})` : ''));
  }
}

export class FutureRevisionError extends StoreError {
  constructor(readonly requestedRevision: number, readonly currentRevision: number) {
    super('FUTURE_REVISION', `revision ${requestedRevision} is newer than the store's current revision` + (currentRevision ? ` ${currentRevision}` : ''));
  }
}

export class InvalidContinueError extends StoreError {
  constructor(readonly token: string, reason: string) {
    super('INVALID_CONTINUE', `invalid continue token: ${reason}`);
  }
}

export class InvalidStoreSpecError extends StoreError {
  constructor(readonly spec: string, reason: string) {
    super('INVALID_SPEC', `invalid store spec ${JSON.stringify(spec)}: ${reason} (expected sqlite:/path/to/file.db or etcd:http://host:port[,url...])`);
  }
}

export class StoreClosedError extends StoreError {
  constructor(readonly backend: string) {
    super('CLOSED', `${backend} store is closed`);
  }
}

/** A backend failure that is not one of the above (I/O error, etcd unreachable ...). */
export class StoreBackendError extends StoreError {
  constructor(readonly backend: string, readonly operation: string, cause: unknown) {
    super('BACKEND', `${backend} store: ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
