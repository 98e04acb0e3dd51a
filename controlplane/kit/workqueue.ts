// A work queue of keys (client-go's workqueue): a key added many times while waiting is handed
// out once; a key being processed is never handed to a second worker (it is re-queued after);
// failures come back with exponential back-off.

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export type Reconcile = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(readonly name: string, o: WorkQueueOptions = {}) {
    this.baseDelayMs = o.baseDelayMs ?? 5;
    this.maxDelayMs = o.maxDelayMs ?? 30_000;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // handed out again when the worker is done
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  /** Adds the key after ms (the earliest of several pending delays wins). */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const due = Date.now() + ms;
    const existing = this.timers.get(key) as (NodeJS.Timeout & { due?: number }) | undefined;
    if (existing && (existing.due ?? Infinity) <= due) return;
    if (existing) clearTimeout(existing);
    // Node fires a timer of more than 2^31-1 ms (24.8 days, e.g. a yearly CronJob) after 1 ms:
    // wait at most that long; the key's controller then simply asks again for the rest.
    const t = setTimeout(() => { this.timers.delete(key); this.add(key); }, Math.min(ms, MAX_TIMER_MS)) as NodeJS.Timeout & { due?: number };
    t.due = due;
    this.timers.set(key, t);
  }

  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs));
  }

  forget(key: string): void { this.failures.delete(key); }
  numRequeues(key: string): number { return this.failures.get(key) ?? 0; }
  get length(): number { return this.queue.length; }

  /** Waits for the next key; undefined once shut down. */
  async get(): Promise<string | undefined> {
    while (!this.queue.length) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const key = this.queue.shift()!;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.waiters.shift()?.();
    }
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
  }

  /** Runs `workers` loops calling reconcile; resolves when the queue shuts down. */
  async run(workers: number, reconcile: Reconcile, onError?: (key: string, err: unknown) => void): Promise<void> {
    const loop = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await reconcile(key);
          this.forget(key);
        } catch (err) {
          onError?.(key, err);
          this.addRateLimited(key);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }
}
