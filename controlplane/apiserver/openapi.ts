// OpenAPI v3 documents: an index at /openapi/v3 and one document per group/version, whose
// operations carry x-kubernetes-group-version-kind and the fieldValidation parameter (kubectl
// apply checks for it) and whose schemas carry the patch merge keys (kubectl apply builds its
// strategic merge patch from them) and the descriptions `kubectl explain` prints.
import { createHash } from "node:crypto";
import type { ResourceInfo, ResourceRegistry } from "../../api/registry.js";
import { definitions } from "../../api/schemas.js";
import type { Schema } from "../../api/schema-dsl.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { encodeOpenapiV2 } from "./openapi-v2-proto.js";
import { sendJson } from "./http-util.js";

type Doc = Record<string, unknown>;

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";

/** Rewrites bare definition refs to `#/components/schemas/<name>` (or `#/definitions/` for v2). */
function withRefs(s: unknown, prefix: string): unknown {
  if (Array.isArray(s)) return s.map((x) => withRefs(x, prefix));
  if (!s || typeof s !== "object") return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) out[k] = k === "$ref" && typeof v === "string" && !v.startsWith("#") ? prefix + v : withRefs(v, prefix);
  return out;
}

function reverseGroup(group: string): string {
  return group.split(".").reverse().join(".");
}

/** The schema name of a resource (built-in definition or one made from its CRD). */
export function schemaName(r: ResourceInfo): string {
  return r.definition ?? `${reverseGroup(r.group)}.${r.version}.${r.kind}`;
}

function customSchema(r: ResourceInfo): Schema {
  const base = (r.schema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true }) as Schema;
  return {
    ...base,
    type: "object",
    properties: {
      ...(base.properties ?? {}),
      apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
      kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." },
      metadata: { allOf: [{ $ref: `${META}.ObjectMeta` }], description: "Standard object's metadata." },
    },
    "x-kubernetes-group-version-kind": [{ group: r.group, version: r.version, kind: r.kind }],
  };
}

const param = (name: string, inWhere: "query" | "path", description: string, type = "string") => ({
  name, in: inWhere, description, ...(inWhere === "path" ? { required: true } : {}), schema: { type, uniqueItems: true },
});

function operations(r: ResourceInfo, refPrefix: string): Record<string, Doc> {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const ref = { $ref: refPrefix + schemaName(r) };
  const json = (schema: unknown) => ({ "application/json": { schema }, "application/yaml": { schema } });
  const ok = (schema: unknown) => ({ "200": { description: "OK", content: json(schema) }, "401": { description: "Unauthorized" } });
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const nsPart = r.namespaced ? "/namespaces/{namespace}" : "";
  const common = [
    ...(r.namespaced ? [param("namespace", "path", "object name and auth scope, such as for teams and projects")] : []),
    param("pretty", "query", "If 'true', then the output is pretty printed."),
  ];
  const write = [
    param("dryRun", "query", "When present, indicates that modifications should not be persisted."),
    param("fieldManager", "query", "fieldManager is a name associated with the actor or entity that is making these changes."),
    param("fieldValidation", "query", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict."),
  ];
  const id = (verb: string) => `${verb}${r.namespaced ? "Namespaced" : ""}${r.kind}`;
  const op = (action: string, verb: string, extra: Doc) => ({
    tags: [r.group || "core"], operationId: id(verb), "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, ...extra,
  });
  const patchTypes = r.custom ? ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
    : ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];
  const patchBody = { content: Object.fromEntries(patchTypes.map((t) => [t, { schema: { $ref: `${refPrefix}${META}.Patch` } }])), required: true };
  const paths: Record<string, Doc> = {};
  const list = `${base}${nsPart}/${r.plural}`;
  const item = `${list}/{name}`;
  paths[list] = {
    parameters: common,
    get: op("list", "list", { description: `list or watch objects of kind ${r.kind}`, responses: ok({ $ref: refPrefix + schemaName(r) + "List" }), parameters: [param("labelSelector", "query", "A selector to restrict the list of returned objects by their labels."), param("fieldSelector", "query", "A selector to restrict the list of returned objects by their fields."), param("limit", "query", "limit is a maximum number of responses to return for a list call.", "integer"), param("continue", "query", "The continue option should be set when retrieving more results from the server."), param("watch", "query", "Watch for changes to the described resources.", "boolean"), param("resourceVersion", "query", "resourceVersion sets a constraint on what resource versions a request may be served from.")] }),
    post: op("post", "create", { description: `create a ${r.kind}`, parameters: write, requestBody: { content: json(ref), required: true }, responses: { ...ok(ref), "201": { description: "Created", content: json(ref) } } }),
    delete: op("deletecollection", "deleteCollection", { description: `delete collection of ${r.kind}`, responses: ok({ $ref: `${refPrefix}${META}.Status` }) }),
  };
  paths[item] = {
    parameters: [param("name", "path", `name of the ${r.kind}`), ...common],
    get: op("get", "read", { description: `read the specified ${r.kind}`, responses: ok(ref) }),
    put: op("put", "replace", { description: `replace the specified ${r.kind}`, parameters: write, requestBody: { content: json(ref), required: true }, responses: ok(ref) }),
    patch: op("patch", "patch", { description: `partially update the specified ${r.kind}`, parameters: [...write, param("force", "query", "Force is going to \"force\" Apply requests.", "boolean")], requestBody: patchBody, responses: ok(ref) }),
    delete: op("delete", "delete", { description: `delete a ${r.kind}`, parameters: [param("dryRun", "query", "When present, indicates that modifications should not be persisted."), param("gracePeriodSeconds", "query", "The duration in seconds before the object should be deleted.", "integer"), param("propagationPolicy", "query", "Whether and how garbage collection will be performed.")], responses: ok(ref) }),
  };
  if (r.subresources.status) {
    paths[`${item}/status`] = {
      parameters: [param("name", "path", `name of the ${r.kind}`), ...common],
      get: op("get", "read" + "Status", { responses: ok(ref) }),
      put: op("put", "replace" + "Status", { parameters: write, requestBody: { content: json(ref), required: true }, responses: ok(ref) }),
      patch: op("patch", "patch" + "Status", { parameters: write, requestBody: patchBody, responses: ok(ref) }),
    };
  }
  if (r.namespaced) paths[`${base}/${r.plural}`] = { get: op("list", `list${r.kind}ForAllNamespaces`, { responses: ok({ $ref: refPrefix + schemaName(r) + "List" }) }) };
  return paths;
}

function listSchema(r: ResourceInfo): Schema {
  return {
    type: "object", required: ["items"], description: `${r.kind}List is a list of ${r.kind}`,
    properties: { apiVersion: { type: "string" }, items: { type: "array", items: { $ref: schemaName(r) } }, kind: { type: "string" }, metadata: { $ref: `${META}.ListMeta` } },
    "x-kubernetes-group-version-kind": [{ group: r.group, version: r.version, kind: r.listKind }],
  };
}

const cache = new WeakMap<ResourceRegistry, { version: number; docs: Map<string, Doc | undefined>; index?: Doc }>();

function cacheFor(registry: ResourceRegistry) {
  let c = cache.get(registry);
  if (!c || c.version !== registry.version) {
    c = { version: registry.version, docs: new Map() };
    cache.set(registry, c);
  }
  return c;
}

/** The document for one group/version (e.g. "apis/apps/v1"), or undefined if not served. */
export function openapiV3Document(registry: ResourceRegistry, group: string, version: string): Doc | undefined {
  const c = cacheFor(registry);
  const key = `${group}/${version}`;
  if (!c.docs.has(key)) c.docs.set(key, buildDocument(registry, group, version));
  return c.docs.get(key);
}

function buildDocument(registry: ResourceRegistry, group: string, version: string): Doc | undefined {
  const rs = registry.inGroupVersion(group, version);
  if (!rs.length) return undefined;
  const P = "#/components/schemas/";
  const schemas: Record<string, unknown> = {};
  // The built-in definitions are small enough to include whole; custom kinds are added.
  for (const [k, v] of Object.entries(definitions)) schemas[k] = withRefs(v, P);
  const paths: Record<string, unknown> = {};
  for (const r of rs) {
    if (r.review) continue; // answered, never stored: no object schema to describe
    Object.assign(paths, operations(r, P));
    if (r.custom) {
      schemas[schemaName(r)] = withRefs(customSchema(r), P);
      schemas[schemaName(r) + "List"] = withRefs(listSchema(r), P);
    }
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas, securitySchemes: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } } },
  };
}

function docPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** The index at /openapi/v3: one entry per group/version with a content hash. */
export function openapiV3Index(registry: ResourceRegistry): Doc {
  const c = cacheFor(registry);
  return (c.index ??= buildIndex(registry));
}

function buildIndex(registry: ResourceRegistry): Doc {
  const paths: Record<string, unknown> = {};
  for (const [group, versions] of registry.groups()) {
    for (const v of versions) {
      const doc = openapiV3Document(registry, group, v)!;
      const hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").slice(0, 64).toUpperCase();
      paths[docPath(group, v)] = { serverRelativeURL: `/openapi/v3/${docPath(group, v)}?hash=${hash}` };
    }
  }
  return { paths };
}

/** Maps a /openapi/v3/<...> path back to its group and version. */
export function parseOpenapiV3Path(rest: string): { group: string; version: string } | undefined {
  const parts = rest.split("/").filter(Boolean);
  if (parts[0] === "api" && parts.length === 2) return { group: "", version: parts[1] };
  if (parts[0] === "apis" && parts.length === 3) return { group: parts[1], version: parts[2] };
  return undefined;
}

// --- OpenAPI v2 (Swagger 2.0): one document for every group/version, from the same
// definitions and operations as v3. kubectl reads it (as protobuf) for `explain
// --output=plaintext-openapiv2` and, when v3 is unavailable, for apply's validation check.

const V2 = "#/definitions/";

/** A v3 schema written the v2 way: a lone `allOf: [$ref]` is a `$ref`; v3-only keywords go. */
function v2Schema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(v2Schema);
  if (!s || typeof s !== "object") return s;
  const src = s as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === "nullable" || k === "anyOf" || k === "oneOf" || k === "not") continue;
    if (k === "allOf" && Array.isArray(v) && v.length === 1 && (v[0] as Schema).$ref) { out.$ref = (v[0] as Schema).$ref; continue; }
    out[k] = k === "properties" || k === "x-kubernetes-group-version-kind" || k === "enum" || k === "default" || k === "example"
      ? (k === "properties" ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([n, p]) => [n, v2Schema(p)])) : v)
      : v2Schema(v);
  }
  // v2 arrays must say what their items are (kubectl's parser rejects an array without one).
  if (out.type === "array" && !out.items) out.items = {};
  return out;
}

/** A v3 operation (parameters with schema, requestBody, content) in v2 form (body parameter, schema). */
function v2Operation(op: Doc): Doc {
  const { requestBody, responses, parameters, ...rest } = op as Doc & { requestBody?: { content: Record<string, { schema: unknown }>; required?: boolean }; responses?: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>; parameters?: Doc[] };
  const params: Doc[] = (parameters ?? []).map(v2Parameter);
  if (requestBody) {
    const first = Object.values(requestBody.content)[0];
    params.unshift({ name: "body", in: "body", required: true, schema: first?.schema ?? {} });
  }
  const out: Doc = { ...rest, consumes: requestBody ? Object.keys(requestBody.content) : ["*/*"], produces: ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"], schemes: ["https"] };
  if (params.length) out.parameters = params;
  out.responses = Object.fromEntries(Object.entries(responses ?? {}).map(([code, r]) => {
    const schema = r.content ? Object.values(r.content)[0]?.schema : undefined;
    return [code, schema ? { description: r.description, schema } : { description: r.description }];
  }));
  return out;
}

function v2Parameter(p: Doc): Doc {
  const { schema, ...rest } = p as Doc & { schema?: Record<string, unknown> };
  return { ...rest, ...(schema ?? {}) };
}

const v2Cache = new WeakMap<ResourceRegistry, { version: number; doc: Doc; proto?: Uint8Array }>();

/** The whole v2 document (cached per registry version). */
export function openapiV2Document(registry: ResourceRegistry): Doc {
  const hit = v2Cache.get(registry);
  if (hit && hit.version === registry.version) return hit.doc;
  const doc = buildV2(registry);
  v2Cache.set(registry, { version: registry.version, doc });
  return doc;
}

/** The v2 document as gnostic protobuf, the form kubectl asks for (encoded once per registry version). */
export function openapiV2Protobuf(registry: ResourceRegistry): Uint8Array {
  const doc = openapiV2Document(registry);
  const hit = v2Cache.get(registry)!;
  return (hit.proto ??= encodeOpenapiV2(doc));
}

function buildV2(registry: ResourceRegistry): Doc {
  const defs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(definitions)) defs[k] = v2Schema(withRefs(v, V2));
  const paths: Record<string, Doc> = {};
  for (const r of registry.all()) {
    if (r.review) continue;
    for (const [p, item] of Object.entries(operations(r, V2))) {
      const v2Item: Doc = {};
      for (const [method, op] of Object.entries(item)) {
        v2Item[method] = method === "parameters" ? (op as unknown as Doc[]).map(v2Parameter) : v2Operation(op as Doc);
      }
      paths[p] = v2Item;
    }
    if (r.custom) {
      defs[schemaName(r)] = v2Schema(withRefs(customSchema(r), V2));
      defs[schemaName(r) + "List"] = v2Schema(withRefs(listSchema(r), V2));
    }
  }
  return {
    swagger: "2.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    definitions: defs,
    securityDefinitions: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } },
    security: [{ BearerToken: [] }],
  };
}

export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/** Answers GET /openapi/v2: protobuf when the client asks for it (kubectl does), JSON otherwise. */
export function sendOpenapiV2(registry: ResourceRegistry, req: IncomingMessage, res: ServerResponse): void {
  const accept = req.headers.accept ?? "";
  if (accept.includes(OPENAPI_V2_PROTOBUF)) {
    const body = openapiV2Protobuf(registry);
    // Answered as kube-openapi does: Go's mime parser refuses the "@" of the requested name.
    res.writeHead(200, { "Content-Type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", "Content-Length": body.byteLength, Vary: "Accept" });
    res.end(body);
    return;
  }
  sendJson(res, 200, openapiV2Document(registry), { Vary: "Accept" });
}
