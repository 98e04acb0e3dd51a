// Snapshots: each layer unpacked once, by chain id, and shared read-only by every image and
// container that has it; a container's rootfs is an overlay mount of those layer directories
// with its own upper and work directories.
//
//   ROOT/snapshots/<chain-hex>/fs         the layer in overlay form (see unpack.ts)
//   ROOT/snapshots/<chain-hex>/meta.json  { chainId, diffId, parent, short }
//   ROOT/l/<short>                        symlink → ../snapshots/<chain-hex>/fs
//   ROOT/active/<container-id>/           upper/, work/, merged/, active.json { chainIds, mountpoint }
//
// Overlay takes its lower directories as one mount option string, limited to a page (4 KiB).
// Like containers/storage, keel mounts from ROOT as the working directory with short relative
// names ("l/0123456789ab"), 15 bytes a layer instead of ~100, so images of 200+ layers mount.
import { mkdir, readFile, readdir, rename, rm, symlink, writeFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { native, MNT_DETACH } from "../native/index.js";
import { chainIds } from "./digest.js";
import { type ContentStore, type Lease, type ResolvedImage, pidAlive } from "./content-store.js";
import { DigestMismatchError, ImageError } from "./errors.js";
import { writeFileAtomic } from "../lib/atomic-file.js";

const SHORT_LEN = 12;
const MAX_OPTION_BYTES = 4000;
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface PreparedRootfs {
  /** The overlay mount: the container's root filesystem. */
  rootfs: string;
  containerId: string;
  image: ResolvedImage;
  /** The container's own changes (overlay's upper directory): see diff.ts to make a layer of them. */
  upperDir: string;
  /** Unmounts the overlay and deletes the container's upper and work directories. */
  cleanup(): Promise<void>;
}

export const snapshotDir = (store: ContentStore, chainId: string): string => join(store.root, "snapshots", chainId.replace(/^sha256:/, ""));
export const layerFsDir = (store: ContentStore, chainId: string): string => join(snapshotDir(store, chainId), "fs");
const shortName = (chainId: string): string => chainId.replace(/^sha256:/, "").slice(0, SHORT_LEN);
const activeDir = (store: ContentStore, id: string): string => join(store.root, "active", id);

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Unpacks every layer of an image that is not unpacked yet (each once, by chain id) and returns
 * the chain ids, bottom first. Two processes unpacking the same layer both succeed: each unpacks
 * into its own temporary directory and the first rename wins.
 */
export async function ensureLayers(store: ContentStore, image: ResolvedImage, lease?: Lease): Promise<string[]> {
  const diffIds = image.config.rootfs.diff_ids;
  if (diffIds.length !== image.manifest.layers.length)
    throw new ImageError("ELAYERS", `image ${image.name}: config has ${diffIds.length} diff ids for ${image.manifest.layers.length} layers`);
  const chains = chainIds(diffIds);
  if (lease) await lease.hold([], chains);
  await mkdir(join(store.root, "l"), { recursive: true });
  for (let i = 0; i < chains.length; i++) {
    const dir = snapshotDir(store, chains[i]);
    if (await exists(join(dir, "meta.json"))) continue;
    const tmp = join(store.root, "snapshots", `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    await mkdir(join(tmp, "fs"), { recursive: true });
    try {
      const lowerDirs = chains.slice(0, i).reverse().map((c) => layerFsDir(store, c));
      const layer = image.manifest.layers[i];
      // Imported here: the tar and decompression code is needed only for a layer not yet unpacked.
      const { unpackLayer } = await import("./unpack.js");
      const res = await unpackLayer(store.openBlob(layer.digest), join(tmp, "fs"), { lowerDirs, layer: layer.digest });
      if (res.diffId !== diffIds[i]) throw new DigestMismatchError(diffIds[i], res.diffId, `layer ${layer.digest} (uncompressed)`);
      await writeFile(join(tmp, "meta.json"), JSON.stringify({ chainId: chains[i], diffId: diffIds[i], parent: chains[i - 1] ?? null, short: shortName(chains[i]) }));
      try {
        await rename(tmp, dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
      }
      await symlink(`../snapshots/${chains[i].replace(/^sha256:/, "")}/fs`, join(store.root, "l", shortName(chains[i]))).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return chains;
}

/** The lowerdir option for a stack of chain ids (bottom first), relative to the store root. */
export function lowerdirOption(chains: string[]): string {
  return chains
    .slice()
    .reverse()
    .map((c) => `l/${shortName(c)}`)
    .join(":");
}

/** Mounts an overlay of the given snapshots at `target`, with upper and work directories. */
export function mountOverlay(store: ContentStore, chains: string[], upper: string, work: string, target: string, readonly = false): void {
  const lower = chains.length > 0 ? lowerdirOption(chains) : "empty";
  // Without an upper directory overlay needs two lower ones: an empty directory makes the second.
  const data = readonly ? `lowerdir=${lower}:empty` : `lowerdir=${lower},upperdir=${upper},workdir=${work}`;
  if (data.length > MAX_OPTION_BYTES) throw new ImageError("ETOOMANYLAYERS", `image has ${chains.length} layers: the overlay mount options exceed a page`);
  // Relative lowerdir names are resolved against the working directory at mount time.
  const cwd = process.cwd();
  process.chdir(store.root);
  try {
    native.mount("overlay", target, "overlay", readonly ? 1 : 0, data);
  } finally {
    process.chdir(cwd);
  }
}

/**
 * Prepares a container's root filesystem from an image: ensures its layers are unpacked and
 * mounts an overlay at ROOT/active/<id>/merged (or at `target`). The container's snapshots are
 * recorded in active.json so garbage collection keeps them until `cleanup` or `releaseRootfs`.
 */
export async function prepareRootfs(
  store: ContentStore,
  imageRef: string,
  containerId: string,
  opts: { target?: string; readonly?: boolean } = {},
): Promise<PreparedRootfs> {
  if (!CONTAINER_ID.test(containerId)) throw new ImageError("ECONTAINERID", `invalid container id "${containerId}"`);
  const image = await store.resolve(imageRef);
  const lease = await store.createLease(
    [image.refDigest, image.digest, image.configDigest, ...image.manifest.layers.map((l) => l.digest)],
    chainIds(image.config.rootfs.diff_ids),
  );
  try {
    const chains = await ensureLayers(store, image, lease);
    const dir = activeDir(store, containerId);
    await mkdir(dir, { recursive: false }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "EEXIST") throw new ImageError("EEXIST", `container ${containerId} already has a rootfs (${dir})`);
      throw e;
    });
    const target = opts.target ?? join(dir, "merged");
    for (const d of ["upper", "work"]) await mkdir(join(dir, d));
    await mkdir(target, { recursive: true });
    await mkdir(join(store.root, "empty"), { recursive: true });
    // Not fsync'd: the record keeps GC off a mounted rootfs, and a machine crash takes the mount with it.
    await writeFileAtomic(join(dir, "active.json"), JSON.stringify({ containerId, image: image.name, digest: image.digest, chainIds: chains, mountpoint: target }), 0o644, { durable: false });
    try {
      mountOverlay(store, chains, join(dir, "upper"), join(dir, "work"), target, opts.readonly);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return { rootfs: target, containerId, image, upperDir: join(dir, "upper"), cleanup: () => releaseRootfs(store, containerId) };
  } finally {
    await lease.release();
  }
}

/** Unmounts a container's rootfs and removes its upper/work directories (idempotent). */
export async function releaseRootfs(store: ContentStore, containerId: string): Promise<void> {
  const dir = activeDir(store, containerId);
  let mountpoint = join(dir, "merged");
  try {
    mountpoint = (JSON.parse(await readFile(join(dir, "active.json"), "utf8")) as { mountpoint: string }).mountpoint;
  } catch {
    /* no record: the default place */
  }
  try {
    native.umount2(mountpoint, MNT_DETACH);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "EINVAL" && code !== "ENOENT") throw e;
  }
  await rm(dir, { recursive: true, force: true });
}

/** Chain ids used by prepared container rootfs (kept by garbage collection). */
export async function activeChainIds(store: ContentStore): Promise<Set<string>> {
  const out = new Set<string>();
  for (const id of await readdir(join(store.root, "active")).catch(() => [] as string[])) {
    try {
      const rec = JSON.parse(await readFile(join(activeDir(store, id), "active.json"), "utf8")) as { chainIds: string[] };
      rec.chainIds.forEach((c) => out.add(c));
    } catch {
      /* being created or removed */
    }
  }
  return out;
}

/** Deletes snapshots not in `keep` (chain ids). Call under the store's GC lock. */
export async function collectSnapshots(store: ContentStore, keep: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  const dir = join(store.root, "snapshots");
  for (const hex of await readdir(dir)) {
    if (hex.startsWith(".tmp-")) {
      const pid = Number(hex.split("-")[1]);
      if (!pidAlive(pid)) await rm(join(dir, hex), { recursive: true, force: true });
      continue;
    }
    if (keep.has(`sha256:${hex}`)) continue;
    await rm(join(store.root, "l", hex.slice(0, SHORT_LEN)), { force: true });
    await rm(join(dir, hex), { recursive: true, force: true });
    removed.push(`sha256:${hex}`);
  }
  return removed;
}
