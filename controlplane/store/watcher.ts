/**
 * One watch's delivery state, shared by both backends: de-duplicates by revision (a watch
 * subscribes before it reads history, as kine does, so the two may overlap), keeps prefix
 * filtering in one place, and hands events to the callback asynchronously and in order so that a
 * backend never runs user code in the middle of a commit.
 */
import type { WatchEvent, WatchErrorHandler } from './types.js';

export class WatcherQueue {
  /** The revision of the last event accepted; events at or below it are dropped as duplicates. */
  private after: number;
  private pending: WatchEvent[] = [];
  private scheduled = false;
  private stopped = false;

  constructor(
    readonly prefix: string,
    fromRevision: number,
    private readonly onEvent: (ev: WatchEvent) => void,
    private readonly onError?: WatchErrorHandler,
  ) {
    this.after = fromRevision;
  }

  get active(): boolean {
    return !this.stopped;
  }

  /** The newest revision accepted so far (where a resumed watch should continue from). */
  get lastRevision(): number {
    return this.after;
  }

  /** Queues an event if it matches the prefix and is newer than anything already queued. */
  push(ev: WatchEvent): void {
    if (this.stopped || ev.modRevision <= this.after || !ev.key.startsWith(this.prefix)) return;
    this.after = ev.modRevision;
    this.pending.push(ev);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  /** Stops delivery; queued events are dropped. */
  stop(): void {
    this.stopped = true;
    this.pending = [];
  }

  /** Ends the watch with an error, after the events already queued have been delivered. */
  fail(err: Error): void {
    if (this.stopped) return;
    queueMicrotask(() => {
      this.drain();
      if (this.stopped) return;
      this.stop();
      this.onError?.(err);
    });
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const ev of batch) {
      if (this.stopped) return;
      try {
        this.onEvent(ev);
      } catch (err) {
        // A throwing callback is a bug in the caller; end the watch loudly rather than skip events.
        this.stop();
        if (this.onError) this.onError(err instanceof Error ? err : new Error(String(err)));
        else setImmediate(() => { throw err; });
        return;
      }
    }
  }
}
