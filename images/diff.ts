// The changes a container made, as a layer: an overlay upper directory turned back into OCI
// layer form — 0/0 character devices become `.wh.NAME` whiteouts and directories marked
// trusted.overlay.opaque=y get a `.wh..wh..opq` entry. This is how a build's RUN step (or a
// commit) captures what the command changed.
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { execFile } from "node:child_process";
import { join } from "node:path";
import type { LayerEntry } from "./layer-writer.js";

/** Directories of `upper` marked opaque, relative to it (getfattr: Node has no getxattr). */
async function opaqueDirs(upper: string): Promise<Set<string>> {
  const stdout = await new Promise<string>((resolve) => {
    // Exit status 1 only means some entry (a dangling symlink) had no attributes to read.
    execFile("getfattr", ["-R", "-P", "-h", "--absolute-names", "-m", "^trusted\\.overlay\\.opaque$", "-d", upper], { maxBuffer: 64 << 20 }, (_e, out) =>
      resolve(out ?? ""),
    );
  });
  const out = new Set<string>();
  let file: string | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith("# file: ")) file = line.slice(8);
    else if (file && /^trusted\.overlay\.opaque="y"$/.test(line)) out.add(file === upper ? "" : file.slice(upper.length + 1));
  }
  return out;
}

/** The entries of a layer holding what `upper` (an overlay upper directory) changed. */
export async function upperDirEntries(upper: string): Promise<LayerEntry[]> {
  const opaque = await opaqueDirs(upper);
  const out: LayerEntry[] = [];
  const inodes = new Map<string, string>();
  if (opaque.has("")) out.push({ type: "opaque", path: "" });
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(upper, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(upper, path);
      const st = await lstat(abs);
      const own = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isCharacterDevice() && st.rdev === 0) out.push({ type: "whiteout", path });
      else if (st.isDirectory()) {
        out.push({ type: "directory", path, ...own });
        if (opaque.has(path)) out.push({ type: "opaque", path });
        await walk(path);
      } else if (st.isSymbolicLink()) out.push({ type: "symlink", path, target: await readlink(abs), uid: st.uid, gid: st.gid });
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        if (st.nlink > 1 && inodes.has(key)) out.push({ type: "link", path, target: inodes.get(key)! });
        else {
          inodes.set(key, path);
          out.push({ type: "file", path, data: await readFile(abs), ...own });
        }
      } else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
        const kind = st.isFIFO() ? "fifo" : st.isBlockDevice() ? "block" : "char";
        out.push({ type: "device", path, kind, major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00), ...own });
      } // sockets are not content
    }
  };
  await walk("");
  return out;
}
