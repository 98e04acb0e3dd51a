// keel's demo and test image: Debian's busybox-static packed as a one-layer OCI image, with
// applet symlinks, root and nobody in /etc/passwd and /etc/group, and Cmd ["sh"]. Sorted entries
// and fixed times (the binary's own mtime) make the digest the same on every machine with the
// same busybox package.
import { readFile, stat } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type ContentStore } from "./content-store.js";
import { commitImage, packLayer, type LayerEntry } from "./layer-writer.js";
import { localBuildName } from "./reference.js";
import { ImageError } from "./errors.js";

/** Applets linked in /bin when busybox has them: what scripts and tests commonly call. */
export const COMMON_APPLETS = [
  "[", "[[", "ash", "awk", "basename", "cat", "chgrp", "chmod", "chown", "cmp", "cp", "cut", "date", "dd", "df", "diff",
  "dirname", "du", "echo", "env", "expr", "false", "find", "free", "grep", "gunzip", "gzip", "head", "hostname", "id",
  "ifconfig", "ip", "kill", "killall", "less", "ln", "ls", "md5sum", "mkdir", "mkfifo", "mknod", "more", "mount", "mv",
  "nc", "netstat", "nslookup", "ping", "printenv", "printf", "ps", "pwd", "readlink", "realpath", "rm", "rmdir", "sed",
  "seq", "sh", "sha256sum", "sleep", "sort", "stat", "sync", "tail", "tar", "tee", "test", "timeout", "top", "touch",
  "tr", "true", "umount", "uname", "uniq", "uptime", "vi", "wc", "wget", "which", "whoami", "xargs", "yes", "zcat",
];

export interface BuildBusyboxOptions {
  /** The busybox binary (Debian's busybox-static): /bin/busybox. */
  binary?: string;
  /** The name to tag; a short name goes under localhost/ (found again as "busybox"). */
  name?: string;
}

export async function buildBusyboxImage(store: ContentStore, opts: BuildBusyboxOptions = {}): Promise<{ name: string; digest: string }> {
  const binary = opts.binary ?? "/bin/busybox";
  let data: Buffer;
  try {
    data = await readFile(binary);
  } catch (e) {
    throw new ImageError("ENOBUSYBOX", `cannot read ${binary}: install Debian's busybox-static`, { cause: e });
  }
  const { stdout } = await promisify(execFile)(binary, ["--list"]);
  const available = new Set(stdout.split("\n").filter(Boolean));
  const entries: LayerEntry[] = [
    ...["bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "usr/bin", "usr/sbin", "sbin", "var", "var/tmp"].map(
      (path): LayerEntry => ({ type: "directory", path, mode: path.endsWith("tmp") ? 0o1777 : path === "root" ? 0o700 : 0o755 }),
    ),
    { type: "file", path: "bin/busybox", data, mode: 0o755 },
    { type: "file", path: "etc/passwd", data: Buffer.from("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n") },
    { type: "file", path: "etc/group", data: Buffer.from("root:x:0:\nnobody:x:65534:\n") },
  ];
  for (const a of COMMON_APPLETS) if (available.has(a)) entries.push({ type: "symlink", path: `bin/${a}`, target: "busybox" });
  const tar = await packLayer(entries);
  const name = localBuildName(opts.name ?? "busybox");
  return store.withLease(async (lease) => {
    const { manifest } = await commitImage(store, {
      layers: [{ tar, createdBy: `keel: busybox-static from ${binary}` }],
      // The binary's mtime (the Debian package's build time): a real date, and the same on every
      // machine with the same package, so the digest stays reproducible.
      created: (await stat(binary)).mtime,
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
      lease,
    });
    await store.setRef(name, manifest);
    return { name, digest: manifest.digest };
  });
}
