// The runtime's state on disk: one directory per container under the root (default /run/keel),
// holding state.json (written atomically: temp file, rename) and the exec FIFO.
// This directory is the truth about containers; any later process finds them here.
import { mkdirSync, readFileSync, readdirSync, rmSync, existsSync, statSync } from "node:fs";
import { writeFileAtomicSync } from "../lib/atomic-file.js";
import { join } from "node:path";
import type { Spec } from "../oci/runtime-spec.js";
import { ContainerExistsError, ContainerNotFoundError, InvalidIdError } from "./errors.js";

export const DEFAULT_ROOT = "/run/keel";

export interface ContainerRecord {
  id: string;
  bundle: string;
  rootfs: string;
  /** 0 until the first process exists. */
  pid: number;
  /** /proc/PID/stat start time: tells our process from a later one that reused the pid. */
  pidStartTime: string;
  created: string;
  /** Relative or absolute cgroupsPath as the driver resolved it; "" when there is none. */
  cgroupPath: string;
  cgroupVersion: 1 | 2;
  paused: boolean;
  /** Set once start has released the first process. */
  started: boolean;
  spec: Spec;
  annotations?: Record<string, string>;
}

const ID = /^[\w+\-][\w+\-.]{0,1023}$/;

export function checkId(id: string): void {
  if (typeof id !== "string" || !ID.test(id)) throw new InvalidIdError(String(id));
}

/** A record without its spec: what a container's state needs. */
export type RecordSummary = Omit<ContainerRecord, "spec">;

/** Summaries kept per StateDir: at most this many. */
const CACHED_SUMMARIES = 4096;

export class StateDir {
  /**
   * Summaries as last parsed, by id, with the identity of the file they came from. A record
   * holds the container's whole OCI spec (its seccomp profile alone is tens of kilobytes) and a
   * kubelet asks every container's state twice a second; a stat tells whether the file is still
   * the one parsed (every write renames a new file into place, so its inode changes). The spec is
   * not kept: hundreds of them would be most of a kubelet's memory.
   */
  private readonly summaries = new Map<string, { file: string; rec: RecordSummary }>();

  constructor(readonly root: string = DEFAULT_ROOT) {}

  dir(id: string): string {
    checkId(id);
    return join(this.root, id);
  }
  fifo(id: string): string {
    return join(this.dir(id), "exec.fifo");
  }

  /** Claims the id: mkdir is atomic, so two creators of one id cannot both win. */
  claim(id: string): string {
    const dir = this.dir(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new ContainerExistsError(id);
      throw e;
    }
    return dir;
  }

  write(rec: ContainerRecord): void {
    // Renamed into place but not fsync'd (as runc): the state describes processes that a machine
    // crash ends, and the default root /run is a tmpfs.
    writeFileAtomicSync(join(this.dir(rec.id), "state.json"), JSON.stringify(rec), 0o600, { durable: false });
  }

  read(id: string): ContainerRecord {
    const dir = this.dir(id);
    try {
      return JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as ContainerRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ContainerNotFoundError(id);
      throw e;
    }
  }

  /** The record without its spec, parsed once per version of the file (a copy: callers may change it). */
  summary(id: string): RecordSummary {
    const path = join(this.dir(id), "state.json");
    try {
      const st = statSync(path, { bigint: true });
      const file = `${st.ino}:${st.mtimeNs}:${st.size}`;
      const hit = this.summaries.get(id);
      if (hit?.file === file) return { ...hit.rec };
      const { spec: _spec, ...rec } = JSON.parse(readFileSync(path, "utf8")) as ContainerRecord;
      this.summaries.delete(id);
      this.summaries.set(id, { file, rec });
      if (this.summaries.size > CACHED_SUMMARIES) this.summaries.delete(this.summaries.keys().next().value!);
      return { ...rec };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new ContainerNotFoundError(id);
      throw e;
    }
  }

  exists(id: string): boolean {
    return existsSync(this.dir(id));
  }

  /** Ids with a state directory (including half-created ones: `delete --force` cleans those). */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true }).filter((d) => d.isDirectory() && ID.test(d.name)).map((d) => d.name).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }

  remove(id: string): void {
    this.summaries.delete(id);
    rmSync(this.dir(id), { recursive: true, force: true });
  }
}

/** Field 22 of /proc/PID/stat, or "" if the process is gone. */
export function pidStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
  } catch {
    return "";
  }
}

/** Is the container's first process still the one we started (and not a zombie)? */
export function processAlive(rec: Pick<ContainerRecord, "pid" | "pidStartTime">): boolean {
  if (!rec.pid) return false;
  try {
    const stat = readFileSync(`/proc/${rec.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] !== "Z" && fields[0] !== "X" && fields[19] === rec.pidStartTime;
  } catch {
    return false;
  }
}
