// Strategic merge patch (application/strategic-merge-patch+json), as kubectl apply and
// kubectl patch send it: maps merge recursively, null deletes, lists of objects merge by the
// patch merge key the schema names (containers by name, ports by containerPort, env by name,
// volumes by name), other lists are replaced, and the directives $patch (replace | delete |
// merge), $retainKeys, $setElementOrder/<list> and $deleteFromPrimitiveList/<list> are honoured.
import { resolve, type Schema } from "./schemas.js";
import type { Schema as DslSchema } from "./schema-dsl.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export class StrategicMergeError extends Error {
  constructor(readonly field: string, reason: string) {
    super(`unable to apply strategic merge patch at ${field || "<root>"}: ${reason}`);
    this.name = "StrategicMergeError";
  }
}

/** Applies `patch` to `original` (not modified) and returns the result. */
export function strategicMerge(original: unknown, patch: unknown, schema: Schema | undefined, defs?: Readonly<Record<string, DslSchema>>): unknown {
  if (!isObj(patch)) throw new StrategicMergeError("", "the patch must be a JSON object");
  const orig = isObj(original) ? structuredClone(original) : {};
  return mergeMap(orig, patch, schema, "", defs) ?? {};
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isObj(x) && x.$patch === "delete")).map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/") || k.startsWith("$deleteFromPrimitiveList/")) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function childSchema(s: Schema | undefined, key: string, defs?: Readonly<Record<string, DslSchema>>): Schema | undefined {
  const r = resolve(s, defs);
  if (!r) return undefined;
  if (r.properties?.[key]) return resolve(r.properties[key], defs) ?? r.properties[key];
  if (isObj(r.additionalProperties)) return resolve(r.additionalProperties as Schema, defs);
  return undefined;
}

function mergeMap(orig: Obj, patch: Obj, schema: Schema | undefined, path: string, defs?: Readonly<Record<string, DslSchema>>): Obj | undefined {
  const directive = patch.$patch;
  if (directive === "delete") return undefined;
  if (directive === "replace") return stripDirectives(patch) as Obj;
  const result: Obj = orig;
  const orders: [string, unknown[]][] = [];
  for (const [key, pv] of Object.entries(patch)) {
    if (key === "$patch" || key === "$retainKeys") continue;
    if (key.startsWith("$setElementOrder/")) { if (Array.isArray(pv)) orders.push([key.slice(17), pv]); continue; }
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const field = key.slice(25);
      if (Array.isArray(result[field]) && Array.isArray(pv)) {
        result[field] = (result[field] as unknown[]).filter((x) => !pv.some((d) => JSON.stringify(d) === JSON.stringify(x)));
        if ((result[field] as unknown[]).length === 0) delete result[field];
      }
      continue;
    }
    const p = path ? `${path}.${key}` : key;
    if (pv === null) { delete result[key]; continue; }
    const fs = childSchema(schema, key, defs);
    const ov = result[key];
    if (isObj(pv)) {
      if (isObj(ov) && pv.$patch !== "replace") {
        const merged = mergeMap(ov, pv, fs, p, defs);
        if (merged === undefined) delete result[key]; else result[key] = merged;
      } else if (pv.$patch === "delete") {
        delete result[key];
      } else {
        result[key] = stripDirectives(pv);
      }
    } else if (Array.isArray(pv)) {
      result[key] = mergeList(Array.isArray(ov) ? ov : [], pv, fs, p, defs);
    } else {
      result[key] = pv;
    }
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list)) result[field] = reorder(list, order, childSchema(schema, field, defs));
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(result)) if (!keep.has(k)) delete result[k];
  }
  return result;
}

function mergeList(orig: unknown[], patch: unknown[], s: Schema | undefined, path: string, defs?: Readonly<Record<string, DslSchema>>): unknown[] {
  const strategy = String(s?.["x-kubernetes-patch-strategy"] ?? "");
  const mergeKey = s?.["x-kubernetes-patch-merge-key"] as string | undefined;
  if (patch.some((x) => isObj(x) && x.$patch === "replace")) return stripDirectives(patch.filter((x) => !(isObj(x) && x.$patch === "replace"))) as unknown[];
  if (!strategy.split(",").includes("merge")) return stripDirectives(patch) as unknown[];
  if (!mergeKey) {
    // A list of scalars merged as a set: keep the original, append what is new.
    const out = [...orig];
    for (const x of patch) if (!out.some((y) => JSON.stringify(y) === JSON.stringify(x))) out.push(x);
    return out;
  }
  const out = orig.map((x) => structuredClone(x));
  const itemSchema = s?.items;
  patch.forEach((item, i) => {
    if (!isObj(item)) throw new StrategicMergeError(`${path}[${i}]`, `expected an object with merge key ${JSON.stringify(mergeKey)}`);
    const k = item[mergeKey];
    const idx = out.findIndex((x) => isObj(x) && JSON.stringify(x[mergeKey]) === JSON.stringify(k));
    if (item.$patch === "delete") {
      if (idx >= 0) out.splice(idx, 1);
      return;
    }
    if (k === undefined) throw new StrategicMergeError(`${path}[${i}]`, `map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    if (idx >= 0) {
      const merged = mergeMap(out[idx] as Obj, item, itemSchema, `${path}[${i}]`, defs);
      if (merged === undefined) out.splice(idx, 1); else out[idx] = merged;
    } else {
      out.push(stripDirectives(item));
    }
  });
  return out;
}

function reorder(list: unknown[], order: unknown[], s: Schema | undefined): unknown[] {
  const mergeKey = s?.["x-kubernetes-patch-merge-key"] as string | undefined;
  const keyOf = (x: unknown) => JSON.stringify(mergeKey && isObj(x) ? x[mergeKey] : x);
  const orderKeys = order.map(keyOf);
  const inOrder = [...list].filter((x) => orderKeys.includes(keyOf(x))).sort((a, b) => orderKeys.indexOf(keyOf(a)) - orderKeys.indexOf(keyOf(b)));
  const rest = list.filter((x) => !orderKeys.includes(keyOf(x)));
  return [...inOrder, ...rest];
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Obj = isObj(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}
