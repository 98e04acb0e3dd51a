/**
 * Periodic compaction, the policy kube-apiserver uses on etcd: at each tick, compact up to the
 * revision seen at the previous tick, so at least one interval of history stays for watchers to
 * resume from (and, as kine does, never fewer than `minRetainedRevisions`). Without it the SQLite
 * log and etcd's history grow forever. Several API servers may each run one on a shared etcd:
 * compacting an already compacted revision is a no-op.
 */
import type { Store } from './types.js';

export interface CompactorOptions {
  /** Time between compactions. Default 5 minutes (kube-apiserver's default). */
  intervalMs?: number;
  /** Always keep at least this many recent revisions. Default 1000 (kine keeps 1000). */
  minRetainedRevisions?: number;
  /** Told about a failed round; the next round tries again. */
  onError?: (err: unknown) => void;
}

export interface Compactor {
  /** One round now: returns the revision compacted to, or null when there was nothing to do. */
  runOnce(): Promise<number | null>;
  stop(): void;
}

export function startCompactor(store: Store, opts: CompactorOptions = {}): Compactor {
  const intervalMs = opts.intervalMs ?? 5 * 60_000;
  const retain = opts.minRetainedRevisions ?? 1000;
  let previousTick: number | null = null;
  let compacted = 0;
  let running: Promise<number | null> | null = null;

  async function round(): Promise<number | null> {
    const current = await store.currentRevision();
    const target = previousTick === null ? 0 : Math.min(previousTick, current - retain);
    previousTick = current;
    if (target <= compacted || target < 2) return null;
    await store.compact(target);
    compacted = target;
    return target;
  }

  const runOnce = (): Promise<number | null> => {
    running ??= round().finally(() => (running = null));
    return running;
  };

  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => opts.onError?.(err));
  }, intervalMs);
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
