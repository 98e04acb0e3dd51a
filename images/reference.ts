// Image references: "busybox" → docker.io/library/busybox:latest, the way podman and docker
// normalize them (github.com/distribution/reference), plus local names (localhost/NAME).
import { InvalidReferenceError } from "./errors.js";

export const DEFAULT_REGISTRY = "docker.io";
export const LOCAL_REGISTRY = "localhost";

export interface Reference {
  /** Registry host[:port], e.g. "docker.io", "127.0.0.1:5000", "localhost". */
  registry: string;
  /** Repository path in the registry, e.g. "library/busybox". */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Whether the first path component names a registry rather than a Docker Hub namespace. */
function looksLikeRegistry(c: string): boolean {
  return c.includes(".") || c.includes(":") || c === LOCAL_REGISTRY || /^\[.*\]/.test(c);
}

export function parseReference(input: string): Reference {
  const s = input.trim();
  if (!s) throw new InvalidReferenceError(input, "empty");
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(input, `"${digest}" is not a sha256 digest`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(input, `"${tag}" is not a valid tag`);
  }
  const parts = rest.split("/");
  let registry = DEFAULT_REGISTRY;
  if (parts.length > 1 && looksLikeRegistry(parts[0])) registry = parts.shift()!;
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift("library");
  for (const p of parts)
    if (!COMPONENT.test(p)) throw new InvalidReferenceError(input, `"${p}" is not a valid repository name component (lowercase letters, digits, separators)`);
  if (!tag && !digest) tag = "latest";
  return { registry, repository: parts.join("/"), tag, digest };
}

/** Whether the input names no registry (so local lookups may also try localhost/NAME). */
export function isShortName(input: string): boolean {
  const first = input.split("/")[0].split("@")[0];
  return !(input.includes("/") && looksLikeRegistry(first));
}

export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}

/** The fully qualified form of a user's reference: "busybox" → "docker.io/library/busybox:latest". */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The names a local lookup tries, in order (podman tries localhost/ for short names too). */
export function localCandidates(input: string): string[] {
  const first = normalizeReference(input);
  if (!isShortName(input)) return [first];
  const r = parseReference(input);
  const bare = r.repository.replace(/^library\//, "");
  return [first, formatReference({ ...r, registry: LOCAL_REGISTRY, repository: bare })];
}

/** The name a locally built image gets: short names go under localhost/, as podman does. */
export function localBuildName(input: string): string {
  if (!isShortName(input)) return normalizeReference(input);
  const r = parseReference(input);
  return formatReference({ ...r, registry: LOCAL_REGISTRY, repository: r.repository.replace(/^library\//, "") });
}

/** A short form for display: docker.io/library/busybox:latest → busybox:latest. */
export function familiarName(full: string): string {
  return full.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
}
