// Garbage collection: deletes blobs and snapshots that no ref, live lease or prepared container
// needs. It runs under the store's GC lock, which lease updates also take, so an operation in
// progress (a pull, an import, a rootfs being prepared) never loses what it holds.
import { chainIds } from "./digest.js";
import { type ContentStore } from "./content-store.js";
import { activeChainIds, collectSnapshots } from "./snapshots.js";
import { isIndexDocument, type ImageManifest, type ImageConfig } from "../oci/image-spec.js";

export interface GcResult {
  blobsRemoved: string[];
  bytesRemoved: number;
  snapshotsRemoved: string[];
}

export async function collectGarbage(store: ContentStore): Promise<GcResult> {
  return store.withGcLock(async () => {
    const keepBlobs = await store.referencedBlobs();
    const keepChains = await activeChainIds(store);
    const leased = await store.liveLeases();
    leased.digests.forEach((d) => keepBlobs.add(d));
    leased.chainIds.forEach((c) => keepChains.add(c));
    // Snapshots of every image still referenced (by a ref, or a lease holding its manifest).
    const tops = [...(await store.listRefs()).map((r) => r.digest), ...leased.digests];
    for (const top of tops) for (const c of await imageChainIds(store, top)) keepChains.add(c);
    const { removed, bytes } = await store.collectBlobs(keepBlobs);
    const snapshotsRemoved = await collectSnapshots(store, keepChains);
    return { blobsRemoved: removed, bytesRemoved: bytes, snapshotsRemoved };
  });
}

/** Chain ids of the image(s) a manifest or index digest names; [] for anything else. */
async function imageChainIds(store: ContentStore, digest: string): Promise<string[]> {
  let doc: unknown;
  try {
    if ((await store.blobSize(digest)) > 4 << 20) return []; // a layer, not a manifest
    doc = await store.readJson(digest, "manifest");
  } catch {
    return [];
  }
  if (isIndexDocument(doc)) {
    const out: string[] = [];
    for (const m of (doc as { manifests?: { digest: string }[] }).manifests ?? []) out.push(...(await imageChainIds(store, m.digest)));
    return out;
  }
  const man = doc as ImageManifest;
  if (!man.config?.digest || !Array.isArray(man.layers)) return [];
  try {
    const config = (await store.readJson(man.config.digest, "config")) as ImageConfig;
    return chainIds(config.rootfs?.diff_ids ?? []);
  } catch {
    return [];
  }
}
