// Atomic file replacement: write a temporary file beside the target, fsync it, rename it over
// the target, fsync the directory. Readers see the old content or the new, never a torn write.
//
// `durable: false` keeps the rename (no torn reads) but skips both fsyncs: for records that
// describe live processes and mean nothing after a machine crash (runtime state, GC leases,
// mounted rootfs records), where two fsyncs would be most of a container's start-up cost.
import { open, rename, rm } from "node:fs/promises";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { randomBytes } from "node:crypto";

export function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /** fsync the file and its directory (default true). */
  durable?: boolean;
}

export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644, { durable = true }: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempName(path);
  try {
    const fh = await open(tmp, "wx", mode);
    try {
      await fh.writeFile(data);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (durable) await fsyncDir(dirname(path));
}

/** The same, synchronously: for small state files written between two steps that must not interleave. */
export function writeFileAtomicSync(path: string, data: string | Buffer, mode = 0o644, { durable = true }: AtomicWriteOptions = {}): void {
  const tmp = tempName(path);
  try {
    const fd = openSync(tmp, "wx", mode);
    try {
      writeFileSync(fd, data);
      if (durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * One file rewritten often, off the event loop, the latest content winning: what is saved while
 * a write is under way is written after it, and anything saved in between is skipped. For records
 * a process changes many times in a burst (a kubelet's per-pod files change half a dozen times
 * while the pod starts), where each synchronous replace held the event loop (ext4 flushes a file
 * renamed over another). `flush` waits until the last save is on disk and throws what a write
 * failed with, for the points where a process that dies must leave the record behind.
 */
export class CoalescingFileWriter {
  private pending?: string;
  private writing?: Promise<void>;
  private failed?: Error;

  constructor(private readonly path: string, private readonly opts: AtomicWriteOptions & { mode?: number } = {}) {}

  save(text: string): void {
    this.pending = text;
    this.writing ??= this.drain();
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    const e = this.failed;
    this.failed = undefined;
    if (e) throw e;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending !== undefined) {
        const text = this.pending;
        this.pending = undefined;
        try {
          await writeFileAtomic(this.path, text, this.opts.mode ?? 0o644, { durable: this.opts.durable });
          this.failed = undefined;
        } catch (e) {
          this.failed = e as Error;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
