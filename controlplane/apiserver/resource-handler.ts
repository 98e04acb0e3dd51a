// The REST verbs on one resource path: get, list, watch, create, update, patch, delete,
// deletecollection, and the status and scale subresources.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KubeObject } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";
import { parseFieldSelector, parseLabelSelector, type FieldRequirement, type Selector } from "../../api/selectors.js";
import { ApiError, badRequest, methodNotAllowed, notFound, toApiError } from "./errors.js";
import { decodeObject, readBody, sendJson, warningHeader } from "./http-util.js";
import type { DeleteOptions, FieldValidation, ObjectStore, WriteOptions } from "./object-store.js";
import { applyPatch, parsePatchBody, patchTypeOf } from "./patch.js";
import { serverSideApply } from "./server-side-apply.js";
import { TABLE_CONTENT_TYPE, toTable, wantsTable } from "./tables.js";
import { serveWatch } from "./watch.js";
import { sendListStream } from "./list-stream.js";

export interface ResourceRequest {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Field selectors each kind supports besides metadata.name and metadata.namespace. */
const FIELD_LABELS: Record<string, string[]> = {
  "/Pod": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
  "/Event": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
  "/Secret": ["type"],
  "/Node": ["spec.unschedulable"],
  "/Namespace": ["status.phase"],
  "/ReplicationController": ["status.replicas"],
  "batch/Job": ["status.successful"],
};

function parseSelectors(r: ResourceInfo, q: URLSearchParams): { labelSelector?: Selector; fieldSelector?: FieldRequirement[] } {
  const ls = q.get("labelSelector");
  const fs = q.get("fieldSelector");
  const fieldSelector = fs ? parseFieldSelector(fs) : undefined;
  for (const f of fieldSelector ?? []) {
    const allowed = ["metadata.name", "metadata.namespace", ...(FIELD_LABELS[`${r.group}/${r.kind}`] ?? [])];
    if (!allowed.includes(f.field)) throw badRequest(`field label not supported: ${f.field}`);
  }
  return { labelSelector: ls ? parseLabelSelector(ls) : undefined, fieldSelector };
}

function writeOptions(q: URLSearchParams, warnings: string[]): WriteOptions {
  const fv = q.get("fieldValidation") ?? "Warn";
  if (!["Strict", "Warn", "Ignore"].includes(fv)) throw badRequest(`fieldValidation must be one of Ignore, Warn, Strict (got ${JSON.stringify(fv)})`);
  const dry = q.getAll("dryRun");
  if (dry.some((d) => d !== "All")) throw badRequest(`dryRun must be "All" (got ${JSON.stringify(dry)})`);
  return { fieldValidation: fv as FieldValidation, dryRun: dry.length > 0, warnings };
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`${name} must be an integer (got ${JSON.stringify(v)})`);
  return n;
}

function scaleOf(r: ResourceInfo, obj: KubeObject): KubeObject {
  const sc = r.subresources.scale!;
  const get = (path: string) => path.replace(/^\./, "").split(".").reduce<unknown>((c, p) => (c && typeof c === "object" ? (c as Record<string, unknown>)[p] : undefined), obj);
  const sel = (obj.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector;
  const selector = sc.labelSelectorPath === ".status.selector" && sel?.matchLabels
    ? Object.entries(sel.matchLabels).map(([k, v]) => `${k}=${v}`).join(",")
    : (sc.labelSelectorPath ? get(sc.labelSelectorPath) : undefined);
  return {
    kind: "Scale", apiVersion: "autoscaling/v1",
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
    spec: { replicas: (get(sc.specReplicasPath) as number | undefined) ?? 0 },
    status: { replicas: (get(sc.statusReplicasPath) as number | undefined) ?? 0, ...(selector ? { selector } : {}) },
  };
}

function setPath(obj: KubeObject, path: string, value: unknown): void {
  const parts = path.replace(/^\./, "").split(".");
  let cur = obj as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== "object") cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

export async function handleResource(objects: ObjectStore, rr: ResourceRequest, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const { resource: r, namespace, name, subresource } = rr;
  const q = url.searchParams;
  const method = req.method ?? "GET";
  const asTable = wantsTable(req.headers.accept);
  const warnings: string[] = [];
  const ctx = { resource: r, name: name ?? "" };
  const respond = (code: number, obj: KubeObject) => {
    if (asTable && method === "GET" && !subresource) {
      sendJson(res, code, toTable(r, [obj], { resourceVersion: obj.metadata.resourceVersion }, q.get("includeObject") ?? undefined), warningHeader(warnings), TABLE_CONTENT_TYPE);
    } else sendJson(res, code, obj, warningHeader(warnings));
  };
  try {
    if (subresource && !["status", "scale", "finalize", "binding"].includes(subresource)) throw notFound(r, `${name}/${subresource}`);
    if (subresource === "binding" && !(r.group === "" && r.kind === "Pod")) throw notFound(r, `${name}/binding`);
    if (subresource === "status" && !r.subresources.status) throw notFound(r, `${name}/status`);
    if (subresource === "scale" && !r.subresources.scale) throw notFound(r, `${name}/scale`);
    if (subresource === "finalize" && !(r.group === "" && r.kind === "Namespace")) throw notFound(r, `${name}/finalize`);

    if (!name) {
      // Collection: list, watch, create, deletecollection.
      if (method === "GET") {
        const sel = parseSelectors(r, q);
        if (q.get("watch") === "true" || q.get("watch") === "1") {
          await serveWatch(objects, {
            resource: r, namespace, ...sel, resourceVersion: q.get("resourceVersion") ?? undefined,
            allowBookmarks: q.get("allowWatchBookmarks") === "true", sendInitialEvents: q.has("sendInitialEvents") ? q.get("sendInitialEvents") === "true" : undefined,
            timeoutSeconds: intParam(q, "timeoutSeconds"), asTable, includeObject: q.get("includeObject") ?? undefined,
          }, res, (fn) => { req.on("close", fn); res.on("close", fn); });
          return;
        }
        const listOpts = { ...sel, limit: intParam(q, "limit"), continue: q.get("continue") ?? undefined, resourceVersion: q.get("resourceVersion") ?? undefined };
        if (!asTable) return sendListStream(objects, r, namespace, listOpts, res);
        const list = await objects.list(r, namespace, listOpts);
        const meta = { resourceVersion: list.resourceVersion, ...(list.continue ? { continue: list.continue } : {}) };
        sendJson(res, 200, toTable(r, list.items, meta, q.get("includeObject") ?? undefined), {}, TABLE_CONTENT_TYPE);
        return;
      }
      if (method === "POST") {
        if (!r.verbs.includes("create")) throw methodNotAllowed();
        const opts = writeOptions(q, warnings);
        const body = decodeObject(await readBody(req), req.headers["content-type"]) as KubeObject;
        const created = await objects.create(r, namespace, body, opts);
        ctx.name = created.metadata.name ?? "";
        respond(201, created);
        return;
      }
      if (method === "DELETE") {
        if (!r.verbs.includes("deletecollection")) throw methodNotAllowed();
        const sel = parseSelectors(r, q);
        const opts = await deleteOptions(req, q);
        const list = await objects.list(r, namespace, sel);
        const deleted: KubeObject[] = [];
        for (const o of list.items) {
          try { deleted.push((await objects.delete(r, o.metadata.namespace, o.metadata.name!, opts)).object); } catch (err) {
            if (!(err instanceof ApiError && err.code === 404)) throw err;
          }
        }
        sendJson(res, 200, { kind: r.listKind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: list.resourceVersion }, items: deleted });
        return;
      }
      throw methodNotAllowed();
    }

    if (subresource === "binding") {
      if (method !== "POST") throw methodNotAllowed();
      await bindPod(objects, r, namespace, name, decodeObject(await readBody(req), req.headers["content-type"]), writeOptions(q, warnings));
      sendJson(res, 201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
      return;
    }

    // One object.
    switch (method) {
      case "GET": {
        const obj = await objects.get(r, namespace, name);
        if (subresource === "scale") { sendJson(res, 200, scaleOf(r, obj)); return; }
        respond(200, obj);
        return;
      }
      case "PUT": {
        const opts = writeOptions(q, warnings);
        const body = decodeObject(await readBody(req), req.headers["content-type"]) as KubeObject;
        if (subresource === "scale") {
          const replicas = (body.spec as { replicas?: unknown } | undefined)?.replicas;
          if (!Number.isInteger(replicas) || (replicas as number) < 0) throw badRequest("spec.replicas must be a non-negative integer");
          const out = await objects.guaranteedUpdate(r, namespace, name, (cur) => {
            if (body.metadata?.resourceVersion) cur.metadata.resourceVersion = body.metadata.resourceVersion;
            setPath(cur, r.subresources.scale!.specReplicasPath, replicas);
            return cur;
          }, opts);
          sendJson(res, 200, scaleOf(r, out));
          return;
        }
        const out = await objects.update(r, namespace, name, body, { ...opts, subresource: subresource === "finalize" ? undefined : subresource });
        respond(200, out);
        return;
      }
      case "PATCH": {
        const opts = writeOptions(q, warnings);
        const type = patchTypeOf(req.headers["content-type"]);
        const patch = parsePatchBody(type, await readBody(req));
        if (subresource === "scale") {
          const out = await objects.guaranteedUpdate(r, namespace, name, (cur) => {
            const scale = applyPatch({ ...r, custom: true }, scaleOf(r, cur), type === "strategic" ? "merge" : type, patch);
            const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
            if (!Number.isInteger(replicas) || (replicas as number) < 0) throw badRequest("spec.replicas must be a non-negative integer");
            setPath(cur, r.subresources.scale!.specReplicasPath, replicas);
            if (scale.metadata?.resourceVersion !== cur.metadata.resourceVersion) cur.metadata.resourceVersion = scale.metadata.resourceVersion;
            return cur;
          }, opts);
          sendJson(res, 200, scaleOf(r, out));
          return;
        }
        if (type === "apply") {
          const manager = q.get("fieldManager");
          let exists = true;
          try { await objects.get(r, namespace, name); } catch (err) { if (err instanceof ApiError && err.code === 404) exists = false; else throw err; }
          if (!exists) {
            const body = serverSideApply(r, undefined, patch, manager);
            body.metadata = { ...(body.metadata ?? {}), name };
            respond(201, await objects.create(r, namespace, body, opts));
            return;
          }
          const out = await objects.guaranteedUpdate(r, namespace, name, (cur) => {
            const next = serverSideApply(r, cur, patch, manager);
            if (!(patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion) next.metadata.resourceVersion = undefined;
            return next;
          }, { ...opts, subresource });
          respond(200, out);
          return;
        }
        const out = await objects.guaranteedUpdate(r, namespace, name, (cur) => {
          const next = applyPatch(r, cur, type, patch);
          // A patch without a resourceVersion applies to whatever is current.
          const patchRv = (patch as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
          if (!patchRv || type === "json") {
            const jsonRv = type === "json" && next.metadata?.resourceVersion !== cur.metadata.resourceVersion;
            if (!jsonRv && next.metadata) next.metadata.resourceVersion = undefined;
          }
          return next;
        }, { ...opts, subresource });
        respond(200, out);
        return;
      }
      case "DELETE": {
        if (subresource) throw methodNotAllowed();
        const opts = await deleteOptions(req, q);
        const { object } = await objects.delete(r, namespace, name, opts);
        respond(200, object);
        return;
      }
      default:
        throw methodNotAllowed();
    }
  } catch (err) {
    const e = toApiError(err, ctx);
    if (res.headersSent) { res.end(); return; }
    sendJson(res, e.code, e.toStatus(), warningHeader(warnings));
  }
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const raw = await readBody(req);
  let body: Record<string, unknown> = {};
  if (raw.length) body = decodeObject(raw, req.headers["content-type"]);
  const grace = intParam(q, "gracePeriodSeconds") ?? (body.gracePeriodSeconds as number | undefined);
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) throw badRequest("gracePeriodSeconds must be a non-negative integer");
  const dry = q.getAll("dryRun").length > 0 || (Array.isArray(body.dryRun) && body.dryRun.length > 0);
  return {
    gracePeriodSeconds: grace,
    preconditions: body.preconditions as DeleteOptions["preconditions"],
    propagationPolicy: q.get("propagationPolicy") ?? (body.propagationPolicy as string | undefined) ?? (body.orphanDependents === true ? "Orphan" : undefined),
    dryRun: dry,
  };
}

/** POST pods/NAME/binding: the scheduler's one write, setting spec.nodeName exactly once. */
async function bindPod(objects: ObjectStore, r: ResourceInfo, namespace: string | undefined, name: string, body: Record<string, unknown>, opts: WriteOptions): Promise<void> {
  const target = body.target as { kind?: string; name?: string } | undefined;
  if (!target?.name) throw badRequest("a Binding needs target.name (the node)");
  if (target.kind && target.kind !== "Node") throw badRequest(`a pod can only be bound to a Node (got ${target.kind})`);
  const uid = (body.metadata as { uid?: string } | undefined)?.uid;
  await objects.guaranteedUpdate(r, namespace, name, (pod) => {
    if (uid && uid !== pod.metadata.uid) throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on pods/binding ${JSON.stringify(name)}: the UID in the binding does not match the pod`);
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (spec.nodeName) throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on pods/binding ${JSON.stringify(name)}: pod ${name} is already assigned to node ${JSON.stringify(spec.nodeName)}`);
    if (pod.metadata.deletionTimestamp) throw new ApiError(409, "Conflict", `Operation cannot be fulfilled on pods/binding ${JSON.stringify(name)}: pod ${name} is being deleted, cannot be assigned to a host`);
    spec.nodeName = target.name;
    pod.spec = spec;
    const status = (pod.status ?? {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
    const conds = (status.conditions ?? []).filter((c) => c.type !== "PodScheduled");
    conds.push({ type: "PodScheduled", status: "True", lastTransitionTime: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z") });
    pod.status = { ...status, conditions: conds };
    pod.metadata.resourceVersion = undefined;
    return pod;
  }, { ...opts, subresource: "binding" });
}
