// Pull: manifest (an index/list resolved to the host's platform), config and layers into the
// content store, every blob verified against its digest while written; layers in parallel,
// each reporting progress; then the layers unpacked into snapshots and the ref set.
import { type Descriptor, type ImageIndex, isIndexDocument, parseJson, validateImageConfig, validateIndex, validateManifest } from "../../oci/image-spec.js";
import { type ContentStore, type Lease, type PlatformSpec, hostPlatform, selectPlatform } from "../content-store.js";
import { sha256 } from "../digest.js";
import { DigestMismatchError, NoMatchingPlatformError } from "../errors.js";
import { formatReference, parseReference } from "../reference.js";
import { ensureLayers } from "../snapshots.js";
import { RegistryClient, isTransient, type RegistryOptions } from "./client.js";

const BLOB_ATTEMPTS = 3;
import { Transform, type TransformCallback } from "node:stream";

export interface Progress {
  /** A layer starts: `id` is a short digest, `total` its size in bytes. */
  start(id: string, total: number): void;
  update(id: string, bytes: number): void;
  done(id: string, status: "done" | "exists" | "failed"): void;
}

export interface PullOptions extends RegistryOptions {
  platform?: PlatformSpec;
  progress?: Progress;
  /** Layers fetched at once (default 3, like docker). */
  concurrency?: number;
  /** Unpack the layers into snapshots after the pull (default true). */
  unpack?: boolean;
}

export interface PullResult {
  name: string;
  /** Digest the ref points at (an index for multi-platform images). */
  digest: string;
  /** The platform manifest's digest. */
  manifestDigest: string;
  layers: number;
  bytesFetched: number;
}

/** Runs fn over items with at most n at once; the first failure wins. */
export async function mapLimit<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

class Counter extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.onBytes(chunk.length);
    cb(null, chunk);
  }
}

async function fetchManifest(
  client: RegistryClient,
  store: ContentStore,
  repo: string,
  reference: string,
  lease: Lease,
): Promise<{ desc: Descriptor; doc: unknown }> {
  const m = await client.getManifest(repo, reference);
  const digest = sha256(m.body);
  // By digest, the bytes must hash to it; by tag, the registry's header (when sent) must agree.
  const expected = reference.startsWith("sha256:") ? reference : (m.digest ?? digest);
  if (expected !== digest) throw new DigestMismatchError(expected, digest, `manifest ${repo}@${reference}`);
  await store.writeBlob(m.body, { digest, size: m.body.length }, lease);
  const doc = parseJson(m.body, `manifest ${repo}:${reference}`);
  const mediaType = m.mediaType || ((doc as { mediaType?: string }).mediaType ?? "");
  return { desc: { mediaType, digest, size: m.body.length }, doc };
}

async function fetchBlob(client: RegistryClient, store: ContentStore, repo: string, d: Descriptor, lease: Lease, progress?: Progress): Promise<number> {
  const id = d.digest.slice(7, 19);
  await lease.hold([d.digest]);
  if (await store.hasBlob(d.digest)) {
    progress?.done(id, "exists");
    return 0;
  }
  progress?.start(id, d.size);
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await client.getBlob(repo, d.digest);
      let n = 0;
      const counter = new Counter((b) => {
        n += b;
        progress?.update(id, n);
      });
      r.body.on("error", (e) => counter.destroy(e));
      await store.writeBlob(r.body.pipe(counter), { digest: d.digest, size: d.size }, lease);
      progress?.done(id, "done");
      return d.size;
    } catch (e) {
      // A dropped connection or a busy registry is retried (the partial download is discarded);
      // a digest mismatch or a refusal is not.
      if (attempt < BLOB_ATTEMPTS && isTransient(e)) {
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        continue;
      }
      progress?.done(id, "failed");
      throw e;
    }
  }
}

export async function pullImage(store: ContentStore, ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const r = parseReference(ref);
  const name = formatReference(r);
  const client = new RegistryClient(r.registry, opts);
  const platform = opts.platform ?? hostPlatform();
  return store.withLease(async (lease) => {
    const top = await fetchManifest(client, store, r.repository, r.digest ?? r.tag ?? "latest", lease);
    let manifestDoc = top.doc;
    let manifestDigest = top.desc.digest;
    if (isIndexDocument(top.doc, top.desc.mediaType)) {
      validateIndex(top.doc);
      const chosen = selectPlatform(top.doc, platform);
      if (!chosen)
        throw new NoMatchingPlatformError(
          name,
          `${platform.os}/${platform.architecture}`,
          (top.doc as ImageIndex).manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}${m.platform?.variant ? `/${m.platform.variant}` : ""}`),
        );
      const m = await fetchManifest(client, store, r.repository, chosen.digest, lease);
      manifestDoc = m.doc;
      manifestDigest = m.desc.digest;
    }
    validateManifest(manifestDoc);
    const manifest = manifestDoc;
    await fetchBlob(client, store, r.repository, manifest.config, lease);
    const config = await store.readJson(manifest.config.digest, "config");
    validateImageConfig(config);
    const sizes = await mapLimit(manifest.layers, opts.concurrency ?? 3, (l) => fetchBlob(client, store, r.repository, l, lease, opts.progress));
    if (opts.unpack !== false) {
      const image = await store.resolveDigest(name, top.desc.digest, platform);
      await ensureLayers(store, image, lease);
    }
    await store.setRef(name, top.desc);
    return { name, digest: top.desc.digest, manifestDigest, layers: manifest.layers.length, bytesFetched: sizes.reduce((a, b) => a + b, 0) };
  });
}
