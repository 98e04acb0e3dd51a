// A JSON list written out as the store is read (one store page at a time) instead of built
// whole and serialized at once: a list of 10,000 pods then never holds 10,000 decoded objects
// plus one 10 MB string. The list's metadata comes after its items (JSON readers do not mind
// the order), since the continue token is known only at the end.
import type { ServerResponse } from "node:http";
import type { ResourceInfo } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";
import type { ListOptions, ObjectStore } from "./object-store.js";

/** Bytes gathered before one write (fewer, larger TLS records). */
const CHUNK = 64 * 1024;

export async function sendListStream(objects: ObjectStore, r: ResourceInfo, namespace: string | undefined, opts: ListOptions, res: ServerResponse): Promise<void> {
  let started = false;
  let buf = `{"kind":${JSON.stringify(r.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(r))},"items":[`;
  let first = true;
  const flush = () => {
    // Headers go out with the first data, so an error on the first store read is still a Status.
    if (!started) {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
      started = true;
    }
    res.write(buf);
    buf = "";
  };
  try {
    const meta = await objects.listEach(r, namespace, opts, (o) => {
      buf += (first ? "" : ",") + JSON.stringify(o);
      first = false;
      if (buf.length >= CHUNK) flush();
    }, async () => {
      // Back-pressure between store pages: a slow reader holds one page, not the whole list.
      if (res.writableNeedDrain && !res.destroyed) {
        await new Promise<void>((resolve) => {
          const done = () => { res.off("drain", done); res.off("close", done); resolve(); };
          res.on("drain", done);
          res.on("close", done);
        });
      }
      if (res.destroyed) throw new Error("client went away");
    });
    buf += `],"metadata":${JSON.stringify({ resourceVersion: meta.resourceVersion, ...(meta.continue ? { continue: meta.continue } : {}) })}}`;
    flush();
    res.end();
  } catch (err) {
    if (!started) throw err;
    res.destroy(err as Error); // half a list must not look whole
  }
}
