// Validation as kube-apiserver does it (pkg/apis/*/validation): the object's metadata, the
// fields each kind requires, and on update the fields that may not change. Every problem is a
// FieldError naming its path, e.g. `spec.containers[0].image: Required value`.
import { FieldError, duplicate, forbidden, invalid, notSupported, required } from "./field-errors.js";
import { dns1123LabelErrors, dns1123SubdomainErrors, envVarNameErrors, labelValueErrors, qualifiedNameErrors } from "./names.js";
import { isValidQuantity, Quantity } from "./quantity.js";
import { matchesLabels, selectorFromLabelSelector, isEmptySelector } from "./selectors.js";
import type { KubeObject, LabelSelector } from "./meta.js";
import type { Container, PodSpec } from "./core.js";
import { RBAC_GROUP, isPathSegmentName, rbacValidators, validateRbacUpdate } from "./rbac.js";
import { policyValidators } from "./policy.js";
import { schedulingValidators, validatePriorityClassUpdate } from "./scheduling.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const deepEqual = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface ValidationContext {
  group: string;
  kind: string;
  namespaced: boolean;
  /** Kinds whose names must be DNS-1123 labels rather than subdomains. */
  nameIsLabel?: boolean;
}

const LABEL_NAMED = new Set(["/Namespace", "/Service"]);

export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (!isObj(labels)) return [invalid(path, labels, "must be a map of string keys to string values")];
  for (const [k, v] of Object.entries(labels)) {
    for (const e of qualifiedNameErrors(k)) errs.push(invalid(path, k, e));
    if (typeof v !== "string") errs.push(invalid(`${path}[${k}]`, v, "must be a string"));
    else for (const e of labelValueErrors(v)) errs.push(invalid(`${path}[${k}]`, v, e));
  }
  return errs;
}

export function validateObjectMeta(obj: KubeObject, ctx: ValidationContext): FieldError[] {
  const errs: FieldError[] = [];
  const m = obj.metadata;
  if (!m || typeof m !== "object" || Array.isArray(m)) return [required("metadata")];
  if (!m.name && !m.generateName) errs.push(required("metadata.name", "name or generateName is required"));
  if (m.name && ctx.group === RBAC_GROUP) {
    // RBAC objects are named like "system:node": any path segment will do.
    if (!isPathSegmentName(String(m.name))) errs.push(invalid("metadata.name", m.name, "may not be '.' or '..' and may not contain '/' or '%'"));
  } else if (m.name) {
    const fn = ctx.nameIsLabel || LABEL_NAMED.has(`${ctx.group}/${ctx.kind}`) ? dns1123LabelErrors : dns1123SubdomainErrors;
    for (const e of fn(String(m.name))) errs.push(invalid("metadata.name", m.name, e));
  }
  if (ctx.namespaced) {
    if (!m.namespace) errs.push(required("metadata.namespace"));
    else for (const e of dns1123LabelErrors(String(m.namespace))) errs.push(invalid("metadata.namespace", m.namespace, e));
  } else if (m.namespace) {
    errs.push(forbidden("metadata.namespace", "not allowed on this type"));
  }
  errs.push(...validateLabels(m.labels, "metadata.labels"));
  if (m.annotations !== undefined) {
    if (!isObj(m.annotations)) errs.push(invalid("metadata.annotations", m.annotations, "must be a map"));
    else {
      let size = 0;
      for (const [k, v] of Object.entries(m.annotations)) {
        for (const e of qualifiedNameErrors(k)) errs.push(invalid("metadata.annotations", k, e));
        size += k.length + String(v).length;
      }
      if (size > 256 * 1024) errs.push(new FieldError("FieldValueTooLong", "metadata.annotations", undefined, "must have at most 262144 bytes"));
    }
  }
  (Array.isArray(m.ownerReferences) ? m.ownerReferences : []).forEach((r, i) => {
    for (const f of ["apiVersion", "kind", "name", "uid"] as const) if (!r?.[f]) errs.push(required(`metadata.ownerReferences[${i}].${f}`));
  });
  if ((Array.isArray(m.ownerReferences) ? m.ownerReferences : []).filter((r) => r?.controller).length > 1) errs.push(invalid("metadata.ownerReferences", m.ownerReferences, "Only one reference can have Controller set to true"));
  (Array.isArray(m.finalizers) ? m.finalizers : []).forEach((f, i) => { for (const e of qualifiedNameErrors(String(f))) errs.push(invalid(`metadata.finalizers[${i}]`, f, e)); });
  return errs;
}

function validateResources(res: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(res)) return errs;
  for (const kind of ["limits", "requests"]) {
    const list = res[kind];
    if (!isObj(list)) continue;
    for (const [name, q] of Object.entries(list)) {
      if (!isValidQuantity(q)) errs.push(invalid(`${path}.${kind}[${name}]`, q, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
      else if (Quantity.parse(String(q)).nanos < 0n) errs.push(invalid(`${path}.${kind}[${name}]`, q, "must be greater than or equal to 0"));
    }
  }
  const limits = isObj(res.limits) ? res.limits : {};
  const requests = isObj(res.requests) ? res.requests : {};
  for (const [name, q] of Object.entries(requests)) {
    const l = limits[name];
    if (l === undefined || !isValidQuantity(q) || !isValidQuantity(l)) continue;
    if (Quantity.parse(String(q)).cmp(Quantity.parse(String(l))) > 0) errs.push(invalid(`${path}.requests`, q, `must be less than or equal to ${name} limit of ${l}`));
  }
  return errs;
}

function validateContainers(list: unknown, path: string, volumes: Set<string>, requiredNonEmpty: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (list === undefined && !requiredNonEmpty) return errs;
  if (!Array.isArray(list) || (requiredNonEmpty && list.length === 0)) return [required(path)];
  const names = new Set<string>();
  list.forEach((c: Container, i) => {
    const p = `${path}[${i}]`;
    if (!isObj(c)) { errs.push(invalid(p, c, "must be an object")); return; }
    if (!c.name) errs.push(required(`${p}.name`));
    else {
      for (const e of dns1123LabelErrors(c.name)) errs.push(invalid(`${p}.name`, c.name, e));
      if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image || (typeof c.image === "string" && c.image.trim() === "")) errs.push(required(`${p}.image`));
    if (c.imagePullPolicy && !["Always", "IfNotPresent", "Never"].includes(c.imagePullPolicy)) errs.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ["Always", "IfNotPresent", "Never"]));
    const portNames = new Set<string>();
    (c.ports ?? []).forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (port.containerPort === undefined) errs.push(required(`${pp}.containerPort`));
      else if (!Number.isInteger(port.containerPort) || port.containerPort < 1 || port.containerPort > 65535) errs.push(invalid(`${pp}.containerPort`, port.containerPort, "must be between 1 and 65535, inclusive"));
      if (port.hostPort !== undefined && (!Number.isInteger(port.hostPort) || port.hostPort < 0 || port.hostPort > 65535)) errs.push(invalid(`${pp}.hostPort`, port.hostPort, "must be between 1 and 65535, inclusive"));
      if (port.protocol && !["TCP", "UDP", "SCTP"].includes(port.protocol)) errs.push(notSupported(`${pp}.protocol`, port.protocol, ["SCTP", "TCP", "UDP"]));
      if (port.name) {
        if (port.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(port.name) || !/[a-z]/.test(port.name)) errs.push(invalid(`${pp}.name`, port.name, "must be no more than 15 characters, contain only lowercase alphanumerics or '-', and contain at least one letter (a-z)"));
        if (portNames.has(port.name)) errs.push(duplicate(`${pp}.name`, port.name));
        portNames.add(port.name);
      }
    });
    (c.env ?? []).forEach((e, j) => {
      if (!e?.name) errs.push(required(`${p}.env[${j}].name`));
      else for (const m of envVarNameErrors(e.name)) errs.push(invalid(`${p}.env[${j}].name`, e.name, m));
    });
    (c.volumeMounts ?? []).forEach((vm, j) => {
      if (!vm?.name) errs.push(required(`${p}.volumeMounts[${j}].name`));
      else if (!volumes.has(vm.name)) errs.push(new FieldError("FieldValueNotFound" as never, `${p}.volumeMounts[${j}].name`, vm.name, ""));
      if (!vm?.mountPath) errs.push(required(`${p}.volumeMounts[${j}].mountPath`));
    });
    errs.push(...validateResources(c.resources, `${p}.resources`));
  });
  return errs;
}

export function validatePodSpec(spec: unknown, path: string): FieldError[] {
  if (!isObj(spec)) return [required(path)];
  const s = spec as unknown as PodSpec;
  const errs: FieldError[] = [];
  const volumes = new Set<string>();
  (Array.isArray(s.volumes) ? s.volumes : []).forEach((v, i) => {
    if (!v?.name) errs.push(required(`${path}.volumes[${i}].name`));
    else {
      for (const e of dns1123LabelErrors(v.name)) errs.push(invalid(`${path}.volumes[${i}].name`, v.name, e));
      if (volumes.has(v.name)) errs.push(duplicate(`${path}.volumes[${i}].name`, v.name));
      volumes.add(v.name);
    }
  });
  errs.push(...validateContainers(s.containers, `${path}.containers`, volumes, true));
  errs.push(...validateContainers(s.initContainers, `${path}.initContainers`, volumes, false));
  if (s.restartPolicy && !["Always", "OnFailure", "Never"].includes(s.restartPolicy)) errs.push(notSupported(`${path}.restartPolicy`, s.restartPolicy, ["Always", "Never", "OnFailure"]));
  if (s.dnsPolicy && !["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"].includes(s.dnsPolicy)) errs.push(notSupported(`${path}.dnsPolicy`, s.dnsPolicy, ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]));
  if (s.terminationGracePeriodSeconds !== undefined && (typeof s.terminationGracePeriodSeconds !== "number" || s.terminationGracePeriodSeconds < 0)) errs.push(invalid(`${path}.terminationGracePeriodSeconds`, s.terminationGracePeriodSeconds, "must be greater than or equal to 0"));
  if (s.activeDeadlineSeconds !== undefined && (typeof s.activeDeadlineSeconds !== "number" || s.activeDeadlineSeconds <= 0)) errs.push(invalid(`${path}.activeDeadlineSeconds`, s.activeDeadlineSeconds, "must be between 1 and 2147483647, inclusive"));
  errs.push(...validateLabels(s.nodeSelector, `${path}.nodeSelector`));
  if (s.nodeName) for (const e of dns1123SubdomainErrors(s.nodeName)) errs.push(invalid(`${path}.nodeName`, s.nodeName, e));
  return errs.map((e) => (e.type as string) === "FieldValueNotFound" ? new FieldError("FieldValueInvalid", e.field, e.value, "volume not found") : e);
}

function validateSelectorAndTemplate(spec: Obj, requireSelector: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.selector as LabelSelector | undefined;
  if (sel === undefined || sel === null) {
    if (requireSelector) errs.push(required("spec.selector"));
  } else if (isEmptySelector(sel)) {
    errs.push(invalid("spec.selector", sel, "empty selector is invalid for deployment"));
  } else {
    errs.push(...validateLabels(sel.matchLabels, "spec.selector.matchLabels"));
    (sel.matchExpressions ?? []).forEach((e, i) => {
      if (!["In", "NotIn", "Exists", "DoesNotExist"].includes(e.operator)) errs.push(notSupported(`spec.selector.matchExpressions[${i}].operator`, e.operator, ["DoesNotExist", "Exists", "In", "NotIn"]));
      if ((e.operator === "In" || e.operator === "NotIn") && !(e.values ?? []).length) errs.push(required(`spec.selector.matchExpressions[${i}].values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    });
  }
  const t = spec.template as Obj | undefined;
  if (!isObj(t)) { errs.push(required("spec.template")); return errs; }
  const labels = (isObj(t.metadata) ? t.metadata.labels : undefined) as Record<string, string> | undefined;
  errs.push(...validateLabels(labels, "spec.template.metadata.labels"));
  if (sel && !isEmptySelector(sel) && !matchesLabels(selectorFromLabelSelector(sel), labels)) {
    errs.push(invalid("spec.template.metadata.labels", labels ?? {}, "`selector` does not match template `labels`"));
  }
  errs.push(...validatePodSpec(t.spec, "spec.template.spec"));
  return errs;
}

const nonNegInt = (v: unknown, path: string): FieldError[] =>
  v === undefined ? [] : Number.isInteger(v) && (v as number) >= 0 ? [] : [invalid(path, v, "must be greater than or equal to 0")];

const validators: Record<string, (obj: KubeObject) => FieldError[]> = {
  "/Pod": (p) => validatePodSpec(p.spec, "spec"),
  "/Service": (svc) => {
    const s = (svc.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    const type = (s.type as string) ?? "ClusterIP";
    if (!["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].includes(type)) errs.push(notSupported("spec.type", type, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]));
    const ports = Array.isArray(s.ports) ? (s.ports as Obj[]) : [];
    if (type === "ExternalName") {
      if (!s.externalName) errs.push(required("spec.externalName"));
    } else if (ports.length === 0 && s.clusterIP !== "None") errs.push(required("spec.ports"));
    const names = new Set<string>();
    ports.forEach((p, i) => {
      if (!Number.isInteger(p.port) || (p.port as number) < 1 || (p.port as number) > 65535) errs.push(invalid(`spec.ports[${i}].port`, p.port, "must be between 1 and 65535, inclusive"));
      if (ports.length > 1 && !p.name) errs.push(required(`spec.ports[${i}].name`));
      if (p.name) {
        for (const e of dns1123LabelErrors(String(p.name))) errs.push(invalid(`spec.ports[${i}].name`, p.name, e));
        if (names.has(String(p.name))) errs.push(duplicate(`spec.ports[${i}].name`, p.name));
        names.add(String(p.name));
      }
      if (p.protocol && !["TCP", "UDP", "SCTP"].includes(String(p.protocol))) errs.push(notSupported(`spec.ports[${i}].protocol`, p.protocol, ["SCTP", "TCP", "UDP"]));
    });
    errs.push(...validateLabels(s.selector, "spec.selector"));
    return errs;
  },
  "/ConfigMap": (cm) => {
    const errs: FieldError[] = [];
    for (const k of Object.keys((cm.data as Obj) ?? {})) if (!/^[-._a-zA-Z0-9]+$/.test(k)) errs.push(invalid("data", k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
    return errs;
  },
  "/Secret": (s) => {
    const errs: FieldError[] = [];
    for (const [k, v] of Object.entries((s.data as Obj) ?? {})) {
      if (!/^[-._a-zA-Z0-9]+$/.test(k)) errs.push(invalid("data", k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
      if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.push(invalid(`data[${k}]`, "<secret contents redacted>", "illegal base64 data"));
    }
    return errs;
  },
  "/Event": (e) => (e.involvedObject ? [] : [required("involvedObject")]),
  "apps/Deployment": (d) => {
    const s = (d.spec ?? {}) as Obj;
    const errs = [...nonNegInt(s.replicas, "spec.replicas"), ...validateSelectorAndTemplate(s, true)];
    const st = s.strategy as Obj | undefined;
    if (st?.type && !["Recreate", "RollingUpdate"].includes(String(st.type))) errs.push(notSupported("spec.strategy.type", st.type, ["Recreate", "RollingUpdate"]));
    if (st?.type === "Recreate" && st.rollingUpdate) errs.push(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
    const rp = (s.template as Obj | undefined)?.spec as Obj | undefined;
    if (rp?.restartPolicy && rp.restartPolicy !== "Always") errs.push(notSupported("spec.template.spec.restartPolicy", rp.restartPolicy, ["Always"]));
    return errs;
  },
  "apps/ReplicaSet": (r) => {
    const s = (r.spec ?? {}) as Obj;
    return [...nonNegInt(s.replicas, "spec.replicas"), ...validateSelectorAndTemplate(s, true)];
  },
  "apps/DaemonSet": (r) => validateSelectorAndTemplate((r.spec ?? {}) as Obj, true),
  "apps/StatefulSet": (r) => {
    const s = (r.spec ?? {}) as Obj;
    const errs = [...nonNegInt(s.replicas, "spec.replicas"), ...validateSelectorAndTemplate(s, true)];
    if (s.podManagementPolicy && !["OrderedReady", "Parallel"].includes(String(s.podManagementPolicy))) errs.push(notSupported("spec.podManagementPolicy", s.podManagementPolicy, ["OrderedReady", "Parallel"]));
    return errs;
  },
  "batch/Job": (j) => validateJobSpec((j.spec ?? {}) as Obj, "spec"),
  "batch/CronJob": (c) => {
    const s = (c.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    if (!s.schedule) errs.push(required("spec.schedule"));
    else if (String(s.schedule).trim().split(/\s+/).length !== 5 && !String(s.schedule).startsWith("@")) errs.push(invalid("spec.schedule", s.schedule, "unparseable schedule: expected exactly 5 fields"));
    if (s.concurrencyPolicy && !["Allow", "Forbid", "Replace"].includes(String(s.concurrencyPolicy))) errs.push(notSupported("spec.concurrencyPolicy", s.concurrencyPolicy, ["Allow", "Forbid", "Replace"]));
    const jt = s.jobTemplate as Obj | undefined;
    if (!isObj(jt)) errs.push(required("spec.jobTemplate"));
    else errs.push(...validateJobSpec((jt.spec ?? {}) as Obj, "spec.jobTemplate.spec", true));
    return errs;
  },
  "coordination.k8s.io/Lease": (l) => {
    const s = (l.spec ?? {}) as Obj;
    return s.leaseDurationSeconds !== undefined && !((s.leaseDurationSeconds as number) > 0) ? [invalid("spec.leaseDurationSeconds", s.leaseDurationSeconds, "must be greater than 0")] : [];
  },
  "discovery.k8s.io/EndpointSlice": (e) => {
    const errs: FieldError[] = [];
    if (!e.addressType) errs.push(required("addressType"));
    else if (!["IPv4", "IPv6", "FQDN"].includes(String(e.addressType))) errs.push(notSupported("addressType", e.addressType, ["FQDN", "IPv4", "IPv6"]));
    return errs;
  },
  "autoscaling/HorizontalPodAutoscaler": (h) => {
    const s = (h.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    const ref = s.scaleTargetRef as Obj | undefined;
    if (!ref?.kind) errs.push(required("spec.scaleTargetRef.kind"));
    if (!ref?.name) errs.push(required("spec.scaleTargetRef.name"));
    if (!((s.maxReplicas as number) >= 1)) errs.push(invalid("spec.maxReplicas", s.maxReplicas, "must be greater than or equal to 1"));
    if (s.minReplicas !== undefined && (s.minReplicas as number) > (s.maxReplicas as number)) errs.push(invalid("spec.maxReplicas", s.maxReplicas, "must be greater than or equal to `minReplicas`"));
    return errs;
  },
  "apiextensions.k8s.io/CustomResourceDefinition": (c) => {
    const s = (c.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    const names = (s.names ?? {}) as Obj;
    if (!s.group) errs.push(required("spec.group"));
    else if (!String(s.group).includes(".")) errs.push(invalid("spec.group", s.group, "should be a domain with at least one dot"));
    if (!names.plural) errs.push(required("spec.names.plural"));
    if (!names.kind) errs.push(required("spec.names.kind"));
    if (names.plural && s.group && c.metadata.name !== `${names.plural}.${s.group}`) errs.push(invalid("metadata.name", c.metadata.name, "must be spec.names.plural+\".\"+spec.group"));
    if (!["Namespaced", "Cluster"].includes(String(s.scope))) errs.push(notSupported("spec.scope", s.scope, ["Cluster", "Namespaced"]));
    const versions = Array.isArray(s.versions) ? (s.versions as Obj[]) : [];
    if (!versions.length) errs.push(required("spec.versions", "must have exactly one version marked as storage version"));
    else if (versions.filter((v) => v.storage).length !== 1) errs.push(invalid("spec.versions", versions.map((v) => v.name), "must have exactly one version marked as storage version"));
    versions.forEach((v, i) => {
      if (!v.name) errs.push(required(`spec.versions[${i}].name`));
      const sch = (v.schema as Obj | undefined)?.openAPIV3Schema as Obj | undefined;
      if (!sch) errs.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, "schemas are required"));
      else if (sch.type !== "object") errs.push(invalid(`spec.versions[${i}].schema.openAPIV3Schema.type`, sch.type, "must be object at the root"));
    });
    return errs;
  },
};

function validateJobSpec(s: Obj, path: string, inTemplate = false): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ["parallelism", "completions", "backoffLimit"]) errs.push(...nonNegInt(s[f], `${path}.${f}`));
  const t = s.template as Obj | undefined;
  if (!isObj(t)) return [...errs, required(`${path}.template`)];
  const ps = (t.spec ?? {}) as Obj;
  if (!["OnFailure", "Never"].includes(String(ps.restartPolicy))) errs.push(notSupported(`${path}.template.spec.restartPolicy`, ps.restartPolicy ?? "", ["OnFailure", "Never"]));
  if (s.selector && !inTemplate) {
    const labels = (isObj(t.metadata) ? t.metadata.labels : undefined) as Record<string, string> | undefined;
    if (!matchesLabels(selectorFromLabelSelector(s.selector as LabelSelector), labels)) errs.push(invalid(`${path}.template.metadata.labels`, labels ?? {}, "`selector` does not match template `labels`"));
  }
  errs.push(...validatePodSpec(ps, `${path}.template.spec`));
  return errs;
}

/** Every group's validators in one table, by "group/Kind". */
const allValidators: Record<string, (obj: KubeObject) => FieldError[]> = { ...schedulingValidators, ...policyValidators, ...rbacValidators, ...validators };

/** Validates a new object of `group/kind`. */
export function validateCreate(ctx: ValidationContext, obj: KubeObject): FieldError[] {
  return [...validateObjectMeta(obj, ctx), ...(allValidators[`${ctx.group}/${ctx.kind}`]?.(obj) ?? [])];
}

/** Validates an update: everything create checks, plus the fields that may not change. */
export function validateUpdate(ctx: ValidationContext, obj: KubeObject, old: KubeObject): FieldError[] {
  const errs = validateCreate(ctx, obj);
  const key = `${ctx.group}/${ctx.kind}`;
  const immutable = (path: string, a: unknown, b: unknown, detail = "field is immutable") => { if (!deepEqual(a, b)) errs.push(invalid(path, a, detail)); };
  if (obj.metadata.name !== old.metadata.name) errs.push(invalid("metadata.name", obj.metadata.name, "field is immutable"));
  errs.push(...validateRbacUpdate(ctx.group, ctx.kind, obj, old));
  if (key === "scheduling.k8s.io/PriorityClass") errs.push(...validatePriorityClassUpdate(obj, old));
  if (key === "/Pod") {
    const a = structuredClone((obj.spec ?? {}) as Obj), b = structuredClone((old.spec ?? {}) as Obj);
    // Only images, activeDeadlineSeconds and added tolerations may change in a pod's spec.
    for (const s of [a, b]) {
      for (const c of [...((s.containers as Obj[]) ?? []), ...((s.initContainers as Obj[]) ?? [])]) delete c.image;
      delete s.activeDeadlineSeconds; delete s.tolerations;
      if (!a.nodeName || !b.nodeName) { delete a.nodeName; delete b.nodeName; }
    }
    if (!deepEqual(a, b)) errs.push(forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"));
  }
  if (["apps/Deployment", "apps/ReplicaSet", "apps/DaemonSet", "apps/StatefulSet"].includes(key)) {
    immutable("spec.selector", (obj.spec as Obj | undefined)?.selector, (old.spec as Obj | undefined)?.selector);
  }
  if (key === "batch/Job") {
    immutable("spec.selector", (obj.spec as Obj | undefined)?.selector, (old.spec as Obj | undefined)?.selector);
    immutable("spec.template", (obj.spec as Obj | undefined)?.template, (old.spec as Obj | undefined)?.template);
    immutable("spec.completions", (obj.spec as Obj | undefined)?.completions, (old.spec as Obj | undefined)?.completions);
  }
  if (key === "/Service") {
    const a = (obj.spec ?? {}) as Obj, b = (old.spec ?? {}) as Obj;
    if (b.clusterIP && a.clusterIP !== undefined && a.clusterIP !== b.clusterIP) immutable("spec.clusterIP", a.clusterIP, b.clusterIP, "field is immutable");
  }
  if ((key === "/ConfigMap" || key === "/Secret") && old.immutable === true) {
    immutable("immutable", obj.immutable, old.immutable, "field is immutable when `immutable` is set");
    immutable("data", obj.data, old.data, "field is immutable when `immutable` is set");
    if (key === "/ConfigMap") immutable("binaryData", obj.binaryData, old.binaryData, "field is immutable when `immutable` is set");
  }
  if (key === "/Secret") immutable("type", obj.type, old.type);
  if (key === "apps/ControllerRevision") immutable("data", (obj as { data?: unknown }).data, (old as { data?: unknown }).data);
  if (key === "apiextensions.k8s.io/CustomResourceDefinition") {
    immutable("spec.group", (obj.spec as Obj | undefined)?.group, (old.spec as Obj | undefined)?.group);
  }
  return errs;
}
