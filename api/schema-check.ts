// Checks a decoded object against an OpenAPI schema the way kube-apiserver's decoder does:
// unknown fields are found (and pruned), wrong types and schema violations are reported with
// their field path. Used for built-in kinds (api/schemas.ts) and custom resources (a CRD's
// openAPIV3Schema).
import { FieldError, invalid, notSupported, required, typeInvalid } from "./field-errors.js";
import { resolve, type Schema } from "./schemas.js";
import type { Schema as DslSchema } from "./schema-dsl.js";

export interface SchemaCheckResult {
  /** Paths of fields the schema does not know, e.g. `spec.containers[0].imagee`. */
  unknownFields: string[];
  /** Type and constraint violations. */
  errors: FieldError[];
}

export interface SchemaCheckOptions {
  /** Remove unknown fields from the value while walking it. */
  prune: boolean;
  /** Check enum/min/max/pattern/required (CRD schemas); built-in kinds leave that to their validators. */
  constraints: boolean;
  defs?: Readonly<Record<string, DslSchema>>;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

export function checkAgainstSchema(value: unknown, schema: Schema | undefined, opts: SchemaCheckOptions, root = true): SchemaCheckResult {
  const res: SchemaCheckResult = { unknownFields: [], errors: [] };
  walk(value, schema, "", opts, res, root);
  return res;
}

function walk(v: unknown, s0: Schema | undefined, path: string, opts: SchemaCheckOptions, res: SchemaCheckResult, root: boolean): void {
  const s = resolve(s0, opts.defs);
  if (!s || v === undefined) return;
  if (v === null) {
    if (opts.constraints && !s.nullable && s.type && !root) res.errors.push(typeInvalid(path, v, `must be ${s.type}`));
    return;
  }
  if (s["x-kubernetes-int-or-string"]) {
    if (typeof v !== "string" && typeof v !== "number") res.errors.push(typeInvalid(path, v, "must be an integer or a string"));
    return;
  }
  switch (s.type) {
    case "object": {
      if (typeName(v) !== "object") { res.errors.push(typeInvalid(path, v, `must be of type object, not ${typeName(v)}`)); return; }
      const o = v as Record<string, unknown>;
      const props = s.properties;
      const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
      for (const [k, child] of Object.entries(o)) {
        const p = join(path, k);
        if (root && (k === "apiVersion" || k === "kind")) continue;
        if (root && k === "metadata" && !props?.metadata) continue;
        if (props && props[k]) walk(child, props[k], p, opts, res, false);
        else if (s.additionalProperties && typeof s.additionalProperties === "object") walk(child, s.additionalProperties as Schema, p, opts, res, false);
        else if (s.additionalProperties === true || preserve || (!props && !s.additionalProperties)) continue;
        else {
          res.unknownFields.push(p);
          if (opts.prune) delete o[k];
        }
      }
      if (opts.constraints) {
        for (const r of s.required ?? []) if (o[r] === undefined) res.errors.push(required(join(path, r)));
        const n = Object.keys(o).length;
        if (typeof s.minProperties === "number" && n < s.minProperties) res.errors.push(invalid(path, n, `must have at least ${s.minProperties} properties`));
        if (typeof s.maxProperties === "number" && n > s.maxProperties) res.errors.push(invalid(path, n, `must have at most ${s.maxProperties} properties`));
      }
      return;
    }
    case "array": {
      if (!Array.isArray(v)) { res.errors.push(typeInvalid(path, v, `must be of type array, not ${typeName(v)}`)); return; }
      v.forEach((item, i) => walk(item, s.items, `${path}[${i}]`, opts, res, false));
      if (opts.constraints) {
        if (typeof s.minItems === "number" && v.length < s.minItems) res.errors.push(invalid(path, v.length, `should have at least ${s.minItems} items`));
        if (typeof s.maxItems === "number" && v.length > s.maxItems) res.errors.push(new FieldError("FieldValueTooMany", path, v.length, `must have at most ${s.maxItems} items`));
      }
      return;
    }
    case "string": {
      // Quantities and times are strings on the wire, but YAML may give a number for a quantity.
      if (typeof v !== "string" && !(typeof v === "number" && s["x-kubernetes-int-or-string"])) {
        res.errors.push(typeInvalid(path, v, `must be of type string, not ${typeName(v)}`));
        return;
      }
      if (opts.constraints) {
        const str = String(v);
        if (typeof s.minLength === "number" && str.length < s.minLength) res.errors.push(invalid(path, v, `should be at least ${s.minLength} chars long`));
        if (typeof s.maxLength === "number" && str.length > s.maxLength) res.errors.push(new FieldError("FieldValueTooLong", path, v, `may not be more than ${s.maxLength} bytes`));
        if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(str)) res.errors.push(invalid(path, v, `should match '${s.pattern}'`));
      }
      break;
    }
    case "integer":
      if (typeof v !== "number" || !Number.isInteger(v)) { res.errors.push(typeInvalid(path, v, `must be of type integer, not ${typeName(v)}`)); return; }
      checkNumber(v, s, path, opts, res);
      break;
    case "number":
      if (typeof v !== "number") { res.errors.push(typeInvalid(path, v, `must be of type number, not ${typeName(v)}`)); return; }
      checkNumber(v, s, path, opts, res);
      break;
    case "boolean":
      if (typeof v !== "boolean") { res.errors.push(typeInvalid(path, v, `must be of type boolean, not ${typeName(v)}`)); return; }
      break;
    default:
      return;
  }
  if (opts.constraints && Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    res.errors.push(notSupported(path, v, s.enum.map((e) => String(e))));
  }
}

function checkNumber(v: number, s: Schema, path: string, opts: SchemaCheckOptions, res: SchemaCheckResult): void {
  if (!opts.constraints) return;
  if (typeof s.minimum === "number" && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) res.errors.push(invalid(path, v, `should be greater than or equal to ${s.minimum}`));
  if (typeof s.maximum === "number" && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) res.errors.push(invalid(path, v, `should be less than or equal to ${s.maximum}`));
}
