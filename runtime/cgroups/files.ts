// One cgroup directory and its files. Controllers only ever touch cgroups through this class,
// so every failure becomes a CgroupError naming the file and the value, and unit tests can run
// the controllers against a fixture directory of plain files while recording each write.
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { cgroupIoError } from "./errors.js";

/** One write a controller made, in order (unit tests assert on these). */
export interface CgroupWrite {
  file: string;
  value: string;
}

export class CgroupDir {
  /**
   * @param path the cgroup directory
   * @param journal if given, every write is appended to it (fixture tests)
   */
  constructor(
    readonly path: string,
    readonly journal?: CgroupWrite[],
  ) {}

  /** Writes one value with a single write(2), as the kernel wants; O_TRUNC makes fixtures behave like cgroupfs. */
  write(file: string, value: string | number | bigint): void {
    const text = String(value);
    let fd: number;
    try {
      // O_WRONLY, never O_RDWR: write-only files (cgroup.kill) refuse a read open. No O_CREAT:
      // a missing file is a missing controller, and must say so rather than be created.
      fd = openSync(join(this.path, file), constants.O_WRONLY | constants.O_TRUNC);
    } catch (err) {
      throw cgroupIoError("write", this.path, file, err, text);
    }
    try {
      writeSync(fd, text);
    } catch (err) {
      throw cgroupIoError("write", this.path, file, err, text);
    } finally {
      closeSync(fd);
    }
    this.journal?.push({ file, value: text });
  }

  read(file: string): string {
    try {
      return readFileSync(join(this.path, file), "utf8");
    } catch (err) {
      throw cgroupIoError("read", this.path, file, err);
    }
  }

  /** The file's content, or undefined when it does not exist (controller absent). */
  tryRead(file: string): string | undefined {
    try {
      return readFileSync(join(this.path, file), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw cgroupIoError("read", this.path, file, err);
    }
  }

  has(file: string): boolean {
    return existsSync(join(this.path, file));
  }

  /** A single-number file; undefined when missing; "max" and v1's "unlimited" values → Infinity. */
  readNumber(file: string): number | undefined {
    const text = this.tryRead(file);
    return text === undefined ? undefined : parseCgroupNumber(text);
  }

  /** A flat-keyed file ("key value" per line: cpu.stat, memory.events, memory.stat). */
  readFlat(file: string): Record<string, number> {
    const text = this.tryRead(file);
    return text === undefined ? {} : parseFlatKeyed(text);
  }

  /** The names of the files in the directory ([] when it does not exist). */
  list(): string[] {
    try {
      return readdirSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw cgroupIoError("read", this.path, "", err);
    }
  }

  child(name: string): CgroupDir {
    return new CgroupDir(join(this.path, name), this.journal);
  }
}

/** v1 reports "unlimited" as the largest page-aligned value below 2^63; v2 writes "max". */
const UNLIMITED_FROM = 2 ** 62;

/** Parses one cgroup number; "max" and v1's near-2^63 "unlimited" become Infinity. */
export function parseCgroupNumber(text: string): number {
  const t = text.trim();
  if (t === "max" || t === "-1") return Infinity;
  const n = Number(t);
  if (!Number.isFinite(n)) return NaN;
  return n >= UNLIMITED_FROM ? Infinity : n;
}

export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) out[key] = parseCgroupNumber(value);
  }
  return out;
}

/** A nested-keyed file ("254:0 rbytes=1 wbytes=2" per line: io.stat, io.max). */
export function parseNestedKeyed(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split("\n")) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (!key) continue;
    const entry: Record<string, number> = {};
    for (const p of pairs) {
      const eq = p.indexOf("=");
      if (eq > 0) entry[p.slice(0, eq)] = parseCgroupNumber(p.slice(eq + 1));
    }
    out[key] = entry;
  }
  return out;
}

/** The pids in a cgroup.procs text. */
export function parsePids(text: string): number[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => Number(l));
}
