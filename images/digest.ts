// sha256 digests: computing, parsing, and a pass-through hasher for streams.
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ImageSpecError, validateDigest } from "../oci/image-spec.js";

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Splits "sha256:abc" into its parts, refusing anything but a well-formed sha256 digest. */
export function parseDigest(d: string, field = "digest"): { algorithm: "sha256"; hex: string } {
  validateDigest(d, field);
  if (!d.startsWith("sha256:")) throw new ImageSpecError(field, `only sha256 digests are stored (got "${d}")`);
  return { algorithm: "sha256", hex: d.slice(7) };
}

/** A Transform that hashes and counts what passes through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash("sha256");
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  /** Valid once the stream has ended. */
  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }
}

/** The chain id of a stack of layers (image-spec config.md): chain(n) = sha256(chain(n-1) + " " + diff(n)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}
