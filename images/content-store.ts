// The content store: blobs by sha256 digest and refs (full image name → manifest digest).
//
//   ROOT/blobs/sha256/<hex>   immutable content, verified while written (a mismatch keeps nothing)
//   ROOT/ingest/              temporary files of writes in progress
//   ROOT/refs/<name>.json     { name, digest, mediaType, size, created } written atomically
//   ROOT/leases/<id>.json     what an operation in progress (pull, import, build, a running
//                             container's snapshot) holds; garbage collection keeps it
//   ROOT/snapshots/, ROOT/active/   see snapshots.ts
//
// Concurrency: blobs are written to a unique temporary file and renamed into place, so two
// writers of the same digest both succeed and readers never see a partial blob. Garbage
// collection and lease updates take one lock (ROOT/gc.lock), so a blob an operation is about to
// use is either leased before the collector looks or written after it finished.
import { createReadStream, createWriteStream, type ReadStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile, open } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { FileLock } from "../lib/file-lock.js";
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isIndexDocument,
  parseJson,
  validateImageConfig,
  validateIndex,
  validateManifest,
} from "../oci/image-spec.js";
import { HashingStream, parseDigest, sha256 } from "./digest.js";
import { BlobNotFoundError, DigestMismatchError, ImageNotFoundError, SizeMismatchError } from "./errors.js";
import { writeFileAtomic, fsyncDir } from "../lib/atomic-file.js";
import { localCandidates, normalizeReference } from "./reference.js";

export const DEFAULT_IMAGE_ROOT = "/var/lib/keel/images";

export function defaultImageRoot(): string {
  return process.env.KEEL_IMAGE_ROOT || DEFAULT_IMAGE_ROOT;
}

export interface RefRecord {
  name: string;
  digest: string;
  mediaType: string;
  size: number;
  created: string;
}

export interface ResolvedImage {
  /** The full name the ref was found under (or the digest when looked up by digest). */
  name: string;
  /** The digest of the manifest (for an index, of the platform manifest chosen from it). */
  digest: string;
  /** The digest the ref points at (the index, for a multi-platform image). */
  refDigest: string;
  manifest: ImageManifest;
  config: ImageConfig;
  configDigest: string;
}

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** The platform keel runs on, in OCI terms. */
export function hostPlatform(): PlatformSpec {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch };
}

/** Picks the manifest for a platform from an index (docker's rules: os+arch, variant when given). */
export function selectPlatform(index: ImageIndex, p: PlatformSpec = hostPlatform()): Descriptor | undefined {
  const candidates = index.manifests.filter((m) => m.platform?.os === p.os && m.platform?.architecture === p.architecture);
  if (p.variant) return candidates.find((m) => m.platform?.variant === p.variant) ?? candidates[0];
  return candidates.find((m) => !m.platform?.variant || m.platform.variant === "v8") ?? candidates[0];
}

const refFileName = (name: string): string => `${encodeURIComponent(name)}.json`;

export class Lease {
  readonly digests = new Set<string>();
  readonly chainIds = new Set<string>();
  /** Whether the lease file exists yet (a new lease is written even when it holds nothing). */
  private written = false;
  constructor(
    private readonly store: ContentStore,
    readonly id: string,
  ) {}
  get file(): string {
    return join(this.store.root, "leases", `${this.id}.json`);
  }
  /** Holds blobs (digests) and snapshots (chain ids) against garbage collection. */
  async hold(digests: string[], chainIds: string[] = []): Promise<void> {
    if (this.written && digests.every((d) => this.digests.has(d)) && chainIds.every((c) => this.chainIds.has(c))) return;
    await this.store.withLeaseLock(async () => {
      digests.forEach((d) => this.digests.add(d));
      chainIds.forEach((c) => this.chainIds.add(c));
      // Not fsync'd: a lease guards a live process's blobs against GC, and after a crash its
      // owner is dead and the lease void anyway; the rename alone keeps GC from reading half of it.
      await writeFileAtomic(this.file, JSON.stringify({ pid: process.pid, digests: [...this.digests], chainIds: [...this.chainIds] }), 0o644, { durable: false });
      this.written = true;
    });
  }
  async release(): Promise<void> {
    await rm(this.file, { force: true });
  }
}

/** JSON blobs by digest (content-addressed, so valid for every store), least recently used first. */
const jsonBlobs = new Map<string, Buffer>();
const JSON_BLOB_CACHE_ENTRIES = 256;
const JSON_BLOB_CACHE_MAX_BYTES = 64 * 1024;

export class ContentStore {
  private constructor(readonly root: string) {}

  static async open(root: string = defaultImageRoot()): Promise<ContentStore> {
    for (const d of ["blobs/sha256", "ingest", "refs", "leases", "snapshots", "active"]) await mkdir(join(root, d), { recursive: true });
    await writeFile(join(root, "gc.lock"), "", { flag: "a" });
    return new ContentStore(root);
  }

  blobPath(digest: string): string {
    return join(this.root, "blobs", "sha256", parseDigest(digest).hex);
  }

  async hasBlob(digest: string): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  async blobSize(digest: string): Promise<number> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch {
      throw new BlobNotFoundError(digest);
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new BlobNotFoundError(digest);
      throw e;
    }
  }

  openBlob(digest: string): ReadStream {
    return createReadStream(this.blobPath(digest));
  }

  /**
   * Writes a blob from a stream or buffer, hashing while it is written. With `expected`, a
   * mismatch of digest or size deletes what was written and throws; the store is unchanged.
   */
  async writeBlob(
    source: Readable | Buffer | AsyncIterable<Buffer>,
    expected?: { digest?: string; size?: number },
    lease?: Lease,
  ): Promise<{ digest: string; size: number }> {
    if (expected?.digest) {
      parseDigest(expected.digest);
      if (lease) await lease.hold([expected.digest]);
      if (await this.hasBlob(expected.digest)) {
        if (source instanceof Readable) source.destroy();
        return { digest: expected.digest, size: await this.blobSize(expected.digest) };
      }
    }
    const tmp = join(this.root, "ingest", `${process.pid}-${randomBytes(8).toString("hex")}`);
    const hasher = new HashingStream();
    try {
      const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
      await pipeline(input, hasher, createWriteStream(tmp, { flags: "wx", mode: 0o644 }));
      const digest = hasher.digest();
      if (expected?.size !== undefined && expected.size !== hasher.bytes)
        throw new SizeMismatchError(expected.digest ?? digest, expected.size, hasher.bytes);
      if (expected?.digest && expected.digest !== digest) throw new DigestMismatchError(expected.digest, digest);
      const fh = await open(tmp, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (lease && !expected?.digest) await lease.hold([digest]);
      await rename(tmp, this.blobPath(digest));
      await fsyncDir(join(this.root, "blobs", "sha256"));
      return { digest, size: hasher.bytes };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Stores a JSON document (manifest, config, index) and returns its descriptor. */
  async putJson(doc: unknown, mediaType: string, lease?: Lease): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(doc));
    const { digest, size } = await this.writeBlob(bytes, { digest: sha256(bytes), size: bytes.length }, lease);
    return { mediaType, digest, size };
  }

  /**
   * A JSON blob (index, manifest, config), parsed. Small ones are kept in memory by digest: a
   * blob's content never changes, and a container start resolves its image several times
   * (kubelet, rootfs preparation), each a chain of reads otherwise.
   */
  async readJson(digest: string, field: string): Promise<unknown> {
    let bytes = jsonBlobs.get(digest);
    if (bytes) {
      jsonBlobs.delete(digest);
      jsonBlobs.set(digest, bytes);
    } else {
      bytes = await this.readBlob(digest);
      if (bytes.length <= JSON_BLOB_CACHE_MAX_BYTES) {
        jsonBlobs.set(digest, bytes);
        if (jsonBlobs.size > JSON_BLOB_CACHE_ENTRIES) jsonBlobs.delete(jsonBlobs.keys().next().value!);
      }
    }
    // parsed afresh each time: callers own what they get
    return parseJson(bytes, field);
  }

  // ── refs ────────────────────────────────────────────────────────────────────────────────

  async setRef(name: string, desc: Descriptor): Promise<RefRecord> {
    const full = normalizeReference(name);
    const rec: RefRecord = { name: full, digest: desc.digest, mediaType: desc.mediaType, size: desc.size, created: new Date().toISOString() };
    await writeFileAtomic(join(this.root, "refs", refFileName(full)), JSON.stringify(rec));
    return rec;
  }

  async getRef(fullName: string): Promise<RefRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.root, "refs", refFileName(fullName)), "utf8")) as RefRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async listRefs(): Promise<RefRecord[]> {
    const out: RefRecord[] = [];
    for (const f of (await readdir(join(this.root, "refs"))).sort()) {
      if (!f.endsWith(".json") || f.startsWith(".")) continue;
      const rec = await this.getRef(decodeURIComponent(f.slice(0, -5)));
      if (rec) out.push(rec);
    }
    return out;
  }

  /** Removes a ref; returns whether it existed. Blobs go at the next garbage collection. */
  async deleteRef(fullName: string): Promise<boolean> {
    try {
      await rm(join(this.root, "refs", refFileName(fullName)));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
  }

  /** Finds the ref a user's name means: the normalized name, then localhost/NAME for short names. */
  async findRef(ref: string): Promise<RefRecord | undefined> {
    for (const c of localCandidates(ref)) {
      const r = await this.getRef(c);
      if (r) return r;
    }
    return undefined;
  }

  // ── images ──────────────────────────────────────────────────────────────────────────────

  /**
   * Resolves a name ("busybox", "127.0.0.1:5000/x:1", "name@sha256:...") or a manifest digest
   * (or a unique prefix of one) to its manifest and config, choosing the host's platform from an index.
   */
  async resolve(ref: string, platform: PlatformSpec = hostPlatform()): Promise<ResolvedImage> {
    let name = ref;
    let top: { digest: string; mediaType?: string } | undefined;
    const m = /^(?:sha256:)?([a-f0-9]{6,64})$/.exec(ref);
    if (m) {
      const matches = (await this.listRefs()).filter((r) => r.digest.slice(7).startsWith(m[1]));
      const uniq = [...new Set(matches.map((r) => r.digest))];
      if (uniq.length === 1) top = { digest: uniq[0], mediaType: matches[0].mediaType };
      else if (m[1].length === 64 && (await this.hasBlob(`sha256:${m[1]}`))) top = { digest: `sha256:${m[1]}` };
      name = top?.digest ?? ref;
    }
    if (!top && ref.includes("@")) {
      const digest = ref.slice(ref.indexOf("@") + 1);
      if (await this.hasBlob(digest)) top = { digest };
    }
    if (!top) {
      const rec = await this.findRef(ref).catch(() => undefined);
      if (rec) {
        top = rec;
        name = rec.name;
      }
    }
    if (!top) throw new ImageNotFoundError(ref);
    return this.resolveDigest(name, top.digest, platform);
  }

  async resolveDigest(name: string, digest: string, platform: PlatformSpec = hostPlatform()): Promise<ResolvedImage> {
    let doc = await this.readJson(digest, "manifest");
    let manifestDigest = digest;
    if (isIndexDocument(doc)) {
      validateIndex(doc);
      const chosen = selectPlatform(doc, platform);
      if (!chosen) throw new ImageNotFoundError(`${name} (for ${platform.os}/${platform.architecture})`);
      manifestDigest = chosen.digest;
      doc = await this.readJson(manifestDigest, "manifest");
    }
    validateManifest(doc);
    const config = await this.readJson(doc.config.digest, "config");
    validateImageConfig(config);
    return { name, digest: manifestDigest, refDigest: digest, manifest: doc, config, configDigest: doc.config.digest };
  }

  /** Every blob an image (manifest or index) needs, itself included; missing ones are skipped. */
  async reachable(digest: string, into = new Set<string>()): Promise<Set<string>> {
    if (into.has(digest)) return into;
    into.add(digest);
    let doc: unknown;
    try {
      doc = await this.readJson(digest, "manifest");
    } catch {
      return into;
    }
    if (isIndexDocument(doc)) {
      for (const m of (doc as ImageIndex).manifests ?? []) await this.reachable(m.digest, into);
    } else {
      const man = doc as ImageManifest;
      if (man.config?.digest) into.add(man.config.digest);
      for (const l of man.layers ?? []) into.add(l.digest);
    }
    return into;
  }

  // ── leases and garbage collection ───────────────────────────────────────────────────────

  /** Garbage collection's side of the GC lock: no lease is being written meanwhile. */
  withGcLock<T>(fn: () => Promise<T>): Promise<T> {
    return FileLock.for(join(this.root, "gc.lock")).exclusive(fn);
  }

  /** A lease write's side of the GC lock: lease writes run together, never during a collection. */
  withLeaseLock<T>(fn: () => Promise<T>): Promise<T> {
    return FileLock.for(join(this.root, "gc.lock")).shared(fn);
  }

  /** A new lease, holding `digests` and `chainIds` from the start (one write). */
  async createLease(digests: string[] = [], chainIds: string[] = []): Promise<Lease> {
    const lease = new Lease(this, `${process.pid}-${randomBytes(6).toString("hex")}`);
    await lease.hold(digests, chainIds);
    return lease;
  }

  /** Runs fn with a lease that holds what it writes; the lease is released after. */
  async withLease<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.createLease();
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  /** Digests and chain ids held by leases of live processes; leases of dead ones are removed. */
  async liveLeases(): Promise<{ digests: Set<string>; chainIds: Set<string> }> {
    const digests = new Set<string>();
    const chainIds = new Set<string>();
    for (const f of await readdir(join(this.root, "leases"))) {
      if (!f.endsWith(".json") || f.startsWith(".")) continue;
      const path = join(this.root, "leases", f);
      let lease: { pid: number; digests: string[]; chainIds: string[] };
      try {
        lease = JSON.parse(await readFile(path, "utf8"));
      } catch {
        continue;
      }
      if (!pidAlive(lease.pid)) {
        await rm(path, { force: true });
        continue;
      }
      lease.digests.forEach((d) => digests.add(d));
      lease.chainIds.forEach((c) => chainIds.add(c));
    }
    return { digests, chainIds };
  }

  /** Blobs referenced by refs or live leases (the roots of garbage collection). */
  async referencedBlobs(): Promise<Set<string>> {
    const keep = new Set<string>();
    for (const r of await this.listRefs()) await this.reachable(r.digest, keep);
    return keep;
  }

  /** Deletes unreferenced blobs and stale ingest files. Call under withGcLock. */
  async collectBlobs(keep: Set<string>): Promise<{ removed: string[]; bytes: number }> {
    const removed: string[] = [];
    let bytes = 0;
    const dir = join(this.root, "blobs", "sha256");
    for (const hex of await readdir(dir)) {
      const digest = `sha256:${hex}`;
      if (keep.has(digest) || hex.startsWith(".")) continue;
      const p = join(dir, hex);
      bytes += (await stat(p).catch(() => ({ size: 0 }))).size;
      await rm(p, { force: true });
      removed.push(digest);
    }
    for (const f of await readdir(join(this.root, "ingest"))) {
      const pid = Number(f.split("-")[0]);
      if (!pidAlive(pid)) await rm(join(this.root, "ingest", f), { recursive: true, force: true });
    }
    return { removed, bytes };
  }
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

