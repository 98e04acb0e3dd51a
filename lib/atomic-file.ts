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
