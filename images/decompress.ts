// Layer decompression chosen by the content's magic bytes (not the media type, which
// `docker save` archives and some registries get wrong): gzip (node:zlib), zstd (fzstd, pure JS;
// Node 20's zlib has no zstd), or plain tar.
import { Transform, type TransformCallback, PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { Decompress } from "fzstd";

export type Compression = "none" | "gzip" | "zstd";

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

class ZstdDecompressStream extends Transform {
  private readonly z = new Decompress((data) => {
    this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.z.push(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.z.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

/** A Transform that sniffs its first bytes and decompresses accordingly. */
export class AutoDecompress extends Transform {
  private inner?: Transform;
  private head: Buffer[] = [];
  private headLen = 0;
  compression?: Compression;

  private start(): void {
    const head = Buffer.concat(this.head);
    this.compression = detectCompression(head);
    this.inner = this.compression === "gzip" ? createGunzip() : this.compression === "zstd" ? new ZstdDecompressStream() : new PassThrough();
    this.inner.on("data", (d: Buffer) => this.push(d));
    this.inner.on("error", (e) => this.destroy(e));
    this.inner.write(head);
    this.head = [];
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.inner) {
      this.head.push(chunk);
      this.headLen += chunk.length;
      if (this.headLen < 4) return cb();
      this.start();
      return cb();
    }
    if (this.inner.write(chunk)) cb();
    else this.inner.once("drain", () => cb());
  }

  override _flush(cb: TransformCallback): void {
    if (!this.inner) this.start();
    this.inner!.once("end", () => cb());
    this.inner!.once("error", (e) => cb(e));
    this.inner!.end();
  }
}

export function decompress(input: Readable): Readable {
  return input.pipe(new AutoDecompress());
}
