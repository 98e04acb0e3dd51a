// The image store's typed errors. Each carries what failed (digest, path, ref, field) and a
// stable `code`, so the CLI can tell a user what to fix and programs can branch on it.

export class ImageError extends Error {
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Content did not hash to the digest it was announced with; nothing was kept. */
export class DigestMismatchError extends ImageError {
  constructor(readonly expected: string, readonly actual: string, readonly what = "blob") {
    super("EDIGEST", `${what}: digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** Content was not the size it was announced with; nothing was kept. */
export class SizeMismatchError extends ImageError {
  constructor(readonly digest: string, readonly expected: number, readonly actual: number) {
    super("ESIZE", `blob ${digest}: size mismatch: expected ${expected} bytes, got ${actual}`);
  }
}

export class BlobNotFoundError extends ImageError {
  constructor(readonly digest: string) {
    super("ENOBLOB", `blob ${digest} is not in the store`);
  }
}

export class ImageNotFoundError extends ImageError {
  constructor(readonly ref: string) {
    super("ENOIMAGE", `image "${ref}" is not in the store (pull, import or build it first)`);
  }
}

export class InvalidReferenceError extends ImageError {
  constructor(readonly ref: string, readonly reason: string) {
    super("EREFERENCE", `invalid image reference "${ref}": ${reason}`);
  }
}

/** A layer tried to write outside its root, or otherwise broke the rules of a safe unpack. */
export class HostileLayerError extends ImageError {
  constructor(readonly entry: string, readonly reason: string, readonly layer?: string) {
    super("EHOSTILELAYER", `refusing layer${layer ? ` ${layer}` : ""}: entry "${entry}": ${reason}`);
  }
}

export class UnsupportedError extends ImageError {
  constructor(readonly what: string) {
    super("EUNSUPPORTED", what);
  }
}

export class RegistryError extends ImageError {
  constructor(
    readonly url: string,
    readonly status: number | undefined,
    message: string,
    readonly registryCode?: string,
    options?: { cause?: unknown },
  ) {
    super(status === 401 || status === 403 ? "EAUTH" : "EREGISTRY", `${message} (${url}${status ? `: HTTP ${status}` : ""})`, options);
  }
}

export class InsecureRegistryError extends ImageError {
  constructor(readonly host: string) {
    super("EINSECURE", `registry ${host} would be reached over plain HTTP: pass --insecure (allowed without it only for loopback)`);
  }
}

export class NoMatchingPlatformError extends ImageError {
  constructor(readonly ref: string, readonly platform: string, readonly available: string[]) {
    super("ENOPLATFORM", `image "${ref}" has no manifest for ${platform} (has: ${available.join(", ") || "none"})`);
  }
}

export class ArchiveFormatError extends ImageError {
  constructor(readonly path: string, readonly reason: string) {
    super("EARCHIVE", `${path}: ${reason}`);
  }
}

export class BuildError extends ImageError {
  constructor(readonly file: string, readonly line: number, readonly reason: string) {
    super("EBUILD", `${file}${line ? `:${line}` : ""}: ${reason}`);
  }
}
