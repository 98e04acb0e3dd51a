// Node-pressure eviction (memory): when the memory available on the node falls below the
// threshold, the kubelet evicts pods one at a time, BestEffort first, then Burstable (the one
// using the most memory first), and Guaranteed pods only when nothing else is left. As kubelet
// does with a hard threshold, an evicted pod's containers are killed without a grace period.
import { readFileSync } from "node:fs";
import { qosClass } from "./container-spec.js";
import type { KubeletCore } from "./kubelet.js";
import type { PodWorker } from "./pod-worker.js";

export interface EvictionOptions {
  /** Evict below this many bytes of MemAvailable (kubelet's default hard threshold: 100Mi). */
  memoryAvailableMin: number;
  intervalMs: number;
  /** MemAvailable now (default /proc/meminfo): tests pass their own. */
  memoryAvailable?: () => number;
}

export function memAvailable(): number {
  const m = /^MemAvailable:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : Number.MAX_SAFE_INTEGER;
}

const RANK = { BestEffort: 0, Burstable: 1, Guaranteed: 2 } as const;

export class EvictionManager {
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(private readonly core: KubeletCore, private readonly o: EvictionOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: evicts at most one pod when under pressure; returns the evicted worker. */
  async check(): Promise<PodWorker | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      const available = (this.o.memoryAvailable ?? memAvailable)();
      if (available >= this.o.memoryAvailableMin) return undefined;
      const candidates = [...this.core.workers.values()].filter((w) => !w.record.terminal);
      if (!candidates.length) return undefined;
      const usage = new Map<PodWorker, number>();
      for (const w of candidates) {
        let bytes = 0;
        for (const c of Object.values(w.record.containers)) {
          if (c.state !== "running" || !c.runtimeId) continue;
          bytes += (await this.core.runtime.stats(c.runtimeId).catch(() => undefined))?.memory.current ?? 0;
        }
        usage.set(w, bytes);
      }
      candidates.sort((a, b) => RANK[qosClass(a.pod)] - RANK[qosClass(b.pod)] || usage.get(b)! - usage.get(a)!);
      const victim = candidates[0];
      await victim.evict(`The node was low on resource: memory. Threshold quantity: ${this.o.memoryAvailableMin}, available: ${Math.floor(available / 1024)}Ki.`);
      return victim;
    } finally {
      this.busy = false;
    }
  }
}
