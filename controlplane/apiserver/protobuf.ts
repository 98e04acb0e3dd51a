// Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf).
// kubectl's typed clients (`kubectl create namespace|configmap|secret|serviceaccount`) send
// protobuf, so the server must read it. A body is the magic "k8s\0" followed by a
// runtime.Unknown {typeMeta, raw}; raw is the object in the kind's generated.proto layout.
// Only the kinds those commands create are described here; others get 415.
import { ApiError } from "./errors.js";

type FieldType =
  | "string" | "bytes" | "int" | "bool" | "time" | "intOrString" | "quantity"
  | { msg: MessageSchema }
  | { map: "string" | "bytes" | "quantity" };

/** `ptr`: a Go pointer field, so a zero value was set on purpose and is kept. */
interface FieldSpec { name: string; type: FieldType; repeated?: boolean; ptr?: boolean }
type MessageSchema = Record<number, FieldSpec>;

const Time: MessageSchema = {}; // decoded specially (seconds, nanos)
void Time;
const OwnerReference: MessageSchema = {
  1: { name: "kind", type: "string" }, 3: { name: "name", type: "string" }, 4: { name: "uid", type: "string" },
  5: { name: "apiVersion", type: "string" }, 6: { name: "controller", type: "bool" }, 7: { name: "blockOwnerDeletion", type: "bool" },
};
const ObjectMeta: MessageSchema = {
  1: { name: "name", type: "string" }, 2: { name: "generateName", type: "string" }, 3: { name: "namespace", type: "string" },
  5: { name: "uid", type: "string" }, 6: { name: "resourceVersion", type: "string" }, 7: { name: "generation", type: "int" },
  8: { name: "creationTimestamp", type: "time" }, 9: { name: "deletionTimestamp", type: "time" }, 10: { name: "deletionGracePeriodSeconds", type: "int" },
  11: { name: "labels", type: { map: "string" } }, 12: { name: "annotations", type: { map: "string" } },
  13: { name: "ownerReferences", type: { msg: OwnerReference }, repeated: true }, 14: { name: "finalizers", type: "string", repeated: true },
};
const LocalObjectReference: MessageSchema = { 1: { name: "name", type: "string" } };
const ObjectReference: MessageSchema = {
  1: { name: "kind", type: "string" }, 2: { name: "namespace", type: "string" }, 3: { name: "name", type: "string" }, 4: { name: "uid", type: "string" },
  5: { name: "apiVersion", type: "string" }, 6: { name: "resourceVersion", type: "string" }, 7: { name: "fieldPath", type: "string" },
};
const meta = { name: "metadata", type: { msg: ObjectMeta } } as const;
const f = (name: string, type: FieldType, extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, type, ...extra });
const LabelSelector: MessageSchema = {
  1: f("matchLabels", { map: "string" }),
  2: f("matchExpressions", { msg: { 1: f("key", "string"), 2: f("operator", "string"), 3: f("values", "string", { repeated: true }) } }, { repeated: true }),
};
// valueFrom is not decoded: kubectl's generators never set it.
const EnvVar: MessageSchema = { 1: f("name", "string"), 2: f("value", "string") };
const Container: MessageSchema = {
  1: f("name", "string"), 2: f("image", "string"), 3: f("command", "string", { repeated: true }), 4: f("args", "string", { repeated: true }),
  5: f("workingDir", "string"),
  6: f("ports", { msg: { 1: f("name", "string"), 2: f("hostPort", "int"), 3: f("containerPort", "int"), 4: f("protocol", "string"), 5: f("hostIP", "string") } }, { repeated: true }),
  7: f("env", { msg: EnvVar }, { repeated: true }),
  8: f("resources", { msg: { 1: f("limits", { map: "quantity" }), 2: f("requests", { map: "quantity" }) } }),
  9: f("volumeMounts", { msg: { 1: f("name", "string"), 2: f("readOnly", "bool"), 3: f("mountPath", "string"), 4: f("subPath", "string") } }, { repeated: true }),
  13: f("terminationMessagePath", "string"), 14: f("imagePullPolicy", "string"), 16: f("stdin", "bool"), 17: f("stdinOnce", "bool"), 18: f("tty", "bool"),
  20: f("terminationMessagePolicy", "string"),
};
const PodSpec: MessageSchema = {
  2: f("containers", { msg: Container }, { repeated: true }), 3: f("restartPolicy", "string"), 4: f("terminationGracePeriodSeconds", "int", { ptr: true }),
  5: f("activeDeadlineSeconds", "int", { ptr: true }), 6: f("dnsPolicy", "string"), 7: f("nodeSelector", { map: "string" }), 8: f("serviceAccountName", "string"),
  10: f("nodeName", "string"), 11: f("hostNetwork", "bool"), 16: f("hostname", "string"), 17: f("subdomain", "string"), 19: f("schedulerName", "string"),
  20: f("initContainers", { msg: Container }, { repeated: true }), 21: f("automountServiceAccountToken", "bool", { ptr: true }), 24: f("priorityClassName", "string"),
  30: f("enableServiceLinks", "bool", { ptr: true }),
};
const PodTemplateSpec: MessageSchema = { 1: meta, 2: f("spec", { msg: PodSpec }) };
const JobSpec: MessageSchema = {
  1: f("parallelism", "int", { ptr: true }), 2: f("completions", "int", { ptr: true }), 3: f("activeDeadlineSeconds", "int", { ptr: true }),
  4: f("selector", { msg: LabelSelector }), 5: f("manualSelector", "bool", { ptr: true }), 6: f("template", { msg: PodTemplateSpec }),
  7: f("backoffLimit", "int", { ptr: true }), 8: f("ttlSecondsAfterFinished", "int", { ptr: true }), 9: f("completionMode", "string"), 10: f("suspend", "bool", { ptr: true }),
};

// rbac.authorization.k8s.io/v1 (kubectl create role|clusterrole|rolebinding|clusterrolebinding).
const PolicyRule: MessageSchema = {
  1: f("verbs", "string", { repeated: true }), 2: f("apiGroups", "string", { repeated: true }), 3: f("resources", "string", { repeated: true }),
  4: f("resourceNames", "string", { repeated: true }), 5: f("nonResourceURLs", "string", { repeated: true }),
};
const RbacBinding: MessageSchema = {
  1: meta,
  2: f("subjects", { msg: { 1: f("kind", "string"), 2: f("apiGroup", "string", { ptr: true }), 3: f("name", "string"), 4: f("namespace", "string") } }, { repeated: true }),
  3: f("roleRef", { msg: { 1: f("apiGroup", "string", { ptr: true }), 2: f("kind", "string"), 3: f("name", "string") } }),
};

const KINDS: Record<string, MessageSchema> = {
  "rbac.authorization.k8s.io/v1/Role": { 1: meta, 2: f("rules", { msg: PolicyRule }, { repeated: true }) },
  "rbac.authorization.k8s.io/v1/ClusterRole": {
    1: meta, 2: f("rules", { msg: PolicyRule }, { repeated: true }), 3: f("aggregationRule", { msg: { 1: f("clusterRoleSelectors", { msg: LabelSelector }, { repeated: true }) } }),
  },
  "rbac.authorization.k8s.io/v1/RoleBinding": RbacBinding,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": RbacBinding,
  // kubectl create token
  "authentication.k8s.io/v1/TokenRequest": {
    1: meta,
    2: f("spec", { msg: {
      1: f("audiences", "string", { repeated: true }), 4: f("expirationSeconds", "int", { ptr: true }),
      3: f("boundObjectRef", { msg: { 1: f("kind", "string"), 2: f("apiVersion", "string"), 3: f("name", "string"), 4: f("uid", "string") } }),
    } }),
  },
  "v1/Namespace": {
    1: meta,
    2: { name: "spec", type: { msg: { 1: { name: "finalizers", type: "string", repeated: true } } } },
    3: { name: "status", type: { msg: { 1: { name: "phase", type: "string" } } } },
  },
  // kubectl create quota
  "v1/ResourceQuota": { 1: meta, 2: f("spec", { msg: { 1: f("hard", { map: "quantity" }), 2: f("scopes", "string", { repeated: true }) } }), 3: f("status", { msg: {} }) },
  "v1/ConfigMap": {
    1: meta, 2: { name: "data", type: { map: "string" } }, 3: { name: "binaryData", type: { map: "bytes" } }, 4: { name: "immutable", type: "bool" },
  },
  "v1/Secret": {
    1: meta, 2: { name: "data", type: { map: "bytes" } }, 3: { name: "type", type: "string" }, 4: { name: "stringData", type: { map: "string" } }, 5: { name: "immutable", type: "bool" },
  },
  "apps/v1/Deployment": {
    1: meta,
    2: f("spec", { msg: {
      1: f("replicas", "int", { ptr: true }), 2: f("selector", { msg: LabelSelector }), 3: f("template", { msg: PodTemplateSpec }),
      4: f("strategy", { msg: { 1: f("type", "string"), 2: f("rollingUpdate", { msg: { 1: f("maxUnavailable", "intOrString"), 2: f("maxSurge", "intOrString") } }) } }),
      5: f("minReadySeconds", "int"), 6: f("revisionHistoryLimit", "int", { ptr: true }), 7: f("paused", "bool"), 9: f("progressDeadlineSeconds", "int", { ptr: true }),
    } }),
    3: f("status", { msg: {} }),
  },
  "batch/v1/Job": { 1: meta, 2: f("spec", { msg: JobSpec }), 3: f("status", { msg: {} }) },
  "batch/v1/CronJob": {
    1: meta,
    2: f("spec", { msg: {
      1: f("schedule", "string"), 8: f("timeZone", "string"), 2: f("startingDeadlineSeconds", "int", { ptr: true }), 3: f("concurrencyPolicy", "string"), 4: f("suspend", "bool", { ptr: true }),
      5: f("jobTemplate", { msg: { 1: meta, 2: f("spec", { msg: JobSpec }) } }), 6: f("successfulJobsHistoryLimit", "int", { ptr: true }), 7: f("failedJobsHistoryLimit", "int", { ptr: true }),
    } }),
    3: f("status", { msg: {} }),
  },
  "v1/Service": {
    1: meta,
    2: f("spec", { msg: {
      1: f("ports", { msg: { 1: f("name", "string"), 2: f("protocol", "string"), 3: f("port", "int"), 4: f("targetPort", "intOrString"), 5: f("nodePort", "int"), 6: f("appProtocol", "string") } }, { repeated: true }),
      2: f("selector", { map: "string" }), 3: f("clusterIP", "string"), 4: f("type", "string"), 5: f("externalIPs", "string", { repeated: true }), 7: f("sessionAffinity", "string"),
      8: f("loadBalancerIP", "string"), 10: f("externalName", "string"), 18: f("clusterIPs", "string", { repeated: true }),
    } }),
    3: f("status", { msg: {} }),
  },
  "authentication.k8s.io/v1/SelfSubjectReview": { 1: meta },
  "authorization.k8s.io/v1/SelfSubjectAccessReview": {
    1: meta,
    2: f("spec", { msg: {
      1: f("resourceAttributes", { msg: { 1: f("namespace", "string"), 2: f("verb", "string"), 3: f("group", "string"), 4: f("version", "string"), 5: f("resource", "string"), 6: f("subresource", "string"), 7: f("name", "string") } }),
      2: f("nonResourceAttributes", { msg: { 1: f("path", "string"), 2: f("verb", "string") } }),
    } }),
  },
  "authorization.k8s.io/v1/SelfSubjectRulesReview": { 1: meta, 2: f("spec", { msg: { 1: f("namespace", "string") } }) },
  "v1/ServiceAccount": {
    1: meta, 2: { name: "secrets", type: { msg: ObjectReference }, repeated: true },
    3: { name: "imagePullSecrets", type: { msg: LocalObjectReference }, repeated: true }, 4: { name: "automountServiceAccountToken", type: "bool" },
  },
};

export class ProtobufDecodeError extends ApiError {
  constructor(reason: string) {
    super(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf: ${reason})`);
  }
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}
  varint(): bigint {
    let result = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new ProtobufDecodeError("truncated varint");
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtobufDecodeError("varint too long");
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new ProtobufDecodeError("truncated field");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new ProtobufDecodeError(`unsupported wire type ${wire}`);
  }
  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const tag = Number(this.varint());
      yield [tag >>> 3, tag & 7];
    }
  }
}

function decodeTime(buf: Buffer): string {
  const r = new Reader(buf);
  let seconds = 0n;
  for (const [no, wire] of r.fields()) { if (no === 1 && wire === 0) seconds = r.varint(); else r.skip(wire); }
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}

/** intstr.IntOrString {type: 0 int | 1 string, intVal, strVal}. */
function decodeIntOrString(buf: Buffer): number | string {
  const r = new Reader(buf);
  let type = 0, intVal = 0, strVal = "";
  for (const [no, wire] of r.fields()) {
    if (no === 1) type = Number(r.varint());
    else if (no === 2) intVal = Number(BigInt.asIntN(32, r.varint()));
    else if (no === 3) strVal = r.bytes().toString("utf8");
    else r.skip(wire);
  }
  return type === 1 ? strVal : intVal;
}

/** resource.Quantity {string}. */
function decodeQuantity(buf: Buffer): string {
  const r = new Reader(buf);
  let s = "";
  for (const [no, wire] of r.fields()) { if (no === 1) s = r.bytes().toString("utf8"); else r.skip(wire); }
  return s;
}

function decodeMessage(buf: Buffer, schema: MessageSchema): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  for (const [no, wire] of r.fields()) {
    const f = schema[no];
    if (!f) { r.skip(wire); continue; }
    let v: unknown;
    const t = f.type;
    if (t === "int") v = Number(BigInt.asIntN(64, r.varint()));
    else if (t === "bool") v = r.varint() !== 0n;
    else if (t === "string") v = r.bytes().toString("utf8");
    else if (t === "bytes") v = r.bytes().toString("base64");
    else if (t === "time") v = decodeTime(r.bytes());
    else if (t === "intOrString") v = decodeIntOrString(r.bytes());
    else if (t === "quantity") v = decodeQuantity(r.bytes());
    else if ("msg" in t) v = decodeMessage(r.bytes(), t.msg);
    else {
      const entry = new Reader(r.bytes());
      let key = "", val = "";
      for (const [eno, ewire] of entry.fields()) {
        if (eno === 1) key = entry.bytes().toString("utf8");
        else if (eno === 2) { const b = entry.bytes(); val = t.map === "bytes" ? b.toString("base64") : t.map === "quantity" ? decodeQuantity(b) : b.toString("utf8"); }
        else entry.skip(ewire);
      }
      const m = (out[f.name] ??= {}) as Record<string, string>;
      m[key] = val;
      continue;
    }
    // proto2 writes Go's zero values ("" and 0) explicitly; JSON omits them.
    if (!f.repeated && !f.ptr && (v === "" || v === 0)) continue;
    if (f.repeated) ((out[f.name] ??= []) as unknown[]).push(v);
    else out[f.name] = v;
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a Kubernetes protobuf body to the object's JSON form. */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ProtobufDecodeError("missing the k8s\\0 prefix");
  const r = new Reader(body.subarray(4));
  let apiVersion = "", kind = "";
  let raw: Buffer | undefined;
  for (const [no, wire] of r.fields()) {
    if (no === 1 && wire === 2) {
      const tm = new Reader(r.bytes());
      for (const [tno, twire] of tm.fields()) {
        if (tno === 1) apiVersion = tm.bytes().toString("utf8");
        else if (tno === 2) kind = tm.bytes().toString("utf8");
        else tm.skip(twire);
      }
    } else if (no === 2 && wire === 2) raw = r.bytes();
    else r.skip(wire);
  }
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema) throw new ProtobufDecodeError(`${apiVersion}/${kind} is not supported in protobuf; send JSON`);
  return { apiVersion, kind, ...decodeMessage(raw ?? Buffer.alloc(0), schema) };
}
