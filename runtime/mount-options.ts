// OCI mount options → mount(2) flags, propagation and filesystem data (as runc and crun parse them).
import { MS } from "../native/index.js";

const FLAGS: Record<string, { set?: number; clear?: number }> = {
  ro: { set: MS.RDONLY }, rw: { clear: MS.RDONLY },
  nosuid: { set: MS.NOSUID }, suid: { clear: MS.NOSUID },
  nodev: { set: MS.NODEV }, dev: { clear: MS.NODEV },
  noexec: { set: MS.NOEXEC }, exec: { clear: MS.NOEXEC },
  sync: { set: MS.SYNCHRONOUS }, async: { clear: MS.SYNCHRONOUS },
  dirsync: { set: MS.DIRSYNC }, mand: { set: MS.MANDLOCK }, nomand: { clear: MS.MANDLOCK },
  noatime: { set: MS.NOATIME }, atime: { clear: MS.NOATIME },
  nodiratime: { set: MS.NODIRATIME }, diratime: { clear: MS.NODIRATIME },
  relatime: { set: MS.RELATIME }, norelatime: { clear: MS.RELATIME },
  strictatime: { set: MS.STRICTATIME }, nostrictatime: { clear: MS.STRICTATIME },
  nosymfollow: { set: MS.NOSYMFOLLOW }, symfollow: { clear: MS.NOSYMFOLLOW },
  lazytime: { set: MS.LAZYTIME }, nolazytime: { clear: MS.LAZYTIME },
  bind: { set: MS.BIND }, rbind: { set: MS.BIND | MS.REC },
  remount: { set: MS.REMOUNT }, defaults: {},
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

export interface ParsedMountOptions {
  flags: number;
  propagation: number[];
  data: string;
}

export function parseMountOptions(options: readonly string[] | undefined): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  for (const opt of options ?? []) {
    const f = FLAGS[opt];
    if (f) {
      flags = (flags | (f.set ?? 0)) & ~(f.clear ?? 0);
      continue;
    }
    const p = PROPAGATION[opt];
    if (p !== undefined) {
      propagation.push(p);
      continue;
    }
    // Options keel does not act on itself (tmpcopyup, idmap, ...) would silently change meaning
    // if passed to the filesystem; everything else is filesystem data (mode=755, size=64k, ...).
    data.push(opt);
  }
  return { flags, propagation, data: data.join(",") };
}

export function propagationFlag(name: string | undefined): number {
  if (!name) return 0;
  return PROPAGATION[name] ?? 0;
}
