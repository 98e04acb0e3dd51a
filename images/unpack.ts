// Safe layer unpack into a layer directory, in overlayfs form.
//
// Every path is resolved inside the layer root by the kernel (openat2 with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS), never by string checks alone: the parent directory of each entry is
// opened as an O_PATH fd and the entry is created relative to it through /proc/self/fd/N/NAME,
// so a symlink planted by this or an earlier entry can never redirect a write. Hostile entries
// (`..` in a name, a symlink whose target climbs out of the root, a hard link to outside, a write
// through a symlink planted in this or a lower layer) raise HostileLayerError; the caller unpacks
// into a temporary directory and removes it, so nothing of a refused layer is kept.
//
// Whiteouts become overlayfs whiteouts: `.wh.NAME` → a 0/0 character device NAME, and
// `.wh..wh..opq` → the xattr trusted.overlay.opaque=y on its directory. Stacking the layer
// directories as overlay lowerdirs then gives the same tree as applying the tars in order.
import {
  closeSync,
  constants as C,
  fstatSync,
  openSync,
  createWriteStream,
  lstatSync,
  rmSync,
  mkdirSync,
  symlinkSync,
  linkSync,
  copyFileSync,
  lchownSync,
  chmodSync,
  lutimesSync,
  utimesSync,
  writeSync,
  fchownSync,
  fchmodSync,
  futimesSync,
} from "node:fs";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { finished } from "node:stream/promises";
import type { Readable } from "node:stream";
import tarStream from "tar-stream";
import { native } from "../native/index.js";
import { HashingStream } from "./digest.js";
import { AutoDecompress, type Compression } from "./decompress.js";
import { HostileLayerError, ImageError } from "./errors.js";

const execFileP = promisify(execFile);

export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 } as const;
const O_PATH = 0o10000000;
const STRICT = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;
const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** Files up to this size are gathered in memory and written with one call (most files in a layer). */
const SMALL_FILE = 1 << 20;

export interface UnpackOptions {
  /** Layer directories below this one, top-most first (for the symlink-through check and hard links). */
  lowerDirs?: string[];
  /** Apply owners (needs root); default: when running as root. */
  chown?: boolean;
  /** A name for errors. */
  layer?: string;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the layer's diff id. */
  diffId: string;
  compression: Compression;
  entries: number;
}

/** Splits an entry name into clean components; `..` anywhere is refused, `.` and `/` dropped. */
export function entryComponents(name: string, layer?: string): string[] {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new HostileLayerError(name, 'the name contains ".."', layer);
  if (name.includes("\0")) throw new HostileLayerError(name, "the name contains a NUL byte", layer);
  return parts;
}

/** Whether a symlink at `entry` (components) pointing to `target` stays inside the root. */
export function symlinkStaysInside(entry: string[], target: string): boolean {
  if (target === "") return false;
  const start = target.startsWith("/") ? [] : entry.slice(0, -1);
  let depth = start.length;
  for (const p of target.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (--depth < 0) return false;
    } else depth++;
  }
  return true;
}

const procPath = (fd: number, name: string): string => `/proc/self/fd/${fd}/${name}`;

function errnoOf(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

/** Opens a directory of the layer beneath rootFd with no symlink anywhere on the way. */
function openDirStrict(rootFd: number, rel: string): number {
  return native.openat2(rootFd, rel === "" ? "." : rel, O_PATH | C.O_DIRECTORY, 0, STRICT);
}

/** lstat of a path beneath a root, refusing to traverse symlinks; undefined when absent. */
function lstatBeneath(rootFd: number, rel: string): { isSymlink: boolean; isDir: boolean; isWhiteout: boolean } | "blocked" | undefined {
  let fd: number;
  try {
    fd = native.openat2(rootFd, rel, O_PATH | C.O_NOFOLLOW, 0, STRICT);
  } catch (e) {
    const code = errnoOf(e);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "ELOOP" || code === "EXDEV") return "blocked";
    throw e;
  }
  try {
    const st = fstatSync(fd);
    return { isSymlink: st.isSymbolicLink(), isDir: st.isDirectory(), isWhiteout: st.isCharacterDevice() && st.rdev === 0 };
  } finally {
    closeSync(fd);
  }
}

async function setXattr(fd: number, name: string, key: string, value: Buffer): Promise<void> {
  // Node has no setxattr; setfattr (Debian `attr`) on the fd's path through our own /proc entry.
  await execFileP("setfattr", ["-h", "-n", key, "-v", `0x${value.toString("hex")}`, `/proc/${process.pid}/fd/${fd}/${name}`]);
}

class LayerWriter {
  private readonly rootFd: number;
  private readonly lowerFds: number[];
  /** Directories this layer itself declares (they shadow whatever lower layers have there). */
  private readonly declaredDirs = new Set<string>([""]);
  private readonly dirTimes: { rel: string; mtime: Date }[] = [];
  /** Prefixes already checked to be directories here and not symlinks below (until replaced). */
  private readonly checked = new Set<string>();
  private readonly chown: boolean;

  constructor(readonly root: string, private readonly opts: UnpackOptions) {
    this.rootFd = openSync(root, C.O_RDONLY | C.O_DIRECTORY);
    this.lowerFds = (opts.lowerDirs ?? []).map((d) => openSync(d, C.O_RDONLY | C.O_DIRECTORY));
    this.chown = opts.chown ?? process.getuid?.() === 0;
  }

  close(): void {
    for (const fd of [this.rootFd, ...this.lowerFds]) closeSync(fd);
  }

  private hostile(entry: string, reason: string): HostileLayerError {
    return new HostileLayerError(entry, reason, this.opts.layer);
  }

  /**
   * Refuses to write under a prefix that is a symlink in this layer or, unless this layer
   * declares that directory itself, in the top-most lower layer that has it.
   */
  private checkPrefixes(entry: string, parts: string[]): void {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (this.checked.has(prefix)) continue;
      const here = lstatBeneath(this.rootFd, prefix);
      if (here === "blocked" || (here && here.isSymlink)) throw this.hostile(entry, `writes through the symlink "${prefix}" planted in this layer`);
      if (this.declaredDirs.has(prefix)) continue;
      for (const fd of this.lowerFds) {
        const st = lstatBeneath(fd, prefix);
        if (st === undefined || st === "blocked") continue;
        if (st.isSymlink) throw this.hostile(entry, `writes through the symlink "${prefix}" planted in a lower layer`);
        break;
      }
      this.checked.add(prefix);
    }
  }

  /** Opens the entry's parent directory, creating missing parents (as plain 0755 directories). */
  private async openParent(entry: string, parts: string[]): Promise<number> {
    const parent = parts.slice(0, -1);
    try {
      return openDirStrict(this.rootFd, parent.join("/"));
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ELOOP" || code === "EXDEV") throw this.hostile(entry, "its parent path goes through a symlink");
      if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
    }
    let fd = openDirStrict(this.rootFd, "");
    try {
      for (const p of parent) {
        let next: number;
        try {
          next = native.openat2(fd, p, O_PATH | C.O_DIRECTORY, 0, STRICT);
        } catch (e) {
          const code = errnoOf(e);
          if (code === "ELOOP" || code === "EXDEV") throw this.hostile(entry, `its parent "${p}" is a symlink`);
          if (code === "ENOTDIR") rmSync(procPath(fd, p), { force: true }); // a file replaced by a directory
          else if (code !== "ENOENT") throw e;
          mkdirSync(procPath(fd, p), { mode: 0o755 });
          next = native.openat2(fd, p, O_PATH | C.O_DIRECTORY, 0, STRICT);
        }
        closeSync(fd);
        fd = next;
      }
      return fd;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Removes whatever is at NAME in the parent (a later entry replaces an earlier one), keeping directories for directories. */
  private clear(pfd: number, name: string, keepDir: boolean, rel: string): boolean {
    const st = lstatSync(procPath(pfd, name), { throwIfNoEntry: false });
    if (!st) return false;
    if (keepDir && st.isDirectory()) return true;
    rmSync(procPath(pfd, name), { recursive: true, force: true });
    // What was checked beneath the replaced entry no longer holds.
    for (const c of this.checked) if (c === rel || c.startsWith(`${rel}/`)) this.checked.delete(c);
    return false;
  }

  /** Owner, mode, xattrs and times of a new entry; through its fd when there is one. */
  private async finish(pfd: number, name: string, h: tarStream.Header, isLink: boolean, fd?: number): Promise<void> {
    const p = procPath(pfd, name);
    const mode = (h.mode ?? 0o644) & 0o7777;
    const mtime = h.mtime ?? new Date(0);
    // chmod after chown, which clears setuid bits.
    if (fd !== undefined) {
      if (this.chown) fchownSync(fd, h.uid ?? 0, h.gid ?? 0);
      fchmodSync(fd, mode);
    } else {
      if (this.chown) lchownSync(p, h.uid ?? 0, h.gid ?? 0);
      if (!isLink) chmodSync(p, mode);
    }
    for (const [k, v] of Object.entries(h.pax ?? {})) {
      if (!k.startsWith("SCHILY.xattr.")) continue;
      const key = k.slice("SCHILY.xattr.".length);
      // Overlay's own attributes in a layer would change how it stacks: never from a tar.
      if (key.startsWith("trusted.overlay.")) continue;
      await setXattr(pfd, name, key, Buffer.from(v, "latin1")).catch(() => undefined);
    }
    if (fd !== undefined) futimesSync(fd, mtime, mtime);
    else lutimesSync(p, mtime, mtime);
  }

  async entry(h: tarStream.Header, body: Readable): Promise<void> {
    const parts = entryComponents(h.name, this.opts.layer);
    if (parts.length === 0) {
      // The root itself: keep its mode and owner.
      if (h.type === "directory") this.dirTimes.push({ rel: "", mtime: h.mtime ?? new Date(0) });
      return;
    }
    // aufs metadata (.wh..wh.plnk/, .wh..wh.aufs) at the top is not content, as docker skips it.
    if (parts[0].startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`) && !(parts.length === 1 && parts[0] === OPAQUE)) return;
    this.checkPrefixes(h.name, parts);
    const base = parts[parts.length - 1];
    const pfd = await this.openParent(h.name, parts);
    try {
      if (base === OPAQUE) {
        await setXattr(pfd, "", "trusted.overlay.opaque", Buffer.from("y"));
        return;
      }
      if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return; // aufs metadata (.wh..wh.plnk ...): not content
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const victim = base.slice(WHITEOUT_PREFIX.length);
        if (victim === "" || victim === "." || victim === "..") throw this.hostile(h.name, "a whiteout of nothing");
        this.clear(pfd, victim, false, [...parts.slice(0, -1), victim].join("/"));
        native.mknod(procPath(pfd, victim), C.S_IFCHR | 0o000, 0, 0);
        return;
      }
      const rel = parts.join("/");
      switch (h.type) {
        case "directory": {
          if (!this.clear(pfd, base, true, rel)) mkdirSync(procPath(pfd, base), { mode: 0o700 });
          this.declaredDirs.add(rel);
          await this.finish(pfd, base, h, false);
          this.dirTimes.push({ rel, mtime: h.mtime ?? new Date(0) });
          return;
        }
        case "file":
        case "contiguous-file": {
          this.clear(pfd, base, false, rel);
          const fd = native.openat2(pfd, base, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600, STRICT);
          if ((h.size ?? 0) <= SMALL_FILE) {
            try {
              const chunks: Buffer[] = [];
              for await (const c of body) chunks.push(c as Buffer);
              const data = Buffer.concat(chunks);
              for (let off = 0; off < data.length; ) off += writeSync(fd, data, off);
              await this.finish(pfd, base, h, false, fd);
            } finally {
              closeSync(fd);
            }
            return;
          }
          const out = createWriteStream("", { fd, autoClose: true });
          body.pipe(out);
          await finished(out);
          await this.finish(pfd, base, h, false);
          return;
        }
        case "symlink": {
          const target = h.linkname ?? "";
          if (!symlinkStaysInside(parts, target)) throw this.hostile(h.name, `symlink to "${target}" escapes the root`);
          this.clear(pfd, base, false, rel);
          symlinkSync(target, procPath(pfd, base));
          await this.finish(pfd, base, h, true);
          return;
        }
        case "link": {
          await this.hardlink(h, pfd, base, rel);
          return;
        }
        case "character-device":
        case "block-device":
        case "fifo": {
          this.clear(pfd, base, false, rel);
          const type = h.type === "fifo" ? C.S_IFIFO : h.type === "block-device" ? C.S_IFBLK : C.S_IFCHR;
          native.mknod(procPath(pfd, base), type | ((h.mode ?? 0o644) & 0o7777), h.devmajor ?? 0, h.devminor ?? 0);
          await this.finish(pfd, base, h, false);
          return;
        }
        default:
          // pax/gnu headers are consumed by tar-stream; anything else is skipped like other engines do.
          return;
      }
    } finally {
      closeSync(pfd);
    }
  }

  private async hardlink(h: tarStream.Header, pfd: number, base: string, rel: string): Promise<void> {
    const target = h.linkname ?? "";
    let tparts: string[];
    try {
      tparts = entryComponents(target, this.opts.layer);
    } catch {
      throw this.hostile(h.name, `hard link to "${target}" is outside the root`);
    }
    if (tparts.length === 0) throw this.hostile(h.name, "hard link to the root directory");
    const tparent = tparts.slice(0, -1).join("/");
    const tname = tparts[tparts.length - 1];
    this.clear(pfd, base, false, rel);
    let tfd: number | undefined;
    try {
      tfd = openDirStrict(this.rootFd, tparent);
      const st = lstatSync(procPath(tfd, tname));
      if (st.isDirectory()) throw this.hostile(h.name, `hard link to the directory "${target}"`);
      linkSync(procPath(tfd, tname), procPath(pfd, base));
      return;
    } catch (e) {
      if (e instanceof ImageError) throw e;
      const code = errnoOf(e);
      if (code === "ELOOP" || code === "EXDEV") throw this.hostile(h.name, `hard link to "${target}" goes through a symlink`);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
    } finally {
      if (tfd !== undefined) closeSync(tfd);
    }
    // The target is in a lower layer: copy it up, as a link across overlay layers would.
    for (const lfd of this.lowerFds) {
      const st = lstatBeneath(lfd, target.replace(/^\/+/, ""));
      if (st === undefined || st === "blocked") continue;
      if (st.isSymlink || st.isDir || st.isWhiteout) break;
      const dfd = openDirStrict(lfd, tparent);
      try {
        copyFileSync(procPath(dfd, tname), procPath(pfd, base));
        await this.finish(pfd, base, h, false);
      } finally {
        closeSync(dfd);
      }
      return;
    }
    throw this.hostile(h.name, `hard link to "${target}", which is not in this layer or below`);
  }

  /** Directory mtimes last, deepest first, since writing children changes them. */
  async settleDirTimes(): Promise<void> {
    for (const { rel, mtime } of this.dirTimes.reverse()) {
      const fd = openDirStrict(this.rootFd, rel);
      try {
        try {
          utimesSync(`/proc/self/fd/${fd}`, mtime, mtime);
        } catch {
          /* best effort, as tar does */
        }
      } finally {
        closeSync(fd);
      }
    }
  }
}

/**
 * Unpacks a (possibly compressed) layer tar into `dir`, which must exist and be empty.
 * On error `dir` may hold part of the layer: unpack into a temporary directory and remove it.
 */
export async function unpackLayer(input: Readable, dir: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const dec = new AutoDecompress();
  const hasher = new HashingStream();
  const extract = tarStream.extract();
  const fail = (e: Error) => extract.destroy(e);
  input.on("error", fail);
  dec.on("error", fail);
  hasher.on("error", fail);
  input.pipe(dec).pipe(hasher).pipe(extract as unknown as NodeJS.WritableStream);
  const writer = new LayerWriter(dir, opts);
  let entries = 0;
  try {
    for await (const entry of extract) {
      try {
        await writer.entry(entry.header, entry as unknown as Readable);
      } finally {
        entry.resume();
      }
      entries++;
    }
    await writer.settleDirTimes();
    hasher.resume();
    await finished(hasher);
  } catch (e) {
    input.destroy();
    throw e;
  } finally {
    writer.close();
  }
  return { diffId: hasher.digest(), compression: dec.compression ?? "none", entries };
}
