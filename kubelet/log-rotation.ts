// Container log rotation, as kubelet's containerLogMaxSize / containerLogMaxFiles: a log over
// the size is copied to "<restart>.log.<YYYYMMDD-hhmmss>" and truncated in place (the supervisor
// writes it with O_APPEND, so its next line lands at the start), and the oldest rotated files go
// beyond maxFiles. Lines written between the copy and the truncate are lost, as with logrotate's
// copytruncate; a supervisor that reopened its log on a signal would close that gap.
import { copyFileSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { KubeletCore } from "./kubelet.js";
import { restartCount } from "./pod-state.js";

export interface LogRotationOptions {
  maxBytes: number;
  /** Files kept per container log, the live one included (at least 2). */
  maxFiles: number;
  intervalMs: number;
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);

/** Rotates one log file when it is over the size; returns whether it did. */
export function rotateLog(file: string, o: Pick<LogRotationOptions, "maxBytes" | "maxFiles">): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= o.maxBytes) return false;
  let target = `${file}.${stamp()}`;
  for (let i = 1; existsSafe(target); i++) target = `${file}.${stamp()}.${i}`;
  copyFileSync(file, target);
  truncateSync(file, 0);
  const prefix = `${basename(file)}.`;
  const rotated = readdirSync(dirname(file)).filter((n) => n.startsWith(prefix)).sort();
  for (const old of rotated.slice(0, Math.max(0, rotated.length - (Math.max(2, o.maxFiles) - 1)))) rmSync(join(dirname(file), old), { force: true });
  return true;
}

function existsSafe(p: string): boolean {
  try { statSync(p); return true; } catch { return false; }
}

export class LogRotator {
  private timer?: NodeJS.Timeout;
  constructor(private readonly core: KubeletCore, private readonly o: LogRotationOptions) {}

  start(): void {
    this.timer = setInterval(() => this.rotateAll(), this.o.intervalMs);
  }
  stop(): void {
    clearInterval(this.timer);
  }

  rotateAll(): void {
    for (const w of this.core.workers.values()) {
      for (const c of Object.values(w.record.containers)) {
        if (c.state !== "running") continue;
        try {
          rotateLog(this.core.paths.containerLog(w.pod, c.name, restartCount(c)), this.o);
        } catch { /* the pod went away meanwhile */ }
      }
    }
  }
}
