// keel's Kubernetes API types: shapes, quantities, selectors, defaulting, validation, schemas,
// the resource registry and table columns. No HTTP and no store here: the kubelet and the
// controllers import this too.
export * from "./meta.js";
export * from "./core.js";
export * from "./apps.js";
export * from "./extensions.js";
export * from "./quantity.js";
export * from "./field-errors.js";
export * from "./names.js";
export * from "./selectors.js";
export * from "./defaults.js";
export * from "./validation.js";
export { definitions, definitionFor, resolve as resolveSchema } from "./schemas.js";
export type { Schema } from "./schema-dsl.js";
export * from "./schema-check.js";
export * from "./strategic-merge.js";
export * from "./tables.js";
export * from "./registry.js";
export * from "./rbac.js";
export * from "./policy.js";
export * from "./scheduling.js";
