// A lock on a path between processes (proper-lockfile's lock directory, PATH.lock) that waiters in
// the same process do not poll for. proper-lockfile knows one mode and its waiters retry with
// back-off, so N callers in one process contending for it (a burst of pods in a kubelet, or in
// the three kubelets of `keel cluster up`) took turns with sleeps in between: seconds for a burst.
// Here, in-process waiters queue on promises, and only the queue's head touches the directory.
//
// Two modes: `exclusive` runs alone; `shared` holders run together on a single hold of the
// directory (for the image store: lease writes, each to its own file, against garbage collection,
// which must see none half written). An exclusive request queues the shared ones that come after
// it, so it is not starved. Between processes both modes are the directory lock, i.e. exclusive.
import lockfile from "proper-lockfile";

type Release = () => Promise<void>;

/** Exclusive holders in a row that pass the directory on without releasing it. */
const MAX_HANDOVERS = 32;

export interface FileLockOptions {
  /** How long to wait for another process's hold on the directory before giving up (default ~2 min). */
  retries?: { retries: number; minTimeout: number; maxTimeout: number };
}

/** Short waits for locks held for milliseconds (a network's IPAM books, its host-port table): about 20 s in all. */
export const SHORT_LOCK_RETRIES = { retries: 400, minTimeout: 5, maxTimeout: 50 };

/** The directory could not be taken from another process in time. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
  constructor(readonly path: string, options?: ErrorOptions) {
    super(`${path}: another process holds the lock (${path}.lock)`, options);
  }
}

/** One per path in a process, so that every user of a path queues in the same place. */
const locks = new Map<string, FileLock>();

export class FileLock {
  /** The lock for path (the directory made is `${path}.lock`); options apply on first use. */
  static for(path: string, opts: FileLockOptions = {}): FileLock {
    let l = locks.get(path);
    if (!l) locks.set(path, (l = new FileLock(path, opts)));
    return l;
  }

  private readers = 0;
  /** The directory lock held for the current shared holders (acquiring or acquired). */
  private readersLock?: Promise<Release>;
  /** Resolves when the current shared holders are all done. */
  private readersDone?: { promise: Promise<void>; resolve: () => void };
  /** The last exclusive holder's turn (in-process queue). */
  private exclusiveTail: Promise<void> = Promise.resolve();
  private exclusivePending = 0;
  /** The directory lock handed from one exclusive holder to the next one queued in this process. */
  private handedOver?: Release;
  private handovers = 0;

  private constructor(private readonly path: string, private readonly opts: FileLockOptions) {}

  /** The directory lock; a directory not refreshed for 15 s belongs to a dead process. */
  private async acquireFile(): Promise<Release> {
    try {
      return await lockfile.lock(this.path, {
        realpath: false,
        stale: 15_000,
        retries: this.opts.retries ?? { retries: 600, minTimeout: 20, maxTimeout: 200 },
      });
    } catch (e) {
      throw new LockTimeoutError(this.path, { cause: e });
    }
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    // Behind any exclusive holder already queued in this process.
    while (this.exclusivePending > 0) await this.exclusiveTail;
    if (this.readers++ === 0) {
      let resolve!: () => void;
      this.readersDone = { promise: new Promise<void>((r) => (resolve = r)), resolve };
      this.readersLock = this.acquireFile();
    }
    const lock = this.readersLock!;
    try {
      await lock;
      return await fn();
    } finally {
      if (--this.readers === 0) {
        const done = this.readersDone!;
        this.readersLock = undefined;
        this.readersDone = undefined;
        // A failed acquisition has nothing to release.
        await lock.then((release) => release(), () => undefined).catch(() => undefined);
        done.resolve();
      }
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.exclusivePending++;
    const prev = this.exclusiveTail;
    let done!: () => void;
    this.exclusiveTail = new Promise<void>((r) => (done = r));
    try {
      await prev;
      while (this.readersDone) await this.readersDone.promise;
      const release = this.handedOver ?? (await this.acquireFile());
      this.handedOver = undefined;
      try {
        return await fn();
      } finally {
        // Another holder queued here takes the directory as it is (no rmdir and mkdir between
        // them), a bounded number of times so that other processes get their turn.
        if (this.exclusivePending > 1 && this.handovers < MAX_HANDOVERS) {
          this.handedOver = release;
          this.handovers++;
        } else {
          this.handovers = 0;
          await release().catch(() => undefined);
        }
      }
    } finally {
      this.exclusivePending--;
      done();
    }
  }
}
