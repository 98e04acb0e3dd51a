// scheduling.k8s.io/v1 PriorityClass: its type, OpenAPI schema, defaulting and validation as
// kube-apiserver does them (pkg/apis/scheduling/validation, pkg/apis/scheduling/v1/defaults.go),
// and the two built-in classes the API server creates at start.
import type { KubeObject } from "./meta.js";
import { FieldError, forbidden, invalid, notSupported, required } from "./field-errors.js";
import { bool, enumStr, int, obj, ref, str, type Schema } from "./schema-dsl.js";

export const SCHEDULING_GROUP = "scheduling.k8s.io";
export type PreemptionPolicy = "PreemptLowerPriority" | "Never";

export interface PriorityClass extends KubeObject {
  value: number;
  globalDefault?: boolean;
  description?: string;
  preemptionPolicy?: PreemptionPolicy;
}

/** The highest value a user-made class may have; above it are the system classes. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/** A pod's priority when it names no class and no class is the global default. */
export const DEFAULT_POD_PRIORITY = 0;

/** system-cluster-critical and system-node-critical, as kube-apiserver creates them. */
export const SYSTEM_PRIORITY_CLASSES: PriorityClass[] = [
  {
    apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "system-node-critical" },
    value: SYSTEM_CRITICAL_PRIORITY + 1000, description: "Used for system critical pods that must not be moved from their current node.",
  },
  {
    apiVersion: "scheduling.k8s.io/v1", kind: "PriorityClass", metadata: { name: "system-cluster-critical" },
    value: SYSTEM_CRITICAL_PRIORITY, description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
  },
];

const PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"] as const;
const META = "io.k8s.apimachinery.pkg.apis.meta.v1";

export const schedulingDefinitions: Record<string, Schema> = {
  "io.k8s.api.scheduling.v1.PriorityClass": obj({
    apiVersion: str("APIVersion defines the versioned schema of this representation of an object."),
    description: str("description is an arbitrary string that usually provides guidelines on when this priority class should be used."),
    globalDefault: bool("globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`."),
    kind: str("Kind is a string value representing the REST resource this object represents."),
    metadata: ref(`${META}.ObjectMeta`, "Standard object's metadata."),
    preemptionPolicy: enumStr([...PREEMPTION_POLICIES], "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset."),
    value: int("value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec."),
  }, {
    required: ["value"],
    description: "PriorityClass defines mapping from a priority class name to the priority integer value. The value can be any valid integer.",
    "x-kubernetes-group-version-kind": [{ group: SCHEDULING_GROUP, version: "v1", kind: "PriorityClass" }],
  }),
};

export function defaultPriorityClass(o: KubeObject): void {
  const pc = o as PriorityClass;
  pc.preemptionPolicy ??= "PreemptLowerPriority";
}

export function isSystemPriorityClass(name: string | undefined): boolean {
  return SYSTEM_PRIORITY_CLASSES.some((c) => c.metadata.name === name);
}

export function validatePriorityClass(o: KubeObject): FieldError[] {
  const pc = o as PriorityClass;
  const errs: FieldError[] = [];
  const name = pc.metadata?.name ?? "";
  if (pc.value === undefined || pc.value === null) errs.push(required("value"));
  else if (!Number.isInteger(pc.value) || pc.value < -2147483648 || pc.value > 2147483647) errs.push(invalid("value", pc.value, "must be a 32-bit integer"));
  if (name.startsWith("system-")) {
    // The "system-" prefix is reserved for the built-in classes, with their own values.
    const sys = SYSTEM_PRIORITY_CLASSES.find((c) => c.metadata.name === name);
    if (!sys) errs.push(forbidden("metadata.name", "priority class names with 'system-' prefix are reserved"));
    else if (pc.value !== sys.value) errs.push(forbidden("value", `${name} is a system priority class and its value must be ${sys.value}`));
  } else if (typeof pc.value === "number" && pc.value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(forbidden("value", `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  if (pc.preemptionPolicy !== undefined && !(PREEMPTION_POLICIES as readonly string[]).includes(pc.preemptionPolicy)) {
    errs.push(notSupported("preemptionPolicy", pc.preemptionPolicy, PREEMPTION_POLICIES));
  }
  if (pc.globalDefault !== undefined && typeof pc.globalDefault !== "boolean") errs.push(invalid("globalDefault", pc.globalDefault, "must be a boolean"));
  return errs;
}

/** value and preemptionPolicy cannot change once the class exists. */
export function validatePriorityClassUpdate(o: KubeObject, old: KubeObject): FieldError[] {
  const pc = o as PriorityClass, prev = old as PriorityClass;
  const errs: FieldError[] = [];
  if (pc.value !== prev.value) errs.push(forbidden("value", "may not be changed in an update."));
  if ((pc.preemptionPolicy ?? "PreemptLowerPriority") !== (prev.preemptionPolicy ?? "PreemptLowerPriority")) errs.push(invalid("preemptionPolicy", pc.preemptionPolicy, "field is immutable"));
  return errs;
}

export const schedulingValidators: Record<string, (obj: KubeObject) => FieldError[]> = {
  [`${SCHEDULING_GROUP}/PriorityClass`]: validatePriorityClass,
};
export const schedulingDefaulters: Record<string, (obj: KubeObject) => void> = {
  [`${SCHEDULING_GROUP}/PriorityClass`]: defaultPriorityClass,
};
