// Server-side apply (PATCH application/apply-patch+yaml), simplified: each field manager's
// applied fields are recorded in metadata.managedFields (FieldsV1 form: "f:name", keyed list
// items "k:{...}", set values "v:..."). A new apply merges the configuration in and removes
// what the same manager applied before but no longer does. Conflicts between managers are
// not detected: every apply behaves as with --force-conflicts.
import type { KubeObject, ManagedFieldsEntry } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";
import { definitions, resolve, type Schema } from "../../api/schemas.js";
import { strategicMerge, jsonMergePatch } from "../../api/strategic-merge.js";
import { badRequest } from "./errors.js";

type FieldSet = { [path: string]: FieldSet };
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Fields never owned: identity and bookkeeping. */
const ROOT_SKIP = new Set(["apiVersion", "kind"]);
const META_SKIP = new Set(["name", "namespace", "resourceVersion", "managedFields", "uid", "creationTimestamp", "generation"]);

function schemaOf(r: ResourceInfo): Schema | undefined {
  return r.custom ? (r.schema as Schema | undefined) : r.definition ? definitions[r.definition] : undefined;
}

function child(s: Schema | undefined, key: string): Schema | undefined {
  const x = resolve(s);
  if (!x) return undefined;
  if (x.properties?.[key]) return resolve(x.properties[key]);
  if (isObj(x.additionalProperties)) return resolve(x.additionalProperties as Schema);
  return undefined;
}

function listKeys(s: Schema | undefined): string[] | undefined {
  const keys = s?.["x-kubernetes-list-map-keys"] as string[] | undefined;
  return s?.["x-kubernetes-list-type"] === "map" && keys?.length ? keys : undefined;
}

const itemKey = (item: Obj, keys: string[]) => "k:" + JSON.stringify(Object.fromEntries(keys.filter((k) => item[k] !== undefined).map((k) => [k, item[k]])));

/** The FieldsV1 set of the fields a configuration sets. */
export function fieldSetOf(value: unknown, s: Schema | undefined, root = true): FieldSet {
  const out: FieldSet = {};
  if (!isObj(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (root && ROOT_SKIP.has(k)) continue;
    const cs = child(s, k);
    if (root && k === "metadata" && isObj(v)) {
      const m: FieldSet = {};
      for (const [mk, mv] of Object.entries(v)) if (!META_SKIP.has(mk)) m[`f:${mk}`] = isObj(mv) ? fieldSetOf(mv, child(cs, mk), false) : {};
      if (Object.keys(m).length) out["f:metadata"] = m;
      continue;
    }
    if (Array.isArray(v)) {
      const keys = listKeys(cs);
      const list: FieldSet = {};
      if (keys) for (const item of v) { if (isObj(item)) list[itemKey(item, keys)] = { ".": {}, ...fieldSetOf(item, resolve(cs?.items), false) }; }
      else if (cs?.["x-kubernetes-list-type"] === "set") for (const item of v) list[`v:${JSON.stringify(item)}`] = {};
      out[`f:${k}`] = list;
    } else if (isObj(v) && !cs?.["x-kubernetes-preserve-unknown-fields"] && (cs?.properties || cs?.additionalProperties || !cs)) {
      out[`f:${k}`] = fieldSetOf(v, cs, false);
    } else out[`f:${k}`] = {};
  }
  return out;
}

/**
 * A removal tree for every field of `set`: leaves and list items are null ("remove"), maps are
 * walked, so a map another manager also writes to (labels) loses only this manager's keys.
 */
function allOf(set: FieldSet): Record<string, unknown> | null {
  const keys = Object.keys(set).filter((k) => k !== ".");
  if (keys.length === 0) return null;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = k.startsWith("f:") ? allOf(set[k]) : null;
  return out;
}

/** Paths in `prev` that `next` no longer has; null means "remove it". */
function removed(prev: FieldSet, next: FieldSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, sub] of Object.entries(prev)) {
    if (k === ".") continue;
    if (!(k in next)) out[k] = k.startsWith("f:") ? allOf(sub) : null;
    else {
      const r = removed(sub, next[k]);
      if (Object.keys(r).length) out[k] = r;
    }
  }
  return out;
}

function removeFrom(target: unknown, rm: Record<string, unknown>, s: Schema | undefined): void {
  if (!isObj(target)) return;
  for (const [k, sub] of Object.entries(rm)) {
    if (!k.startsWith("f:")) continue;
    const name = k.slice(2);
    const cs = child(s, name);
    if (sub === null) { delete target[name]; continue; }
    const v = target[name];
    if (Array.isArray(v)) {
      for (const [ik, isub] of Object.entries(sub as Obj)) {
        if (ik.startsWith("k:")) {
          const want = JSON.parse(ik.slice(2)) as Obj;
          const idx = v.findIndex((x) => isObj(x) && Object.entries(want).every(([wk, wv]) => JSON.stringify(x[wk]) === JSON.stringify(wv)));
          if (idx < 0) continue;
          if (isub === null) v.splice(idx, 1);
          else removeFrom(v[idx], isub as Record<string, unknown>, resolve(cs?.items));
        } else if (ik.startsWith("v:") && isub === null) {
          const idx = v.findIndex((x) => JSON.stringify(x) === ik.slice(2));
          if (idx >= 0) v.splice(idx, 1);
        }
      }
      if (v.length === 0) delete target[name];
    } else if (isObj(v)) {
      removeFrom(v, sub as Record<string, unknown>, cs);
      if (Object.keys(v).length === 0) delete target[name];
    }
  }
}

/** Applies `config` as `manager` onto `current` (undefined when creating). */
export function serverSideApply(r: ResourceInfo, current: KubeObject | undefined, config: unknown, manager: string | null): KubeObject {
  if (!manager) throw badRequest("PATCH with apply-patch requires a fieldManager");
  if (!isObj(config)) throw badRequest("an apply configuration must be an object");
  const s = schemaOf(r);
  const next = fieldSetOf(config, s);
  const base = structuredClone(current ?? ({ metadata: {} } as KubeObject));
  const entries = (base.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  const mine = entries.find((e) => e.manager === manager && e.operation === "Apply");
  if (mine?.fieldsV1) removeFrom(base, removed(mine.fieldsV1 as FieldSet, next), s);
  const merged = (r.custom ? jsonMergePatch(base, config) : strategicMerge(base, config, s)) as KubeObject;
  const time = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
  merged.metadata = merged.metadata ?? {};
  merged.metadata.managedFields = [
    ...entries.filter((e) => e !== mine),
    { manager, operation: "Apply", apiVersion: apiVersionOf(r), time, fieldsType: "FieldsV1", fieldsV1: next },
  ];
  return merged;
}
