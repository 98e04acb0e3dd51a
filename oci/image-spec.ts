// OCI image-spec (v1.1) and Docker image manifest schema 2 types, with validators whose errors
// name the offending field (e.g. "manifest.layers[2].digest"), so a user knows what to fix.

export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerForeignGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
/** containerd's annotation for the full image name in an OCI layout's index.json. */
export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";

export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

/** An OCI image manifest or a Docker schema 2 manifest (same shape). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index or a Docker manifest list (same shape). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: unknown;
  OnBuild?: string[] | null;
  Shell?: string[];
}

export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** A manifest, config or index that breaks the spec; `field` is a JSON path into it. */
export class ImageSpecError extends Error {
  readonly code = "EIMAGESPEC";
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = "ImageSpecError";
  }
}

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const SHA512_RE = /^sha512:[a-f0-9]{128}$/;
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export const isManifestMediaType = (m: string | undefined): boolean =>
  m === MediaType.ociManifest || m === MediaType.dockerManifest;
export const isIndexMediaType = (m: string | undefined): boolean =>
  m === MediaType.ociIndex || m === MediaType.dockerManifestList;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function need(cond: boolean, field: string, reason: string): asserts cond {
  if (!cond) throw new ImageSpecError(field, reason);
}

export function validateDigest(d: unknown, field: string): asserts d is string {
  need(typeof d === "string", field, "must be a string");
  need(DIGEST_RE.test(d), field, `"${d}" is not a digest (algorithm:hex)`);
  if (d.startsWith("sha256:")) need(SHA256_RE.test(d), field, `"${d}" is not a sha256 digest (64 lowercase hex digits)`);
  else if (d.startsWith("sha512:")) need(SHA512_RE.test(d), field, `"${d}" is not a sha512 digest (128 lowercase hex digits)`);
  else throw new ImageSpecError(field, `unsupported digest algorithm in "${d}" (sha256 or sha512)`);
}

function validateStringMap(v: unknown, field: string): void {
  if (v === undefined) return;
  need(isObject(v), field, "must be an object of strings");
  for (const [k, s] of Object.entries(v)) need(typeof s === "string", `${field}.${k}`, "must be a string");
}

function validateStringArray(v: unknown, field: string, nullable = false): void {
  if (v === undefined || (nullable && v === null)) return;
  need(Array.isArray(v), field, "must be an array of strings");
  v.forEach((s, i) => need(typeof s === "string", `${field}[${i}]`, "must be a string"));
}

function validatePlatform(v: unknown, field: string): void {
  need(isObject(v), field, "must be an object");
  need(typeof v.architecture === "string" && v.architecture !== "", `${field}.architecture`, "must be a non-empty string");
  need(typeof v.os === "string" && v.os !== "", `${field}.os`, "must be a non-empty string");
  if (v.variant !== undefined) need(typeof v.variant === "string", `${field}.variant`, "must be a string");
  validateStringArray(v["os.features"], `${field}["os.features"]`);
}

export function validateDescriptor(v: unknown, field = "descriptor"): asserts v is Descriptor {
  need(isObject(v), field, "must be an object");
  need(typeof v.mediaType === "string" && MEDIA_TYPE_RE.test(v.mediaType), `${field}.mediaType`, "must be a media type (type/subtype)");
  validateDigest(v.digest, `${field}.digest`);
  need(typeof v.size === "number" && Number.isSafeInteger(v.size) && v.size >= 0, `${field}.size`, "must be a non-negative integer");
  validateStringArray(v.urls, `${field}.urls`);
  validateStringMap(v.annotations, `${field}.annotations`);
  if (v.data !== undefined) need(typeof v.data === "string", `${field}.data`, "must be base64 text");
  if (v.platform !== undefined) validatePlatform(v.platform, `${field}.platform`);
}

function validateSchemaVersion(v: Record<string, unknown>, field: string): void {
  need(v.schemaVersion === 2, `${field}.schemaVersion`, `must be 2 (got ${JSON.stringify(v.schemaVersion)})`);
}

export function validateManifest(v: unknown, field = "manifest"): asserts v is ImageManifest {
  need(isObject(v), field, "must be a JSON object");
  validateSchemaVersion(v, field);
  if (v.mediaType !== undefined)
    need(isManifestMediaType(v.mediaType as string), `${field}.mediaType`, `"${String(v.mediaType)}" is not an image manifest media type`);
  need("config" in v, `${field}.config`, "is required");
  validateDescriptor(v.config, `${field}.config`);
  need(Array.isArray(v.layers), `${field}.layers`, "must be an array");
  v.layers.forEach((l, i) => validateDescriptor(l, `${field}.layers[${i}]`));
  if (v.subject !== undefined) validateDescriptor(v.subject, `${field}.subject`);
  validateStringMap(v.annotations, `${field}.annotations`);
}

export function validateIndex(v: unknown, field = "index"): asserts v is ImageIndex {
  need(isObject(v), field, "must be a JSON object");
  validateSchemaVersion(v, field);
  if (v.mediaType !== undefined)
    need(isIndexMediaType(v.mediaType as string), `${field}.mediaType`, `"${String(v.mediaType)}" is not an image index media type`);
  need(Array.isArray(v.manifests), `${field}.manifests`, "must be an array");
  v.manifests.forEach((m, i) => validateDescriptor(m, `${field}.manifests[${i}]`));
  validateStringMap(v.annotations, `${field}.annotations`);
}

export function validateImageConfig(v: unknown, field = "config"): asserts v is ImageConfig {
  need(isObject(v), field, "must be a JSON object");
  need(typeof v.architecture === "string" && v.architecture !== "", `${field}.architecture`, "must be a non-empty string");
  need(typeof v.os === "string" && v.os !== "", `${field}.os`, "must be a non-empty string");
  if (v.created !== undefined) need(typeof v.created === "string" && !Number.isNaN(Date.parse(v.created)), `${field}.created`, "must be an RFC 3339 date");
  need(isObject(v.rootfs), `${field}.rootfs`, "is required and must be an object");
  need(v.rootfs.type === "layers", `${field}.rootfs.type`, 'must be "layers"');
  need(Array.isArray(v.rootfs.diff_ids), `${field}.rootfs.diff_ids`, "must be an array");
  v.rootfs.diff_ids.forEach((d, i) => validateDigest(d, `${field}.rootfs.diff_ids[${i}]`));
  if (v.config !== undefined && v.config !== null) {
    const c = v.config;
    const f = `${field}.config`;
    need(isObject(c), f, "must be an object");
    if (c.User !== undefined) need(typeof c.User === "string", `${f}.User`, "must be a string");
    validateStringArray(c.Env, `${f}.Env`, true);
    (Array.isArray(c.Env) ? (c.Env as string[]) : []).forEach((e, i) => need(e.includes("="), `${f}.Env[${i}]`, `"${e}" is not KEY=value`));
    validateStringArray(c.Entrypoint, `${f}.Entrypoint`, true);
    validateStringArray(c.Cmd, `${f}.Cmd`, true);
    if (c.WorkingDir !== undefined) need(typeof c.WorkingDir === "string", `${f}.WorkingDir`, "must be a string");
    validateStringMap(c.Labels ?? undefined, `${f}.Labels`);
    if (c.ExposedPorts !== undefined && c.ExposedPorts !== null) {
      need(isObject(c.ExposedPorts), `${f}.ExposedPorts`, "must be an object");
      for (const p of Object.keys(c.ExposedPorts))
        need(/^\d+(\/(tcp|udp|sctp))?$/.test(p), `${f}.ExposedPorts["${p}"]`, "must be PORT or PORT/PROTO");
    }
    if (c.Volumes !== undefined && c.Volumes !== null) need(isObject(c.Volumes), `${f}.Volumes`, "must be an object");
    if (c.StopSignal !== undefined) need(typeof c.StopSignal === "string", `${f}.StopSignal`, "must be a string");
  }
  if (v.history !== undefined) {
    need(Array.isArray(v.history), `${field}.history`, "must be an array");
    const nonEmpty = v.history.filter((h) => isObject(h) && h.empty_layer !== true).length;
    // Some tools omit history entirely; when present, it must agree with the layers.
    if (v.history.length > 0)
      need(nonEmpty === v.rootfs.diff_ids.length, `${field}.history`, `has ${nonEmpty} non-empty entries for ${v.rootfs.diff_ids.length} layers`);
  }
}

/** Parses JSON bytes and says which document failed to parse. */
export function parseJson(bytes: Buffer | string, field: string): unknown {
  try {
    return JSON.parse(typeof bytes === "string" ? bytes : bytes.toString("utf8"));
  } catch (e) {
    throw new ImageSpecError(field, `is not valid JSON: ${(e as Error).message}`);
  }
}

/** Whether the document is an index/list (by mediaType, or by shape when mediaType is absent). */
export function isIndexDocument(doc: unknown, mediaType?: string): boolean {
  const mt = mediaType ?? (isObject(doc) ? (doc.mediaType as string | undefined) : undefined);
  if (mt) return isIndexMediaType(mt);
  return isObject(doc) && Array.isArray(doc.manifests);
}

/** The layer's compression from its media type. */
export function layerCompression(mediaType: string): "none" | "gzip" | "zstd" {
  if (mediaType.endsWith("+zstd") || mediaType.endsWith(".zstd")) return "zstd";
  if (mediaType.endsWith("+gzip") || mediaType.endsWith(".gzip") || mediaType.endsWith("tar.gzip")) return "gzip";
  return "none";
}

/** A manifest and its config must agree: one diff id per layer. */
export function validateManifestConfigPair(manifest: ImageManifest, config: ImageConfig, field = "config"): void {
  need(
    config.rootfs.diff_ids.length === manifest.layers.length,
    `${field}.rootfs.diff_ids`,
    `has ${config.rootfs.diff_ids.length} entries for the manifest's ${manifest.layers.length} layers`,
  );
}
