// Namespace policy kinds of core/v1 (ResourceQuota, LimitRange) and apps/v1 ControllerRevision:
// their types, OpenAPI schemas, defaulting and validation as kube-apiserver does them
// (pkg/apis/core/validation, pkg/apis/core/v1/defaults.go), and the quota usage of one object
// (pkg/quota/v1/evaluator/core), shared by the API server's admission and the quota controller.
import type { KubeObject } from "./meta.js";
import type { Pod, ResourceList } from "./core.js";
import { FieldError, invalid, notSupported, required, forbidden } from "./field-errors.js";
import { qualifiedNameErrors } from "./names.js";
import { isValidQuantity, Quantity } from "./quantity.js";
import { anyObj, arr, int64, mapOf, obj, quantity, ref, str, type Schema } from "./schema-dsl.js";

export interface ResourceQuota extends KubeObject {
  spec?: { hard?: ResourceList; scopes?: string[]; scopeSelector?: unknown };
  status?: { hard?: ResourceList; used?: ResourceList };
}

export type LimitType = "Container" | "Pod" | "PersistentVolumeClaim";

export interface LimitRangeItem {
  type: LimitType;
  max?: ResourceList;
  min?: ResourceList;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

export interface LimitRange extends KubeObject {
  spec?: { limits: LimitRangeItem[] };
}

/** A snapshot of a DaemonSet's or StatefulSet's template: `data` is the patch that restores it. */
export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision: number;
}

// ---- schemas ----
const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const CORE = "io.k8s.api.core.v1";
const gvk = (group: string, version: string, kind: string) => ({ "x-kubernetes-group-version-kind": [{ group, version, kind }] });
const top = (group: string, version: string, k: string, description: string, fields: Record<string, Schema>, req: string[] = []): Schema =>
  obj({ apiVersion: str(), kind: str(), metadata: ref(`${META}.ObjectMeta`), ...fields }, { description, required: req, ...gvk(group, version, k) });
const resourceList = () => mapOf(quantity());

export const policyDefinitions: Record<string, Schema> = {
  [`${CORE}.ResourceQuota`]: top("", "v1", "ResourceQuota", "ResourceQuota sets aggregate quota restrictions enforced per namespace", {
    spec: obj({ hard: resourceList(), scopeSelector: anyObj(), scopes: arr(str()) }),
    status: obj({ hard: resourceList(), used: resourceList() }),
  }),
  [`${CORE}.LimitRange`]: top("", "v1", "LimitRange", "LimitRange sets resource usage limits for each kind of resource in a Namespace.", {
    spec: obj({
      limits: arr(obj({
        default: resourceList(), defaultRequest: resourceList(), max: resourceList(), maxLimitRequestRatio: resourceList(), min: resourceList(), type: str(),
      }, { required: ["type"] })),
    }, { required: ["limits"] }),
  }),
  "io.k8s.api.apps.v1.ControllerRevision": top("apps", "v1", "ControllerRevision", "ControllerRevision implements an immutable snapshot of state data.", {
    data: anyObj("Data is the serialized representation of the state."), revision: int64("Revision indicates the revision of the state represented by Data."),
  }, ["revision"]),
  // metrics.k8s.io/v1beta1 (served from the kubelets' summaries, never stored).
  "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics": top("metrics.k8s.io", "v1beta1", "NodeMetrics", "NodeMetrics sets resource usage metrics of a node.", {
    timestamp: ref(`${META}.Time`), window: str(), usage: resourceList(),
  }),
  "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics": top("metrics.k8s.io", "v1beta1", "PodMetrics", "PodMetrics sets resource usage metrics of a pod.", {
    timestamp: ref(`${META}.Time`), window: str(), containers: arr(obj({ name: str(), usage: resourceList() }, { required: ["name", "usage"] })),
  }),
};

// ---- defaulting ----
/** SetDefaults_LimitRangeItem: a Container item's default limit falls back to max, its default request to the default limit, then to min. */
function defaultLimitRange(o: KubeObject): void {
  for (const item of ((o as LimitRange).spec?.limits ?? [])) {
    if (!item || item.type !== "Container") continue;
    item.default ??= {};
    item.defaultRequest ??= {};
    for (const [k, v] of Object.entries(item.max ?? {})) item.default[k] ??= v;
    for (const [k, v] of Object.entries(item.default)) item.defaultRequest[k] ??= v;
    for (const [k, v] of Object.entries(item.min ?? {})) item.defaultRequest[k] ??= v;
  }
}

export const policyDefaulters: Record<string, (obj: KubeObject) => void> = {
  "/LimitRange": defaultLimitRange,
};

// ---- validation ----
const STANDARD_QUOTA = new Set([
  "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims",
  "services.nodeports", "services.loadbalancers", "cpu", "memory", "ephemeral-storage", "storage",
  "requests.cpu", "requests.memory", "requests.ephemeral-storage", "requests.storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
]);
export const QUOTA_SCOPES = ["Terminating", "NotTerminating", "BestEffort", "NotBestEffort"] as const;

function quantityErrors(list: unknown, path: string, nameOk: (n: string) => string | undefined): FieldError[] {
  const errs: FieldError[] = [];
  if (list === undefined) return errs;
  if (!list || typeof list !== "object" || Array.isArray(list)) return [invalid(path, list, "must be a map of resource names to quantities")];
  for (const [name, q] of Object.entries(list as Record<string, unknown>)) {
    const bad = nameOk(name);
    if (bad) errs.push(invalid(`${path}[${name}]`, name, bad));
    if (!isValidQuantity(q)) errs.push(invalid(`${path}[${name}]`, q, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    else if (Quantity.parse(String(q)).nanos < 0n) errs.push(invalid(`${path}[${name}]`, q, "must be greater than or equal to 0"));
  }
  return errs;
}

const resourceNameProblem = (n: string) => qualifiedNameErrors(n)[0];
const quotaNameProblem = (n: string) =>
  STANDARD_QUOTA.has(n) || /^count\/[a-z0-9][a-z0-9.-]*$/.test(n) || (n.startsWith("requests.") && n.includes("/")) ? undefined : "must be a standard resource for quota";

function validateResourceQuota(o: KubeObject): FieldError[] {
  const q = o as ResourceQuota;
  const errs = quantityErrors(q.spec?.hard, "spec.hard", quotaNameProblem);
  (q.spec?.scopes ?? []).forEach((s, i) => { if (!(QUOTA_SCOPES as readonly string[]).includes(s)) errs.push(notSupported(`spec.scopes[${i}]`, s, QUOTA_SCOPES)); });
  if (q.spec?.scopeSelector !== undefined) errs.push(forbidden("spec.scopeSelector", "scope selectors (PriorityClass) are not supported by keel; use spec.scopes"));
  return errs;
}

const LIMIT_TYPES: LimitType[] = ["Container", "Pod", "PersistentVolumeClaim"];

function validateLimitRange(o: KubeObject): FieldError[] {
  const lr = o as LimitRange;
  const errs: FieldError[] = [];
  if (!Array.isArray(lr.spec?.limits)) return [required("spec.limits")];
  lr.spec.limits.forEach((item, i) => {
    const p = `spec.limits[${i}]`;
    if (!LIMIT_TYPES.includes(item?.type)) errs.push(notSupported(`${p}.type`, item?.type, LIMIT_TYPES));
    for (const f of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] as const) errs.push(...quantityErrors(item?.[f], `${p}.${f}`, resourceNameProblem));
    if (errs.length) return;
    if (item.type === "Pod" && (item.default || item.defaultRequest) && (Object.keys(item.default ?? {}).length || Object.keys(item.defaultRequest ?? {}).length)) {
      errs.push(forbidden(`${p}.default`, "may not be specified when `type` is 'Pod'"));
    }
    const q = (l: ResourceList | undefined, k: string) => (l?.[k] !== undefined ? Quantity.parse(String(l[k])) : undefined);
    const names = new Set([...Object.keys(item.max ?? {}), ...Object.keys(item.min ?? {}), ...Object.keys(item.default ?? {}), ...Object.keys(item.defaultRequest ?? {})]);
    for (const k of names) {
      const max = q(item.max, k), min = q(item.min, k), def = q(item.default, k), defReq = q(item.defaultRequest, k);
      if (min && max && min.cmp(max) > 0) errs.push(invalid(`${p}.min[${k}]`, item.min![k], `min value ${item.min![k]} is greater than max value ${item.max![k]}`));
      if (defReq && max && defReq.cmp(max) > 0) errs.push(invalid(`${p}.defaultRequest[${k}]`, item.defaultRequest![k], `default request value ${item.defaultRequest![k]} is greater than max value ${item.max![k]}`));
      if (defReq && min && min.cmp(defReq) > 0) errs.push(invalid(`${p}.defaultRequest[${k}]`, item.defaultRequest![k], `min value ${item.min![k]} is greater than default request value ${item.defaultRequest![k]}`));
      if (def && max && def.cmp(max) > 0) errs.push(invalid(`${p}.default[${k}]`, item.default![k], `default value ${item.default![k]} is greater than max value ${item.max![k]}`));
      if (def && min && min.cmp(def) > 0) errs.push(invalid(`${p}.default[${k}]`, item.default![k], `min value ${item.min![k]} is greater than default value ${item.default![k]}`));
      if (defReq && def && defReq.cmp(def) > 0) errs.push(invalid(`${p}.defaultRequest[${k}]`, item.defaultRequest![k], `default request value ${item.defaultRequest![k]} is greater than default limit value ${item.default![k]}`));
    }
    for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) {
      if (Quantity.parse(String(v)).cmp(Quantity.parse("1")) < 0) errs.push(invalid(`${p}.maxLimitRequestRatio[${k}]`, v, `ratio ${v} is less than 1`));
    }
  });
  return errs;
}

function validateControllerRevision(o: KubeObject): FieldError[] {
  const r = o as ControllerRevision;
  if (!Number.isInteger(r.revision) || r.revision < 0) return [invalid("revision", r.revision, "must be greater than or equal to 0")];
  return [];
}

export const policyValidators: Record<string, (obj: KubeObject) => FieldError[]> = {
  "/ResourceQuota": validateResourceQuota,
  "/LimitRange": validateLimitRange,
  "apps/ControllerRevision": validateControllerRevision,
};

// ---- quota usage ----
const ZERO = Quantity.parse("0");

/** a + b keeping the format of whichever is set first, so memory sums print as "256Mi". */
export function addQuantity(a: Quantity | undefined, b: Quantity): Quantity {
  return a && !a.isZero() ? a.add(b) : b;
}

/** A pod's effective request or limit of one resource: the sum over containers, at least the largest init container's. */
export function podResource(pod: Pod, kind: "requests" | "limits", name: string): Quantity | undefined {
  let sum: Quantity | undefined;
  for (const c of pod.spec?.containers ?? []) {
    const v = c.resources?.[kind]?.[name];
    if (v !== undefined) sum = addQuantity(sum, Quantity.parse(String(v)));
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const v = c.resources?.[kind]?.[name];
    if (v !== undefined) { const q = Quantity.parse(String(v)); if (!sum || q.cmp(sum) > 0) sum = q; }
  }
  return sum;
}

/** Pods that finished no longer hold quota (kube's QuotaV1Pod). */
export function podHoldsQuota(pod: Pod): boolean {
  return pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed";
}

function isBestEffort(pod: Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].every((c) => !Object.keys(c.resources?.requests ?? {}).length && !Object.keys(c.resources?.limits ?? {}).length);
}

/** Whether a quota with these scopes covers the object (scopes select pods only). */
export function quotaMatchesScopes(scopes: string[] | undefined, group: string, plural: string, o: KubeObject): boolean {
  if (!scopes?.length) return true;
  if (!(group === "" && plural === "pods")) return false;
  const pod = o as Pod;
  const terminating = pod.spec?.activeDeadlineSeconds !== undefined && pod.spec?.activeDeadlineSeconds !== null;
  return scopes.every((s) => (s === "Terminating" ? terminating : s === "NotTerminating" ? !terminating : s === "BestEffort" ? isBestEffort(pod) : s === "NotBestEffort" ? !isBestEffort(pod) : false));
}

/** The object-count quota names of a resource: `count/pods`, `count/deployments.apps`, and the legacy names. */
export function countNames(group: string, plural: string): string[] {
  const names = [`count/${group ? `${plural}.${group}` : plural}`];
  if (!group && ["pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims"].includes(plural)) names.push(plural);
  return names;
}

/** What one object uses of the resources a quota may track (only names it uses are present). */
export function quotaUsage(group: string, plural: string, o: KubeObject): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  const one = Quantity.parse("1");
  if (group === "" && plural === "pods") {
    const pod = o as Pod;
    if (!podHoldsQuota(pod)) return out;
    for (const n of countNames(group, plural)) out.set(n, one);
    for (const res of ["cpu", "memory", "ephemeral-storage"]) {
      const req = podResource(pod, "requests", res);
      const lim = podResource(pod, "limits", res);
      if (req) { out.set(`requests.${res}`, req); out.set(res, req); }
      if (lim) out.set(`limits.${res}`, lim);
    }
    for (const c of pod.spec?.containers ?? []) {
      for (const k of Object.keys(c.resources?.requests ?? {})) if (k.includes("/") && !out.has(`requests.${k}`)) out.set(`requests.${k}`, podResource(pod, "requests", k)!);
    }
    return out;
  }
  for (const n of countNames(group, plural)) out.set(n, one);
  if (group === "" && plural === "services") {
    const spec = (o.spec ?? {}) as { type?: string; ports?: unknown[] };
    if (spec.type === "NodePort" || spec.type === "LoadBalancer") out.set("services.nodeports", Quantity.parse(String(spec.ports?.length ?? 0)));
    if (spec.type === "LoadBalancer") out.set("services.loadbalancers", one);
  }
  return out;
}

/** Which quota resource names a pod must state explicitly: requests.cpu needs every container's cpu request. */
export function missingPodResources(pod: Pod, tracked: string[]): string[] {
  const out: string[] = [];
  for (const name of [...tracked].sort()) {
    const m = /^(requests|limits)\.(cpu|memory|ephemeral-storage)$/.exec(name) ?? (/^(cpu|memory|ephemeral-storage)$/.test(name) ? [name, "requests", name] : null);
    if (!m) continue;
    const missing = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].filter((c) => c.resources?.[m[1] as "requests" | "limits"]?.[m[2]!] === undefined).map((c) => c.name);
    if (missing.length) out.push(`${name} for: ${missing.join(",")}`);
  }
  return out;
}

/** Quantities in the form `status.used` shows them. */
export function toResourceList(m: Map<string, Quantity>, keys: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const k of keys) out[k] = (m.get(k) ?? ZERO).toString();
  return out;
}

/** The resource a quota name counts: requests.cpu → pods, count/deployments.apps → apps deployments. */
export function quotaSource(name: string): { group: string; plural: string } | undefined {
  if (/^(pods|cpu|memory|ephemeral-storage|(requests|limits)\..+)$/.test(name)) return { group: "", plural: "pods" };
  if (name.startsWith("services.")) return { group: "", plural: "services" };
  if (["services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims"].includes(name)) return { group: "", plural: name };
  const m = /^count\/([^.]+)(?:\.(.+))?$/.exec(name);
  return m ? { group: m[2] ?? "", plural: m[1]! } : undefined;
}

/**
 * What a namespace uses of each of `names`, from its objects (listed by the caller: the API
 * server reads its store, the quota controller the API).
 */
export async function namespaceUsage(names: string[], scopes: string[] | undefined, list: (group: string, plural: string) => Promise<KubeObject[]>): Promise<ResourceList> {
  const bySource = new Map<string, { group: string; plural: string }>();
  for (const n of names) { const s = quotaSource(n); if (s) bySource.set(`${s.group}/${s.plural}`, s); }
  const total = new Map<string, Quantity>();
  for (const { group, plural } of bySource.values()) {
    for (const o of await list(group, plural)) {
      if (!quotaMatchesScopes(scopes, group, plural, o)) continue;
      for (const [k, v] of quotaUsage(group, plural, o)) if (names.includes(k)) total.set(k, addQuantity(total.get(k), v));
    }
  }
  return toResourceList(total, names);
}
