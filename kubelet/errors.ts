// The kubelet's errors: each names what failed (a manifest file and field, a pod, a container)
// so that the user knows what to fix.
export class KubeletError extends Error {
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KubeletError";
  }
}

/** A Pod manifest that cannot be used: unreadable, not YAML/JSON, not a Pod, or invalid. */
export class ManifestError extends KubeletError {
  constructor(readonly file: string, readonly field: string | undefined, message: string) {
    super("EMANIFEST", `${file}: ${field && !message.startsWith(field) ? `${field}: ` : ""}${message}`);
    this.name = "ManifestError";
  }
}

/** A container that could not be set up or started (image, volume, spec, runtime). */
export class ContainerStartError extends KubeletError {
  constructor(readonly pod: string, readonly container: string, readonly reason: string, message: string, options?: { cause?: unknown }) {
    super("ECONTAINER", `pod ${pod}, container ${container}: ${message}`, options);
    this.name = "ContainerStartError";
  }
}

/** A volume that could not be prepared (hostPath type mismatch, unknown volume kind). */
export class VolumeError extends KubeletError {
  constructor(readonly pod: string, readonly volume: string, message: string) {
    super("EVOLUME", `pod ${pod}, volume ${volume}: ${message}`);
    this.name = "VolumeError";
  }
}
