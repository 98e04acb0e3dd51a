// keel's image store, as the runtime, the kubelet and the CLI use it:
//
//   const images = await ImageService.open();          // /var/lib/keel/images, or KEEL_IMAGE_ROOT
//   const { manifest, config } = await images.resolve("busybox");
//   const { rootfs, cleanup } = await images.snapshots.prepare("busybox", containerId);
//   const proc = imageConfigToProcess(config, { command, env, workdir, user });
//   const ids = resolveUser(rootfs, proc.user);
import { ContentStore, defaultImageRoot, type PlatformSpec, type ResolvedImage } from "./content-store.js";
import { prepareRootfs, releaseRootfs, type PreparedRootfs } from "./snapshots.js";
import { collectGarbage, type GcResult } from "./gc.js";
import { pullImage, type PullOptions, type PullResult } from "./registry/pull.js";
import { pushImage, type PushOptions } from "./registry/push.js";
import { importImage, exportOciLayout, exportOciArchive, type ImportedImage } from "./layout.js";
import { buildBusyboxImage, type BuildBusyboxOptions } from "./build-busybox.js";

export { ContentStore, defaultImageRoot, hostPlatform, type ResolvedImage, type PlatformSpec } from "./content-store.js";
export { imageConfigToProcess, resolveUser, withRuntimeEnv, mergeEnv, NoCommandError, UnknownUserError, type ImageProcess, type UserOverrides } from "./image-config.js";
export { prepareRootfs, releaseRootfs, ensureLayers, type PreparedRootfs } from "./snapshots.js";
export { normalizeReference, parseReference, localBuildName } from "./reference.js";
export { buildBusyboxImage } from "./build-busybox.js";
export { buildFromContainerfile, buildFromDirectory } from "./build.js";
export * from "./errors.js";

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
    await pullImage(this.store, ref, opts);
    return this.store.resolve(ref, opts.platform);
  }

  pull(ref: string, opts?: PullOptions): Promise<PullResult> {
    return pullImage(this.store, ref, opts);
  }
  push(ref: string, destination?: string, opts?: PushOptions): Promise<{ name: string; digest: string }> {
    return pushImage(this.store, ref, destination, opts);
  }
  import(source: string, name?: string): Promise<ImportedImage[]> {
    return importImage(this.store, source, name);
  }
  async export(refs: string[], output: string): Promise<void> {
    if (output.endsWith(".tar")) await exportOciArchive(this.store, refs, output);
    else await exportOciLayout(this.store, refs, output);
  }
  buildBusybox(opts?: BuildBusyboxOptions): Promise<{ name: string; digest: string }> {
    return buildBusyboxImage(this.store, opts);
  }
  gc(): Promise<GcResult> {
    return collectGarbage(this.store);
  }
}
