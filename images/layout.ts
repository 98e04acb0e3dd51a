// Import and export: OCI image layout directories, OCI archives (a layout in a tar), and
// `docker save` archives. Archives are read in one pass: blobs stream straight into the store,
// verified against their names; only the small JSON files are kept in memory. Names in an
// archive are never used as paths, so a hostile archive cannot write anywhere.
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, readFile, rename, stat, writeFile, rm, lstat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import tarStream from "tar-stream";
import {
  ANNOTATION_IMAGE_NAME,
  ANNOTATION_REF_NAME,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  isIndexDocument,
  parseJson,
  validateImageConfig,
  validateIndex,
  validateManifest,
  validateManifestConfigPair,
} from "../oci/image-spec.js";
import { type ContentStore, type Lease } from "./content-store.js";
import { ArchiveFormatError, BlobNotFoundError, ImageNotFoundError } from "./errors.js";
import { formatReference, normalizeReference, parseReference } from "./reference.js";
import { sha256 } from "./digest.js";
import { AutoDecompress } from "./decompress.js";

export interface ImportedImage {
  name?: string;
  digest: string;
  mediaType: string;
}

const BLOB_NAME = /^(?:\.\/)?blobs\/sha256\/([a-f0-9]{64})$/;
const SMALL_JSON_LIMIT = 16 << 20;

/** The full name an index entry carries (containerd's annotation, or ref.name when it is a full name). */
function nameOf(desc: Descriptor, fallback?: string): string | undefined {
  const a = desc.annotations ?? {};
  if (a[ANNOTATION_IMAGE_NAME]) return normalizeReference(a[ANNOTATION_IMAGE_NAME]);
  const ref = a[ANNOTATION_REF_NAME];
  if (ref) {
    // ref.name may be only a tag ("latest"); with a name from the user it completes it.
    if (/^[\w][\w.-]{0,127}$/.test(ref) && fallback) return formatReference({ ...parseReference(fallback), tag: ref, digest: undefined });
    try {
      return normalizeReference(ref);
    } catch {
      return fallback ? normalizeReference(fallback) : undefined;
    }
  }
  return fallback ? normalizeReference(fallback) : undefined;
}

/** Checks that an image's blobs are all in the store and its documents are valid. */
async function verifyImage(store: ContentStore, desc: Descriptor): Promise<void> {
  const doc = await store.readJson(desc.digest, `manifest ${desc.digest}`);
  if (isIndexDocument(doc, desc.mediaType)) {
    validateIndex(doc);
    // Other platforms of a multi-platform image may be missing (skopeo copies one): keep those present.
    for (const m of doc.manifests) if (await store.hasBlob(m.digest)) await verifyImage(store, m);
    return;
  }
  validateManifest(doc);
  const config = await store.readJson(doc.config.digest, "config");
  validateImageConfig(config);
  validateManifestConfigPair(doc, config);
  for (const l of doc.layers) if (!(await store.hasBlob(l.digest))) throw new BlobNotFoundError(l.digest);
}

async function registerIndex(store: ContentStore, index: unknown, lease: Lease, name?: string): Promise<ImportedImage[]> {
  validateIndex(index, "index.json");
  const out: ImportedImage[] = [];
  for (const d of (index as ImageIndex).manifests) {
    await lease.hold([d.digest]);
    await verifyImage(store, d);
    const full = nameOf(d, (index as ImageIndex).manifests.length === 1 ? name : undefined);
    if (full) await store.setRef(full, d);
    out.push({ name: full, digest: d.digest, mediaType: d.mediaType });
  }
  return out;
}

/** Imports an OCI image layout directory. `name` names an image whose entry has no full name. */
export async function importOciLayout(store: ContentStore, dir: string, name?: string): Promise<ImportedImage[]> {
  const index = parseJson(await readFile(join(dir, "index.json")).catch(() => {
    throw new ArchiveFormatError(dir, "no index.json: not an OCI image layout");
  }), "index.json");
  validateIndex(index, "index.json");
  return store.withLease(async (lease) => {
    const copy = async (d: Descriptor): Promise<void> => {
      const hex = d.digest.replace(/^sha256:/, "");
      await store.writeBlob(createReadStream(join(dir, "blobs", "sha256", hex)), { digest: d.digest, size: d.size }, lease);
      if (d.mediaType === MediaType.ociLayer || d.mediaType.includes("layer") || d.mediaType.includes("rootfs")) return;
      const doc = await store.readJson(d.digest, d.digest);
      if (isIndexDocument(doc, d.mediaType)) {
        for (const m of (doc as ImageIndex).manifests) {
          try {
            await stat(join(dir, "blobs", "sha256", m.digest.replace(/^sha256:/, "")));
          } catch {
            continue; // a platform the layout does not carry
          }
          await copy(m);
        }
      } else if (Array.isArray((doc as ImageManifest).layers)) {
        const man = doc as ImageManifest;
        await copy(man.config);
        for (const l of man.layers) await copy(l);
      }
    };
    for (const d of index.manifests) await copy(d);
    return registerIndex(store, index, lease, name);
  });
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Imports a tar archive: an OCI archive (oci-layout + index.json + blobs/) or a `docker save`
 * archive (manifest.json + config + layer tars), possibly compressed.
 */
export async function importArchive(store: ContentStore, file: string, name?: string): Promise<ImportedImage[]> {
  return store.withLease(async (lease) => {
    const small = new Map<string, Buffer>();
    const files = new Map<string, string>(); // archive path → digest of its content in the store
    const links = new Map<string, string>(); // symlink/hardlink path → target path
    const extract = tarStream.extract();
    const input = createReadStream(file);
    input.on("error", (e) => extract.destroy(e));
    input.pipe(new AutoDecompress()).pipe(extract as unknown as NodeJS.WritableStream);
    for await (const entry of extract) {
      const h = entry.header;
      const path = h.name.replace(/^\.\//, "").replace(/\/+$/, "");
      const stream = entry as unknown as Readable;
      if (h.type === "symlink" || h.type === "link") {
        links.set(path, h.type === "symlink" ? join(path, "..", h.linkname ?? "") : (h.linkname ?? "").replace(/^\.\//, ""));
        stream.resume();
        continue;
      }
      if (h.type !== "file" && h.type !== "contiguous-file") {
        stream.resume();
        continue;
      }
      const m = BLOB_NAME.exec(path);
      if (m) {
        await store.writeBlob(stream, { digest: `sha256:${m[1]}`, size: h.size }, lease);
        files.set(path, `sha256:${m[1]}`);
      } else if (path.endsWith(".json") || path === "oci-layout" || path === "repositories") {
        if ((h.size ?? 0) > SMALL_JSON_LIMIT) throw new ArchiveFormatError(file, `${path} is too large for a JSON document`);
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        small.set(path, Buffer.concat(chunks));
      } else if (path.endsWith(".tar") || path.endsWith("layer.tar") || path.endsWith(".tar.gz")) {
        const { digest } = await store.writeBlob(stream, undefined, lease);
        files.set(path, digest);
      } else stream.resume();
    }
    const resolveFile = (p: string): string | undefined => {
      for (let i = 0; i < 8 && !files.has(p) && links.has(p); i++) p = links.get(p)!;
      return files.get(p);
    };
    if (small.has("index.json") && small.has("oci-layout")) {
      const index = parseJson(small.get("index.json")!, "index.json");
      return registerIndex(store, index, lease, name);
    }
    if (!small.has("manifest.json")) throw new ArchiveFormatError(file, "neither an OCI archive (index.json, oci-layout) nor a docker save archive (manifest.json)");
    const entries = parseJson(small.get("manifest.json")!, "manifest.json") as DockerSaveEntry[];
    if (!Array.isArray(entries)) throw new ArchiveFormatError(file, "manifest.json is not a list");
    const out: ImportedImage[] = [];
    for (const [i, e] of entries.entries()) {
      const cfgBytes = small.get(e.Config) ?? (resolveFile(e.Config) ? await store.readBlob(resolveFile(e.Config)!) : undefined);
      if (!cfgBytes) throw new ArchiveFormatError(file, `manifest.json[${i}].Config: ${e.Config} is not in the archive`);
      const config = parseJson(cfgBytes, e.Config);
      validateImageConfig(config, e.Config);
      // The original bytes: the config digest is the image id other tools know.
      const stored = await store.writeBlob(cfgBytes, { digest: sha256(cfgBytes), size: cfgBytes.length }, lease);
      const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: stored.digest, size: stored.size };
      const layers: Descriptor[] = [];
      for (const [j, l] of e.Layers.entries()) {
        const digest = resolveFile(l);
        if (!digest) throw new ArchiveFormatError(file, `manifest.json[${i}].Layers[${j}]: ${l} is not in the archive`);
        const size = await store.blobSize(digest);
        const head = await readHead(store, digest);
        const gz = head[0] === 0x1f && head[1] === 0x8b;
        layers.push({ mediaType: gz ? MediaType.ociLayerGzip : MediaType.ociLayer, digest, size });
      }
      const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
      const desc = await store.putJson(manifest, MediaType.ociManifest, lease);
      await verifyImage(store, desc);
      const tags = e.RepoTags && e.RepoTags.length > 0 ? e.RepoTags : name ? [name] : [];
      for (const t of tags) await store.setRef(t, desc);
      out.push({ name: tags[0] ? normalizeReference(tags[0]) : undefined, digest: desc.digest, mediaType: desc.mediaType });
    }
    return out;
  });
}

async function readHead(store: ContentStore, digest: string): Promise<Buffer> {
  for await (const c of store.openBlob(digest)) return c as Buffer;
  return Buffer.alloc(0);
}

/** Imports a layout directory or an archive, whichever `source` is. */
export async function importImage(store: ContentStore, source: string, name?: string): Promise<ImportedImage[]> {
  return (await stat(source)).isDirectory() ? importOciLayout(store, source, name) : importArchive(store, source, name);
}

/** The blobs and index entries of an OCI layout holding the named images. */
async function layoutContents(store: ContentStore, refs: string[]): Promise<{ blobs: string[]; entries: Descriptor[] }> {
  const blobs = new Set<string>();
  const entries: Descriptor[] = [];
  for (const ref of refs) {
    const rec = await store.findRef(ref);
    if (!rec) throw new ImageNotFoundError(ref);
    // Manifests of platforms that were not pulled are absent: the layout carries what is here.
    for (const d of await store.reachable(rec.digest)) if (await store.hasBlob(d)) blobs.add(d);
    const tag = parseReference(rec.name).tag ?? "latest";
    entries.push({
      mediaType: rec.mediaType,
      digest: rec.digest,
      size: rec.size,
      annotations: { [ANNOTATION_IMAGE_NAME]: rec.name, [ANNOTATION_REF_NAME]: tag },
    });
  }
  return { blobs: [...blobs].sort(), entries };
}

/** Writes an OCI image layout of the named images into `dir` (created; merged with an existing layout). */
export async function exportOciLayout(store: ContentStore, refs: string[], dir: string): Promise<Descriptor[]> {
  const { blobs, entries } = await layoutContents(store, refs);
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  try {
    const existing = parseJson(await readFile(join(dir, "index.json")), "index.json");
    validateIndex(existing, "index.json");
    index = existing;
  } catch {
    /* a new layout */
  }
  for (const d of blobs) {
    const target = join(dir, "blobs", "sha256", d.slice(7));
    if (!(await lstat(target).then(() => true, () => false))) await copyFile(store.blobPath(d), target);
  }
  for (const e of entries) {
    const name = e.annotations?.[ANNOTATION_IMAGE_NAME];
    index.manifests = index.manifests.filter((m) => m.annotations?.[ANNOTATION_IMAGE_NAME] !== name);
    index.manifests.push(e);
  }
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
  return entries;
}

/** Writes an OCI archive: an OCI layout as an uncompressed tar, entries sorted, blobs streamed from the store. */
export async function exportOciArchive(store: ContentStore, refs: string[], file: string): Promise<Descriptor[]> {
  const { blobs, entries } = await layoutContents(store, refs);
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries };
  const tmp = `${file}.keel-tmp-${process.pid}`;
  const pack = tarStream.pack();
  const out = pipeline(pack as unknown as Readable, createWriteStream(tmp));
  const mtime = new Date(0);
  const addBuffer = (name: string, data: Buffer): Promise<void> =>
    new Promise((res, rej) => pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (e) => (e ? rej(e) : res())));
  const addBlob = (d: string): Promise<void> =>
    new Promise((res, rej) => {
      store
        .blobSize(d)
        .then((size) => {
          const w = pack.entry({ name: `blobs/sha256/${d.slice(7)}`, size, mode: 0o644, mtime }, (e) => (e ? rej(e) : res()));
          const r = store.openBlob(d);
          r.on("error", rej);
          r.on("data", (c: string | Buffer) => {
            if (!w.write(c)) {
              r.pause();
              w.once("drain", () => r.resume());
            }
          });
          r.on("end", () => w.end(Buffer.alloc(0)));
        })
        .catch(rej);
    });
  try {
    pack.entry({ name: "blobs/", type: "directory", mode: 0o755, mtime });
    pack.entry({ name: "blobs/sha256/", type: "directory", mode: 0o755, mtime });
    for (const d of blobs) await addBlob(d);
    await addBuffer("index.json", Buffer.from(JSON.stringify(index)));
    await addBuffer("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    pack.finalize();
    await out;
    await rename(tmp, file);
  } catch (e) {
    pack.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
  return entries;
}
