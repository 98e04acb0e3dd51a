// keel's image store, as the runtime, the kubelet and the CLI use it:
//
//   const images = await ImageService.open();          // /var/lib/keel/images, or KEEL_IMAGE_ROOT
//   const { manifest, config } = await images.resolve("busybox");
//   const { rootfs, cleanup } = await images.snapshots.prepare("busybox", containerId);
//   const proc = imageConfigToProcess(config, { command, env, workdir, user });
//   const ids = resolveUser(rootfs, proc.user);

export { ContentStore, defaultImageRoot, hostPlatform, type ResolvedImage, type PlatformSpec } from "./content-store.js";
export { imageConfigToProcess, resolveUser, withRuntimeEnv, mergeEnv, NoCommandError, UnknownUserError, type ImageProcess, type UserOverrides } from "./image-config.js";
export { prepareRootfs, releaseRootfs, ensureLayers, type PreparedRootfs } from "./snapshots.js";
export { normalizeReference, parseReference, localBuildName } from "./reference.js";
export { buildBusyboxImage } from "./build-busybox.js";
export { buildFromContainerfile, buildFromDirectory } from "./build.js";
export * from "./errors.js";
export { ImageService } from "./service.js";
