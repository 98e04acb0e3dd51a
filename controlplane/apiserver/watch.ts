// Watch as a chunked JSON stream: one `{"type":..., "object":...}` per line. Resumes from a
// resourceVersion, sends the current objects first when none is given, filters by selectors
// (an object leaving the selection is a DELETED event), sends BOOKMARKs when asked, and ends
// with an ERROR event carrying a 410 Expired Status when the history was compacted.
import type { ServerResponse } from "node:http";
import type { KubeObject, WatchEvent } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";
import { matchesFields, matchesLabels, type FieldRequirement, type Selector } from "../../api/selectors.js";
import type { Watch, WatchEvent as StoreEvent } from "../store/index.js";
import { CompactedError } from "../store/index.js";
import type { ObjectStore } from "./object-store.js";
import { toApiError } from "./errors.js";
import { toTable } from "./tables.js";

/** How much a slow watcher may have queued before its watch is ended. */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/**
 * One store event as every watcher of it needs it: decoded once, and each watch line serialized
 * once, however many watchers receive it (the store hands the same event object to all of its
 * watchers). Keyed by API version, since a custom resource may be watched through several.
 * The decoded objects are shared: nothing here or in toTable mutates them.
 */
class SharedEvent {
  private curObj?: KubeObject;
  private prevObj?: KubeObject | null;
  private readonly lines = new Map<string, Buffer>();
  constructor(private readonly objects: ObjectStore, private readonly r: ResourceInfo, private readonly ev: StoreEvent) {}

  get cur(): KubeObject | undefined {
    if (this.ev.type !== "PUT") return undefined;
    return (this.curObj ??= this.objects.decode(this.r, { value: this.ev.value, modRevision: this.ev.modRevision }));
  }

  get prev(): KubeObject | undefined {
    if (this.prevObj === undefined) {
      this.prevObj = this.ev.prevValue !== undefined ? this.objects.decode(this.r, { value: this.ev.prevValue, modRevision: this.ev.modRevision }) : null;
    }
    return this.prevObj ?? undefined;
  }

  get hasPrev(): boolean { return this.ev.prevValue !== undefined; }

  /** The JSON line for `type` carrying the current ("cur") or previous ("prev") object. */
  line(type: string, which: "cur" | "prev"): Buffer {
    const k = type + which;
    let b = this.lines.get(k);
    if (!b) {
      b = Buffer.from(JSON.stringify({ type, object: which === "cur" ? this.cur : this.prev }) + "\n");
      this.lines.set(k, b);
    }
    return b;
  }
}

const sharedEvents = new WeakMap<StoreEvent, Map<string, SharedEvent>>();

function sharedEvent(objects: ObjectStore, r: ResourceInfo, ev: StoreEvent): SharedEvent {
  let byVersion = sharedEvents.get(ev);
  if (!byVersion) { byVersion = new Map(); sharedEvents.set(ev, byVersion); }
  const v = apiVersionOf(r);
  let se = byVersion.get(v);
  if (!se) { se = new SharedEvent(objects, r, ev); byVersion.set(v, se); }
  return se;
}

export interface WatchRequest {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  resourceVersion?: string;
  labelSelector?: Selector;
  fieldSelector?: FieldRequirement[];
  allowBookmarks: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  asTable: boolean;
  includeObject?: string;
  bookmarkIntervalMs?: number;
}

export async function serveWatch(objects: ObjectStore, req: WatchRequest, res: ServerResponse, onClose: (fn: () => void) => void): Promise<void> {
  const r = req.resource;
  const matches = (o: KubeObject | undefined) =>
    !!o && (!req.name || o.metadata.name === req.name) &&
    (!req.labelSelector || matchesLabels(req.labelSelector, o.metadata.labels)) && (!req.fieldSelector || matchesFields(req.fieldSelector, o));

  res.writeHead(200, { "Content-Type": req.asTable ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
  res.flushHeaders();
  let closed = false;
  let lastRv = 0;
  let watch: Watch | undefined;
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t), clearInterval(t);
    void watch?.cancel();
    res.end();
  };
  onClose(finish);

  const write = (chunk: Buffer | string) => {
    res.write(chunk);
    // A client that stops reading is dropped rather than buffered without bound; it will
    // re-list and watch again, as client-go does when a watch ends.
    if (res.writableLength > MAX_BUFFERED_BYTES) finish();
  };
  /** Sends a shared event's line (serialized once for all watchers) unless a table is wanted. */
  const sendShared = (se: SharedEvent, type: "ADDED" | "MODIFIED" | "DELETED", which: "cur" | "prev") => {
    if (closed) return;
    if (req.asTable) send({ type, object: (which === "cur" ? se.cur : se.prev)! });
    else write(se.line(type, which));
  };
  const send = (ev: WatchEvent) => {
    if (closed) return;
    let object: unknown = ev.object;
    if (req.asTable && ev.type !== "ERROR" && ev.type !== "BOOKMARK") {
      object = toTable(r, [ev.object as KubeObject], { resourceVersion: (ev.object as KubeObject).metadata.resourceVersion }, req.includeObject);
    }
    write(JSON.stringify({ type: ev.type, object }) + "\n");
  };
  const bookmark = (extra?: Record<string, string>) => send({
    type: "BOOKMARK",
    object: { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(lastRv), ...(extra ? { annotations: extra } : {}) } } as KubeObject,
  });

  let from: number;
  const rv = req.resourceVersion;
  const initial = req.sendInitialEvents ?? (!rv || rv === "0");
  try {
    if (initial) {
      const list = await objects.list(r, req.namespace, { labelSelector: req.labelSelector, fieldSelector: req.fieldSelector });
      from = Number(list.resourceVersion);
      lastRv = from;
      for (const o of list.items) if (matches(o)) send({ type: "ADDED", object: o });
      if (req.sendInitialEvents && req.allowBookmarks) bookmark({ "k8s.io/initial-events-end": "true" });
    } else {
      from = Number(rv);
      if (!Number.isSafeInteger(from) || from < 0) throw new Error(`invalid resourceVersion ${JSON.stringify(rv)}`);
      lastRv = from;
    }
    watch = await objects.watch(r, req.namespace, from, (ev: StoreEvent) => {
      if (closed) return;
      const se = sharedEvent(objects, r, ev);
      lastRv = ev.modRevision;
      if (ev.type === "DELETE") {
        if (matches(se.prev)) sendShared(se, "DELETED", "prev");
        return;
      }
      // Without selectors the previous object need not be decoded: only whether there was one.
      const filtered = !!(req.name || req.labelSelector || req.fieldSelector);
      const now = matches(se.cur), before = filtered ? matches(se.prev) : se.hasPrev;
      if (now && before) sendShared(se, "MODIFIED", "cur");
      else if (now) sendShared(se, "ADDED", "cur");
      else if (before) sendShared(se, "DELETED", "cur");
    }, (err) => {
      send({ type: "ERROR", object: toApiError(err).toStatus() });
      finish();
    });
  } catch (err) {
    const e = err instanceof CompactedError ? toApiError(err) : toApiError(err);
    send({ type: "ERROR", object: e.toStatus() });
    finish();
    return;
  }
  if (req.allowBookmarks) {
    const t = setInterval(() => bookmark(), req.bookmarkIntervalMs ?? 5_000);
    t.unref();
    timers.push(t);
  }
  if (req.timeoutSeconds && req.timeoutSeconds > 0) {
    const t = setTimeout(finish, req.timeoutSeconds * 1000);
    t.unref();
    timers.push(t);
  }
}
