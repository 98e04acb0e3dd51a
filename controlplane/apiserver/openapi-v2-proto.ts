// The OpenAPI v2 document in gnostic's protobuf form (openapi_v2.Document,
// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), the only form kubectl's
// discovery client reads /openapi/v2 in. Field numbers are those of gnostic's OpenAPIv2.proto;
// only the messages a Kubernetes document uses are written. Vendor extensions, defaults,
// enums and examples are `Any{yaml}`: JSON text is YAML, and kubectl parses them as YAML.
import protobuf from "protobufjs/minimal.js";

type J = Record<string, unknown>;
type W = protobuf.Writer;

const VARINT = 0, FIXED64 = 1, LEN = 2;

function tag(w: W, field: number, wire: number): W { return w.uint32((field << 3) | wire); }
function str(w: W, field: number, v: unknown): void { if (typeof v === "string" && v !== "") tag(w, field, LEN).string(v); }
function strs(w: W, field: number, v: unknown): void { if (Array.isArray(v)) for (const s of v) tag(w, field, LEN).string(String(s)); }
function bool(w: W, field: number, v: unknown): void { if (v === true) tag(w, field, VARINT).bool(true); }
function dbl(w: W, field: number, v: unknown): void { if (typeof v === "number") tag(w, field, FIXED64).double(v); }
function i64(w: W, field: number, v: unknown): void { if (typeof v === "number") tag(w, field, VARINT).int64(v); }
function msg(w: W, field: number, write: (w: W) => void): void { write(tag(w, field, LEN).fork()); w.ldelim(); }

/** Any{yaml}: a value carried as YAML text. */
function any(w: W, field: number, v: unknown): void {
  msg(w, field, (m) => str(m, 2, JSON.stringify(v)));
}

/** `x-...` keys of an object as repeated NamedAny at `field`. */
function vendor(w: W, field: number, o: J): void {
  for (const [k, v] of Object.entries(o)) {
    if (!k.startsWith("x-")) continue;
    msg(w, field, (m) => { str(m, 1, k); any(m, 2, v); });
  }
}

function schema(w: W, s: J): void {
  str(w, 1, s.$ref); str(w, 2, s.format); str(w, 3, s.title); str(w, 4, s.description);
  if (s.default !== undefined) any(w, 5, s.default);
  dbl(w, 6, s.multipleOf); dbl(w, 7, s.maximum); bool(w, 8, s.exclusiveMaximum); dbl(w, 9, s.minimum); bool(w, 10, s.exclusiveMinimum);
  i64(w, 11, s.maxLength); i64(w, 12, s.minLength); str(w, 13, s.pattern); i64(w, 14, s.maxItems); i64(w, 15, s.minItems);
  bool(w, 16, s.uniqueItems); i64(w, 17, s.maxProperties); i64(w, 18, s.minProperties); strs(w, 19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) any(w, 20, e);
  // AdditionalPropertiesItem: oneof schema = 1 | boolean = 2.
  if (s.additionalProperties !== undefined) {
    const ap = s.additionalProperties;
    msg(w, 21, (m) => { if (typeof ap === "boolean") tag(m, 2, VARINT).bool(ap); else msg(m, 1, (x) => schema(x, ap as J)); });
  }
  if (s.type !== undefined) msg(w, 22, (m) => strs(m, 1, Array.isArray(s.type) ? s.type : [s.type]));
  if (s.items !== undefined) msg(w, 23, (m) => { for (const it of Array.isArray(s.items) ? s.items : [s.items]) msg(m, 1, (x) => schema(x, it as J)); });
  if (Array.isArray(s.allOf)) for (const a of s.allOf) msg(w, 24, (m) => schema(m, a as J));
  if (s.properties) msg(w, 25, (m) => namedSchemas(m, 1, s.properties as J));
  str(w, 26, s.discriminator); bool(w, 27, s.readOnly);
  if (s.example !== undefined) any(w, 30, s.example);
  vendor(w, 31, s);
}

function namedSchemas(w: W, field: number, o: J): void {
  for (const [name, v] of Object.entries(o)) msg(w, field, (m) => { str(m, 1, name); msg(m, 2, (x) => schema(x, v as J)); });
}

/** A parameter: a body parameter, or a query/path/header one (NonBodyParameter's sub-schemas). */
function parametersItem(w: W, p: J): void {
  if (typeof p.$ref === "string") { msg(w, 2, (m) => str(m, 1, p.$ref)); return; }
  msg(w, 1, (param) => {
    if (p.in === "body") {
      msg(param, 1, (b) => { str(b, 1, p.description); str(b, 2, p.name); str(b, 3, p.in); bool(b, 4, p.required); if (p.schema) msg(b, 5, (x) => schema(x, p.schema as J)); vendor(b, 6, p); });
      return;
    }
    // NonBodyParameter oneof: header = 1, formData = 2, query = 3, path = 4. Query and
    // formData share one layout (with allow_empty_value at 5); header and path another.
    const which = p.in === "header" ? 1 : p.in === "formData" ? 2 : p.in === "path" ? 4 : 3;
    msg(param, 2, (nb) => msg(nb, which, (x) => {
      bool(x, 1, p.required); str(x, 2, p.in); str(x, 3, p.description); str(x, 4, p.name);
      const o = which === 2 || which === 3 ? 1 : 0; // the field shift after allow_empty_value
      bool(x, 5, o ? p.allowEmptyValue : undefined);
      str(x, 5 + o, p.type); str(x, 6 + o, p.format);
      bool(x, 19 + o, p.uniqueItems);
      vendor(x, 22 + o, p);
    }));
  });
}

function operation(w: W, op: J): void {
  strs(w, 1, op.tags); str(w, 2, op.summary); str(w, 3, op.description); str(w, 5, op.operationId);
  strs(w, 6, op.produces); strs(w, 7, op.consumes);
  for (const p of (op.parameters as J[] | undefined) ?? []) msg(w, 8, (m) => parametersItem(m, p));
  if (op.responses) {
    msg(w, 9, (rs) => {
      for (const [code, r] of Object.entries(op.responses as Record<string, J>)) {
        // NamedResponseValue{name, ResponseValue{response = 1: Response{description, SchemaItem{schema = 1}}}}
        msg(rs, 1, (nr) => { str(nr, 1, code); msg(nr, 2, (rv) => msg(rv, 1, (resp) => {
          str(resp, 1, r.description);
          if (r.schema) msg(resp, 2, (si) => msg(si, 1, (x) => schema(x, r.schema as J)));
          vendor(resp, 5, r);
        })); });
      }
    });
  }
  strs(w, 10, op.schemes); bool(w, 11, op.deprecated);
  vendor(w, 13, op);
}

const METHOD_FIELD: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(w: W, item: J): void {
  str(w, 1, item.$ref);
  for (const [method, field] of Object.entries(METHOD_FIELD)) if (item[method]) msg(w, field, (m) => operation(m, item[method] as J));
  for (const p of (item.parameters as J[] | undefined) ?? []) msg(w, 9, (m) => parametersItem(m, p));
  vendor(w, 10, item);
}

/** Encodes a Swagger 2.0 JSON document as gnostic's openapi_v2.Document. */
export function encodeOpenapiV2(doc: J): Uint8Array {
  const w = protobuf.Writer.create();
  str(w, 1, doc.swagger);
  const info = (doc.info ?? {}) as J;
  msg(w, 2, (m) => { str(m, 1, info.title); str(m, 2, info.version); str(m, 3, info.description); vendor(m, 7, info); });
  str(w, 3, doc.host); str(w, 4, doc.basePath);
  strs(w, 5, doc.schemes); strs(w, 6, doc.consumes); strs(w, 7, doc.produces);
  msg(w, 8, (m) => {
    for (const [p, item] of Object.entries((doc.paths ?? {}) as Record<string, J>)) msg(m, 2, (np) => { str(np, 1, p); msg(np, 2, (x) => pathItem(x, item)); });
  });
  msg(w, 9, (m) => namedSchemas(m, 1, (doc.definitions ?? {}) as J));
  const sec = (doc.securityDefinitions ?? {}) as Record<string, J>;
  if (Object.keys(sec).length) {
    msg(w, 13, (m) => {
      for (const [name, d] of Object.entries(sec)) {
        if (d.type !== "apiKey") continue;
        // SecurityDefinitionsItem oneof api_key_security = 2: ApiKeySecurity{type, name, in, description}
        msg(m, 1, (n) => { str(n, 1, name); msg(n, 2, (item) => msg(item, 2, (k) => { str(k, 1, d.type); str(k, 2, d.name); str(k, 3, d.in); str(k, 4, d.description); })); });
      }
    });
  }
  for (const req of (doc.security as Record<string, string[]>[] | undefined) ?? []) {
    // SecurityRequirement{NamedStringArray{name, StringArray{value}}}
    msg(w, 12, (m) => { for (const [name, scopes] of Object.entries(req)) msg(m, 1, (n) => { str(n, 1, name); msg(n, 2, (a) => strs(a, 1, scopes)); }); });
  }
  vendor(w, 16, doc);
  return w.finish();
}
