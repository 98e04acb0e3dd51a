// Defaulting as kube-apiserver applies it on create and update (pkg/apis/*/v1/defaults.go).
// Functions mutate the object in place; they are idempotent.
import type { KubeObject } from "./meta.js";
import type { Container, PodSpec } from "./core.js";
import { rbacDefaulters } from "./rbac.js";
import { policyDefaulters } from "./policy.js";
import { schedulingDefaulters } from "./scheduling.js";

type Obj = Record<string, unknown>;
const o = (parent: Obj, key: string): Obj => {
  if (!parent[key] || typeof parent[key] !== "object") parent[key] = {};
  return parent[key] as Obj;
};
const dflt = (target: Obj, key: string, value: unknown) => { if (target[key] === undefined) target[key] = value; };

function defaultContainer(c: Container): void {
  const x = c as unknown as Obj;
  if (x.image !== undefined && x.imagePullPolicy === undefined) {
    const img = String(c.image ?? "");
    const lastSlash = img.lastIndexOf("/");
    const tagPart = img.slice(lastSlash + 1);
    const hasDigest = img.includes("@");
    const tag = tagPart.includes(":") ? tagPart.slice(tagPart.indexOf(":") + 1) : "";
    x.imagePullPolicy = !hasDigest && (tag === "" || tag === "latest") ? "Always" : "IfNotPresent";
  }
  dflt(x, "terminationMessagePath", "/dev/termination-log");
  dflt(x, "terminationMessagePolicy", "File");
  for (const p of c.ports ?? []) dflt(p as unknown as Obj, "protocol", "TCP");
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (!probe) continue;
    const p = probe as unknown as Obj;
    dflt(p, "timeoutSeconds", 1); dflt(p, "periodSeconds", 10); dflt(p, "successThreshold", 1); dflt(p, "failureThreshold", 3);
    if (probe.httpGet) { dflt(probe.httpGet as unknown as Obj, "path", "/"); dflt(probe.httpGet as unknown as Obj, "scheme", "HTTP"); }
  }
}

export function defaultPodSpec(spec: PodSpec | undefined): void {
  if (!spec || typeof spec !== "object") return;
  const s = spec as unknown as Obj;
  dflt(s, "restartPolicy", "Always");
  dflt(s, "terminationGracePeriodSeconds", 30);
  dflt(s, "dnsPolicy", "ClusterFirst");
  dflt(s, "securityContext", {});
  dflt(s, "schedulerName", "default-scheduler");
  dflt(s, "enableServiceLinks", true);
  if (s.serviceAccountName !== undefined) dflt(s, "serviceAccount", s.serviceAccountName);
  for (const c of [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])]) {
    if (c && typeof c === "object") defaultContainer(c);
  }
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (v?.configMap) dflt(v.configMap as Obj, "defaultMode", 0o644);
    if (v?.secret) dflt(v.secret as Obj, "defaultMode", 0o644);
    if (v?.hostPath) dflt(v.hostPath as Obj, "type", "");
  }
}

function defaultTemplate(spec: Obj): void {
  const t = spec.template as Obj | undefined;
  if (t && typeof t === "object") defaultPodSpec(t.spec as PodSpec | undefined);
}

const defaulters: Record<string, (obj: KubeObject) => void> = {
  "/Pod": (p) => {
    defaultPodSpec(p.spec as PodSpec);
  },
  "/Namespace": (n) => {
    dflt(o(n, "spec"), "finalizers", ["kubernetes"]);
    dflt(o(n, "status"), "phase", "Active");
  },
  "/Service": (svc) => {
    const s = o(svc, "spec");
    dflt(s, "type", "ClusterIP");
    dflt(s, "sessionAffinity", "None");
    if (s.type !== "ExternalName") { dflt(s, "ipFamilies", ["IPv4"]); dflt(s, "ipFamilyPolicy", "SingleStack"); dflt(s, "internalTrafficPolicy", "Cluster"); }
    for (const p of (Array.isArray(s.ports) ? s.ports : []) as Obj[]) {
      dflt(p, "protocol", "TCP");
      dflt(p, "targetPort", p.port);
    }
  },
  "/Secret": (s) => { dflt(s, "type", "Opaque"); },
  "/Node": () => {},
  "apps/Deployment": (d) => {
    const s = o(d, "spec");
    dflt(s, "replicas", 1);
    const st = o(s, "strategy");
    dflt(st, "type", "RollingUpdate");
    if (st.type === "RollingUpdate") { const ru = o(st, "rollingUpdate"); dflt(ru, "maxUnavailable", "25%"); dflt(ru, "maxSurge", "25%"); }
    dflt(s, "revisionHistoryLimit", 10);
    dflt(s, "progressDeadlineSeconds", 600);
    defaultTemplate(s);
  },
  "apps/ReplicaSet": (r) => { const s = o(r, "spec"); dflt(s, "replicas", 1); defaultTemplate(s); },
  "apps/DaemonSet": (r) => {
    const s = o(r, "spec");
    const us = o(s, "updateStrategy");
    dflt(us, "type", "RollingUpdate");
    if (us.type === "RollingUpdate") { const ru = o(us, "rollingUpdate"); dflt(ru, "maxUnavailable", 1); dflt(ru, "maxSurge", 0); }
    dflt(s, "revisionHistoryLimit", 10);
    defaultTemplate(s);
  },
  "apps/StatefulSet": (r) => {
    const s = o(r, "spec");
    dflt(s, "replicas", 1);
    dflt(s, "podManagementPolicy", "OrderedReady");
    const us = o(s, "updateStrategy");
    dflt(us, "type", "RollingUpdate");
    if (us.type === "RollingUpdate") dflt(o(us, "rollingUpdate"), "partition", 0);
    dflt(s, "revisionHistoryLimit", 10);
    dflt(s, "persistentVolumeClaimRetentionPolicy", { whenDeleted: "Retain", whenScaled: "Retain" });
    defaultTemplate(s);
  },
  "batch/Job": (j) => {
    const s = o(j, "spec");
    const t = (s.template ?? {}) as Obj;
    // Like kube-apiserver: a job without a manual selector gets one from its controller uid,
    // filled in by the server on create (see the API server's job strategy).
    dflt(s, "completions", 1);
    dflt(s, "parallelism", 1);
    dflt(s, "backoffLimit", 6);
    dflt(s, "completionMode", "NonIndexed");
    dflt(s, "suspend", false);
    dflt(s, "podReplacementPolicy", "TerminatingOrFailed");
    defaultPodSpec(t.spec as PodSpec | undefined);
  },
  "batch/CronJob": (c) => {
    const s = o(c, "spec");
    dflt(s, "concurrencyPolicy", "Allow");
    dflt(s, "suspend", false);
    dflt(s, "successfulJobsHistoryLimit", 3);
    dflt(s, "failedJobsHistoryLimit", 1);
    const js = o(o(s, "jobTemplate"), "spec");
    dflt(js, "backoffLimit", 6);
    dflt(js, "completionMode", "NonIndexed");
    dflt(js, "suspend", false);
    defaultPodSpec(((js.template ?? {}) as Obj).spec as PodSpec | undefined);
  },
  "autoscaling/HorizontalPodAutoscaler": (h) => { dflt(o(h, "spec"), "minReplicas", 1); },
  "apiextensions.k8s.io/CustomResourceDefinition": (c) => {
    const s = o(c, "spec");
    const names = o(s, "names");
    if (typeof names.kind === "string") { dflt(names, "singular", names.kind.toLowerCase()); dflt(names, "listKind", `${names.kind}List`); }
  },
};

/** Every group's defaulters in one table, by "group/Kind". */
const allDefaulters: Record<string, (obj: KubeObject) => void> = { ...schedulingDefaulters, ...policyDefaulters, ...rbacDefaulters, ...defaulters };

/** Applies the defaults of `group/kind` to obj (no-op for kinds without defaults). */
export function applyDefaults(group: string, kind: string, obj: KubeObject): void {
  allDefaulters[`${group}/${kind}`]?.(obj);
}
