// Writes layers and images: a sorted, fixed-timestamp tar (tar-stream) gzipped by node:zlib,
// so the same inputs give the same digests; and the config + manifest + ref that make an image.
import { gzipSync } from "node:zlib";
import tarStream from "tar-stream";
import { type Descriptor, type ImageConfig, type ImageManifest, type ImageRuntimeConfig, type HistoryEntry, MediaType } from "../oci/image-spec.js";
import { sha256 } from "./digest.js";
import { type ContentStore, type Lease, type ResolvedImage, hostPlatform } from "./content-store.js";

/** The fixed time of built images and their files, unless SOURCE_DATE_EPOCH says otherwise. */
export function buildEpoch(): Date {
  const s = Number(process.env.SOURCE_DATE_EPOCH);
  return new Date(Number.isFinite(s) && s > 0 ? s * 1000 : 0);
}

export type LayerEntry =
  | { type: "directory"; path: string; mode?: number; uid?: number; gid?: number }
  | { type: "file"; path: string; data: Buffer; mode?: number; uid?: number; gid?: number }
  | { type: "symlink"; path: string; target: string; uid?: number; gid?: number }
  | { type: "link"; path: string; target: string }
  | { type: "device"; path: string; kind: "char" | "block" | "fifo"; major?: number; minor?: number; mode?: number; uid?: number; gid?: number }
  /** The path was deleted (`.wh.NAME`). */
  | { type: "whiteout"; path: string }
  /** The directory hides what lower layers have in it (`.wh..wh..opq`). */
  | { type: "opaque"; path: string };

/** The name an entry has in the tar (whiteouts and opaque markers get their .wh. names). */
function tarName(e: LayerEntry): string {
  const name = e.path.replace(/^\/+/, "");
  if (e.type === "whiteout") {
    const i = name.lastIndexOf("/");
    return `${name.slice(0, i + 1)}.wh.${name.slice(i + 1)}`;
  }
  if (e.type === "opaque") return name ? `${name}/.wh..wh..opq` : ".wh..wh..opq";
  return e.type === "directory" ? `${name}/` : name;
}

/** A tar of the entries, sorted by name, every mtime the build epoch. */
export async function packLayer(entries: LayerEntry[], mtime = buildEpoch()): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on("end", () => resolve());
    pack.on("error", reject);
  });
  const named = entries.map((e) => ({ e, name: tarName(e) })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { e, name } of named) {
    if (e.type === "whiteout" || e.type === "opaque") pack.entry({ name, mode: 0o644, mtime, uid: 0, gid: 0 }, Buffer.alloc(0));
    else if (e.type === "directory") pack.entry({ name, type: "directory", mode: e.mode ?? 0o755, mtime, uid: e.uid ?? 0, gid: e.gid ?? 0 });
    else if (e.type === "file") pack.entry({ name, type: "file", mode: e.mode ?? 0o644, mtime, uid: e.uid ?? 0, gid: e.gid ?? 0 }, e.data);
    else if (e.type === "symlink") pack.entry({ name, type: "symlink", linkname: e.target, mode: 0o777, mtime, uid: e.uid ?? 0, gid: e.gid ?? 0 });
    else if (e.type === "device") {
      const type = e.kind === "fifo" ? "fifo" : e.kind === "block" ? "block-device" : "character-device";
      pack.entry({ name, type, devmajor: e.major ?? 0, devminor: e.minor ?? 0, mode: e.mode ?? 0o644, mtime, uid: e.uid ?? 0, gid: e.gid ?? 0 });
    } else pack.entry({ name, type: "link", linkname: e.target.replace(/^\/+/, ""), mode: 0o644, mtime, uid: 0, gid: 0 });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface NewLayer {
  /** Uncompressed tar. */
  tar: Buffer;
  createdBy?: string;
}

export interface CommitOptions {
  base?: ResolvedImage;
  layers: NewLayer[];
  /** Runtime config set over the base's. */
  config?: ImageRuntimeConfig;
  /** History entries for steps without a layer (ENV, CMD ...). */
  emptyHistory?: string[];
  created?: Date;
  author?: string;
  lease?: Lease;
}

/** Stores the layers (gzip), config and manifest of a new image; returns the manifest descriptor. */
export async function commitImage(store: ContentStore, opts: CommitOptions): Promise<{ manifest: Descriptor; config: ImageConfig; configDigest: string }> {
  const created = (opts.created ?? buildEpoch()).toISOString();
  const baseLayers = opts.base?.manifest.layers ?? [];
  const baseConfig = opts.base?.config;
  const layers: Descriptor[] = [...baseLayers];
  const diffIds = [...(baseConfig?.rootfs.diff_ids ?? [])];
  const history: HistoryEntry[] = [...(baseConfig?.history ?? [])];
  for (const l of opts.layers) {
    // level 9 and Node's fixed gzip header (mtime 0, OS unix) make the bytes reproducible.
    const gz = gzipSync(l.tar, { level: 9 });
    const stored = await store.writeBlob(gz, { digest: sha256(gz), size: gz.length }, opts.lease);
    layers.push({ mediaType: MediaType.ociLayerGzip, digest: stored.digest, size: stored.size });
    diffIds.push(sha256(l.tar));
    history.push({ created, created_by: l.createdBy ?? "keel image build" });
  }
  for (const h of opts.emptyHistory ?? []) history.push({ created, created_by: h, empty_layer: true });
  const { os, architecture } = baseConfig ?? hostPlatform();
  const config: ImageConfig = {
    created,
    ...(opts.author ? { author: opts.author } : {}),
    architecture,
    os,
    config: { ...(baseConfig?.config ?? {}), ...(opts.config ?? {}) },
    rootfs: { type: "layers", diff_ids: diffIds },
    history,
  };
  const configDesc = await store.putJson(config, MediaType.ociConfig, opts.lease);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
  const manifestDesc = await store.putJson(manifest, MediaType.ociManifest, opts.lease);
  return { manifest: manifestDesc, config, configDigest: configDesc.digest };
}
