// Push: the image's blobs (layers, config) that the registry does not have, then its manifest
// under the target tag. Multi-platform images are pushed with the platforms the store holds.
import { isIndexDocument, type ImageIndex, type ImageManifest } from "../../oci/image-spec.js";
import { type ContentStore } from "../content-store.js";
import { ImageNotFoundError } from "../errors.js";
import { formatReference, parseReference } from "../reference.js";
import { RegistryClient, type RegistryOptions } from "./client.js";
import { mapLimit, type Progress } from "./pull.js";

export interface PushOptions extends RegistryOptions {
  progress?: Progress;
  concurrency?: number;
}

export async function pushImage(store: ContentStore, source: string, destination: string = source, opts: PushOptions = {}): Promise<{ name: string; digest: string }> {
  const rec = await store.findRef(source);
  const digest = rec?.digest ?? (source.startsWith("sha256:") && (await store.hasBlob(source)) ? source : undefined);
  if (!digest) throw new ImageNotFoundError(source);
  const r = parseReference(destination);
  const client = new RegistryClient(r.registry, opts);
  const pushOne = async (manifestDigest: string, tag: string): Promise<void> => {
    const body = await store.readBlob(manifestDigest);
    const doc = JSON.parse(body.toString("utf8")) as ImageManifest | ImageIndex;
    const mediaType = (doc as { mediaType?: string }).mediaType ?? rec?.mediaType ?? "application/vnd.oci.image.manifest.v1+json";
    if (isIndexDocument(doc)) {
      const present = [];
      for (const m of (doc as ImageIndex).manifests) if (await store.hasBlob(m.digest)) present.push(m);
      for (const m of present) await pushOne(m.digest, m.digest);
    } else {
      const man = doc as ImageManifest;
      await mapLimit([man.config, ...man.layers], opts.concurrency ?? 3, async (d) => {
        const id = d.digest.slice(7, 19);
        if (await client.hasBlob(r.repository, d.digest)) return opts.progress?.done(id, "exists");
        opts.progress?.start(id, d.size);
        await client.putBlob(r.repository, d.digest, d.size, () => store.openBlob(d.digest));
        opts.progress?.done(id, "done");
      });
    }
    await client.putManifest(r.repository, tag, body, mediaType);
  };
  await pushOne(digest, r.digest ?? r.tag ?? "latest");
  return { name: formatReference(r), digest };
}
