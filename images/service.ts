// ImageService: the image store's one front door (local resolve, pull when missing, snapshots,
// push, import/export, build, GC). `keel run` goes through resolve and snapshots only, so the
// registry client, the archive code and the builder are imported when first used, not at
// start-up (they are most of the module graph, and every `keel run` would pay to load them).
import { ContentStore, defaultImageRoot, type PlatformSpec, type ResolvedImage } from "./content-store.js";
import { prepareRootfs, releaseRootfs, type PreparedRootfs } from "./snapshots.js";
import type { GcResult } from "./gc.js";
import type { PullOptions, PullResult } from "./registry/pull.js";
import type { PushOptions } from "./registry/push.js";
import type { ImportedImage } from "./layout.js";
import type { BuildBusyboxOptions } from "./build-busybox.js";

export class ImageService {
  private constructor(readonly store: ContentStore) {}

  static async open(root: string = defaultImageRoot()): Promise<ImageService> {
    return new ImageService(await ContentStore.open(root));
  }

  /** The manifest and config of a local image ("busybox", "host:5000/x:1", a digest). */
  resolve(ref: string, platform?: PlatformSpec): Promise<ResolvedImage> {
    return this.store.resolve(ref, platform);
  }

  /** Container root filesystems: overlay mounts of an image's shared, read-only layers. */
  readonly snapshots = {
    prepare: (imageRef: string, containerId: string, opts?: { target?: string; readonly?: boolean }): Promise<PreparedRootfs> =>
      prepareRootfs(this.store, imageRef, containerId, opts),
    /** Unmounts and deletes a container's rootfs, also from a process other than the one that prepared it. */
    release: (containerId: string): Promise<void> => releaseRootfs(this.store, containerId),
  };

  /** The local image, pulled first when it is not there (podman's --pull=missing). */
  async ensure(ref: string, opts: PullOptions = {}): Promise<ResolvedImage> {
    try {
      return await this.store.resolve(ref, opts.platform);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOIMAGE") throw e;
    }
    await this.pull(ref, opts);
    return this.store.resolve(ref, opts.platform);
  }

  async pull(ref: string, opts?: PullOptions): Promise<PullResult> {
    const { pullImage } = await import("./registry/pull.js");
    return pullImage(this.store, ref, opts);
  }
  async push(ref: string, destination?: string, opts?: PushOptions): Promise<{ name: string; digest: string }> {
    const { pushImage } = await import("./registry/push.js");
    return pushImage(this.store, ref, destination, opts);
  }
  async import(source: string, name?: string): Promise<ImportedImage[]> {
    const { importImage } = await import("./layout.js");
    return importImage(this.store, source, name);
  }
  async export(refs: string[], output: string): Promise<void> {
    const { exportOciArchive, exportOciLayout } = await import("./layout.js");
    if (output.endsWith(".tar")) await exportOciArchive(this.store, refs, output);
    else await exportOciLayout(this.store, refs, output);
  }
  async buildBusybox(opts?: BuildBusyboxOptions): Promise<{ name: string; digest: string }> {
    const { buildBusyboxImage } = await import("./build-busybox.js");
    return buildBusyboxImage(this.store, opts);
  }
  async gc(): Promise<GcResult> {
    const { collectGarbage } = await import("./gc.js");
    return collectGarbage(this.store);
  }
}
