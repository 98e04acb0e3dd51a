// A few builders for OpenAPI v3 schemas. The built-in kinds are described once with these
// (api/schemas.ts); the OpenAPI documents, unknown-field detection and the strategic merge
// patch keys are all read from that one description.

export type Schema = {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  $ref?: string;
  allOf?: Schema[];
  [ext: string]: unknown;
};

/** Refs are kept as bare definition names here; the OpenAPI writers turn them into paths. */
export const ref = (name: string, description?: string): Schema => (description ? { allOf: [{ $ref: name }], description } : { $ref: name });
export const str = (description?: string): Schema => ({ type: "string", ...(description ? { description } : {}) });
export const enumStr = (values: string[], description?: string): Schema => ({ type: "string", enum: values, ...(description ? { description } : {}) });
export const int = (description?: string): Schema => ({ type: "integer", format: "int32", ...(description ? { description } : {}) });
export const int64 = (description?: string): Schema => ({ type: "integer", format: "int64", ...(description ? { description } : {}) });
export const num = (description?: string): Schema => ({ type: "number", format: "double", ...(description ? { description } : {}) });
export const bool = (description?: string): Schema => ({ type: "boolean", ...(description ? { description } : {}) });
export const time = (description?: string): Schema => ref("io.k8s.apimachinery.pkg.apis.meta.v1.Time", description);
export const quantity = (): Schema => ref("io.k8s.apimachinery.pkg.api.resource.Quantity");
export const intOrString = (description?: string): Schema => ref("io.k8s.apimachinery.pkg.util.intstr.IntOrString", description);
export const strMap = (description?: string): Schema => ({ type: "object", additionalProperties: { type: "string" }, ...(description ? { description } : {}) });
export const mapOf = (v: Schema, description?: string): Schema => ({ type: "object", additionalProperties: v, ...(description ? { description } : {}) });
export const anyObj = (description?: string): Schema => ({ type: "object", "x-kubernetes-preserve-unknown-fields": true, ...(description ? { description } : {}) });

/** An atomic list (replaced whole by a patch). */
export const arr = (items: Schema, description?: string): Schema => ({ type: "array", items, ...(description ? { description } : {}) });

/** A list merged by key in a strategic merge patch (containers by name, ports by containerPort). */
export const keyedArr = (items: Schema, key: string, mapKeys: string[] = [key], description?: string): Schema => ({
  type: "array", items,
  "x-kubernetes-patch-merge-key": key, "x-kubernetes-patch-strategy": "merge",
  "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": mapKeys,
  ...(description ? { description } : {}),
});

/** A list of scalars merged as a set (finalizers). */
export const setArr = (items: Schema, description?: string): Schema => ({
  type: "array", items, "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set", ...(description ? { description } : {}),
});

export const obj = (properties: Record<string, Schema>, opts: { required?: string[]; description?: string; [ext: string]: unknown } = {}): Schema => {
  const { required, description, ...ext } = opts;
  return {
    type: "object",
    ...(description ? { description } : {}),
    properties,
    ...(required && required.length ? { required } : {}),
    ...ext,
  };
};
