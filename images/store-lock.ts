// The image store's GC lock, in two modes. Writing a lease (each to its own file) is "shared":
// any number may run together; garbage collection is "exclusive": it must see no lease half
// written. Between processes the lock is proper-lockfile's lock directory, which knows only one
// mode and whose waiters poll; within a process, shared holders ride on a single acquisition of
// it. A burst of container starts in one kubelet (or in three, under `keel cluster up`) therefore
// takes the directory lock once instead of taking turns polling for it. An exclusive request
// queues the shared ones that come after it, so a collection is not starved.
import lockfile from "proper-lockfile";

type Release = () => Promise<void>;

/** One per lock path in a process: stores opened several times (one per kubelet) share it. */
const locks = new Map<string, StoreLock>();

export class StoreLock {
  static for(path: string): StoreLock {
    let l = locks.get(path);
    if (!l) locks.set(path, (l = new StoreLock(path)));
    return l;
  }

  private readers = 0;
  /** The directory lock held for the current shared holders (acquiring or acquired). */
  private readersLock?: Promise<Release>;
  /** The exclusive holder's turn, and those queued after it (in-process). */
  private exclusiveTail: Promise<void> = Promise.resolve();
  private exclusivePending = 0;
  /** Resolves when the current shared holders are all done. */
  private readersDone?: { promise: Promise<void>; resolve: () => void };

  private constructor(private readonly path: string) {}

  private acquireFile(): Promise<Release> {
    return lockfile.lock(this.path, {
      realpath: false,
      stale: 15_000,
      retries: { retries: 600, minTimeout: 20, maxTimeout: 200 },
    });
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    // Behind any collection already queued in this process.
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
      const release = await this.acquireFile();
      try {
        return await fn();
      } finally {
        await release().catch(() => undefined);
      }
    } finally {
      this.exclusivePending--;
      done();
    }
  }
}
