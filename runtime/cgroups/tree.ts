// Directory-level work shared by both drivers: resolving a cgroupsPath, making and removing
// the directories, listing the processes of a subtree, and waiting on the kernel.
import { readdirSync, readFileSync, rmdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { posix } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CgroupError, CgroupPathError, cgroupIoError } from "./errors.js";
import { parsePids } from "./files.js";

export interface SplitPath {
  absolute: boolean;
  /** The path's components, none empty, none "." or "..". */
  parts: string[];
}

/** Checks and splits an OCI cgroupsPath (runc's "slice:prefix:name" systemd form is not a path here). */
export function splitCgroupsPath(path: string): SplitPath {
  if (typeof path !== "string" || path.trim() === "") throw new CgroupPathError(String(path), "empty");
  if (path.includes("\0")) throw new CgroupPathError(path, "contains a NUL byte");
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new CgroupPathError(path, "'..' would leave the cgroup keel runs in");
  if (parts.length === 0) throw new CgroupPathError(path, "names the root cgroup itself; give a cgroup below it");
  return { absolute: path.startsWith("/"), parts };
}

/** The directory of `path` in one hierarchy: under the caller's own cgroup when relative. */
export function resolveIn(mountpoint: string, ownDir: string, path: SplitPath): { base: string; dir: string } {
  const base = path.absolute ? mountpoint : ownDir;
  return { base, dir: posix.join(base, ...path.parts) };
}

/**
 * mkdir of each level below `base`, off the event loop (a kubelet starts many containers at
 * once, and on cgroup v1 each is one directory per hierarchy, which the kernel takes its time
 * over). Returns the directories this call made, top-down (so a failure can remove exactly those,
 * and v1 cpuset can seed each new level from its parent). The leaf first: its parents (the pod's
 * cgroup) usually exist, and then one mkdir is all it takes.
 */
export async function makeLevels(base: string, parts: string[]): Promise<string[]> {
  const leaf = posix.join(base, ...parts);
  try {
    await mkdir(leaf);
    return [leaf];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return [];
    if (code !== "ENOENT") throw cgroupIoError("mkdir", leaf, "", err);
  }
  const made: string[] = [];
  let dir = base;
  for (const p of parts) {
    dir = posix.join(dir, p);
    try {
      await mkdir(dir);
      made.push(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw cgroupIoError("mkdir", dir, "", err);
    }
  }
  return made;
}

/** The child cgroups of a directory (cgroupfs directories are exactly the child cgroups). */
export function childCgroups(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => posix.join(dir, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw cgroupIoError("read", dir, "", err);
  }
}

/** The pids in `dir` and every cgroup below it. */
export function subtreePids(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    try {
      out.push(...parsePids(readFileSync(posix.join(d, "cgroup.procs"), "utf8")));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw cgroupIoError("read", d, "cgroup.procs", err);
    }
    for (const c of childCgroups(d)) walk(c);
  };
  walk(dir);
  return out;
}

/**
 * Removes `dir` and the cgroups below it, deepest first. rmdir fails with EBUSY while a
 * process is still in the cgroup (an exiting process leaves it a moment after its SIGKILL),
 * so it retries for up to `timeoutMs`. A missing directory is success.
 */
export async function removeTree(dir: string, timeoutMs = 5000): Promise<void> {
  for (const c of childCgroups(dir)) await removeTree(c, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || Date.now() > deadline) {
        const e = cgroupIoError("rmdir", dir, "", err);
        if (code === "EBUSY") {
          const left = subtreePids(dir);
          throw new CgroupError(`${e.message}; processes still in it after ${timeoutMs} ms: ${left.join(" ") || "none (child cgroups?)"}`, e, { cause: err });
        }
        throw e;
      }
    }
    await sleep(delay);
  }
}

/**
 * Runs a create again when a level vanished under it: another container's destroy may remove
 * the shared, momentarily empty "keel" level between this create's mkdirs (ENOENT on a
 * directory or its cgroup.* core files). Anything else fails at once.
 */
export async function retryVanishedLevel(create: () => void | Promise<void>, attempts = 3): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await create();
    } catch (err) {
      const vanished = err instanceof CgroupError && err.code === "ENOENT" && (err.file === "" || err.file.startsWith("cgroup."));
      if (!vanished || i >= attempts) throw err;
    }
  }
}

/** Best-effort rmdir of the now-empty levels keel made between `base` and a removed leaf. */
export function removeEmptyAncestors(base: string, parts: string[]): void {
  for (let n = parts.length - 1; n >= 1; n--) {
    try {
      rmdirSync(posix.join(base, ...parts.slice(0, n)));
    } catch {
      return; // in use by another container (EBUSY), or already gone: leave it
    }
  }
}

/** Polls `check` with a growing delay until it holds; throws a CgroupError after `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs: number, what: { path: string; file: string; expect: string }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; !check(); delay = Math.min(delay * 2, 20)) {
    if (Date.now() > deadline)
      throw new CgroupError(`${what.path}/${what.file} did not become ${what.expect} within ${timeoutMs} ms`, {
        path: what.path,
        file: what.file,
        code: "ETIMEDOUT",
        errno: 110,
      });
    await sleep(delay);
  }
}

/** Sends a signal to each pid, ignoring the ones that are already gone. */
export function signalEach(pids: number[], signal: NodeJS.Signals | number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }
}

/** Removes the directories a failed create made, deepest first; a cgroup that existed stays. */
export function removeMade(made: string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      /* keep the create's own error */
    }
  }
}
