// Kubernetes object semantics on top of the revisioned store: keys, resourceVersion, uid,
// generateName, creationTimestamp, generation, defaulting and validation, status subresource
// rules, finalizers and deletionTimestamp, graceful pod deletion. This is the only module
// that reads or writes the store (the HTTP layer calls it).
import { randomUUID, randomInt } from "node:crypto";
import type { Store, KeyValue, WatchEvent as StoreWatchEvent, Watch } from "../store/index.js";
import { ConflictError, KeyExistsError, NotFoundError } from "../store/index.js";
import { encodeContinue, keyAfter } from "../store/keys.js";
import type { KubeObject, ObjectMeta } from "../../api/meta.js";
import type { ResourceInfo, ResourceRegistry } from "../../api/registry.js";
import { apiVersionOf } from "../../api/registry.js";
import { applyDefaults } from "../../api/defaults.js";
import { validateCreate, validateUpdate } from "../../api/validation.js";
import { InvalidObjectError, invalid, notSupported, type FieldError } from "../../api/field-errors.js";
import { checkAgainstSchema } from "../../api/schema-check.js";
import { definitions } from "../../api/schemas.js";
import { matchesFields, matchesLabels, type FieldRequirement, type Selector } from "../../api/selectors.js";
import { ApiError, alreadyExists, badRequest, conflict, forbidden, notFound } from "./errors.js";
import { Admission } from "./admission/index.js";
import type { Pod } from "../../api/core.js";
import type { PriorityClass } from "../../api/scheduling.js";
import { KindCache } from "./kind-cache.js";
import { PriorityAdmission, isPriorityClass } from "./priority.js";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface WriteOptions {
  fieldValidation?: FieldValidation;
  dryRun?: boolean;
  /** Collects warnings (unknown fields under Warn) for the Warning header. */
  warnings?: string[];
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  propagationPolicy?: string;
}

export interface ListOptions {
  labelSelector?: Selector;
  fieldSelector?: FieldRequirement[];
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

/** Called after writes so the server can react (CRDs, namespaces). */
export interface WriteHooks {
  /** May return a promise for work a delete must wait for (a CRD's objects going with it). */
  afterWrite?(r: ResourceInfo, obj: KubeObject, deleted: boolean): void | Promise<void>;
}

const GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789";
const STORE_PAGE = 1000;
/** kube-apiserver refuses to delete these. */
const PROTECTED_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);

export function storagePrefix(r: { group: string; plural: string }, namespace?: string): string {
  return `/registry/${r.group || "core"}/${r.plural}/` + (namespace ? `${namespace}/` : "");
}

function qosClass(pod: Pod): string {
  const cs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const res of ["cpu", "memory"]) {
      if (lim[res] === undefined) guaranteed = false;
      else if (req[res] !== undefined && req[res] !== lim[res]) guaranteed = false;
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

const withoutMetaStatus = (o: KubeObject) => {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
};

export class ObjectStore {
  /** LimitRange and ResourceQuota admission of creates. */
  private readonly admission = new Admission(this);
  /** Priority admission: spec.priorityClassName → spec.priority; one global default class. */
  private priorityClasses?: KindCache<PriorityClass>;
  private readonly priority = new PriorityAdmission(
    () => (this.priorityClasses ??= new KindCache(this, this.registry.get("scheduling.k8s.io", "v1", "priorityclasses")!)).inNamespace(""),
    async () => (await this.list(this.registry.get("scheduling.k8s.io", "v1", "priorityclasses")!, undefined)).items as PriorityClass[],
  );
  constructor(readonly store: Store, readonly registry: ResourceRegistry, private readonly hooks: WriteHooks = {}) {}

  /** Stops what the store's admission keeps watching. */
  async close(): Promise<void> {
    await this.admission.close();
    await this.priorityClasses?.close();
  }

  key(r: ResourceInfo, namespace: string | undefined, name: string): string {
    return storagePrefix(r, r.namespaced ? namespace : undefined) + name;
  }

  decode(r: ResourceInfo, kv: { value: string; modRevision: number }): KubeObject {
    const obj = JSON.parse(kv.value) as KubeObject;
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  /** The object just stored, as a read would return it, without parsing back what was encoded. */
  private written(obj: KubeObject, modRevision: number): KubeObject {
    obj.metadata.resourceVersion = String(modRevision);
    return obj;
  }

  private encode(obj: KubeObject): string {
    const copy = { ...obj, metadata: { ...obj.metadata } };
    delete copy.metadata.resourceVersion;
    return JSON.stringify(copy);
  }

  async get(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.store.get(this.key(r, namespace, name));
    if (!kv) throw notFound(r, name);
    return this.decode(r, kv);
  }

  async list(r: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ListResult> {
    const items: KubeObject[] = [];
    const meta = await this.listEach(r, namespace, opts, (o) => { items.push(o); });
    return { items, ...meta };
  }

  /**
   * The list, one object at a time (a store page at most is held), so a large list can be
   * written out as it is read instead of being built whole in memory first.
   */
  async listEach(r: ResourceInfo, namespace: string | undefined, opts: ListOptions, onItem: (o: KubeObject) => void, afterPage?: () => Promise<void>): Promise<Omit<ListResult, "items">> {
    const prefix = storagePrefix(r, r.namespaced ? namespace : undefined);
    const matches = (o: KubeObject) =>
      (!opts.labelSelector || matchesLabels(opts.labelSelector, o.metadata.labels)) && (!opts.fieldSelector || matchesFields(opts.fieldSelector, o));
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const revision = opts.resourceVersion && opts.resourceVersion !== "0" && !opts.continue ? Number(opts.resourceVersion) : undefined;
    if (revision !== undefined && !Number.isSafeInteger(revision)) throw badRequest(`invalid resourceVersion ${JSON.stringify(opts.resourceVersion)}`);
    let count = 0;
    let cont = opts.continue;
    let rev = 0;
    // Read pages until `limit` matching items are found; the continue token we hand out starts
    // right after the last item returned, so filtered pages never skip an object.
    for (;;) {
      // Unlimited lists are read in pages too: one snapshot (the token keeps the revision),
      // without asking a backend for one huge range (etcd's gRPC messages are bounded).
      const page = await this.store.list(prefix, { limit: limit ? limit : STORE_PAGE, continue: cont, revision: cont ? undefined : revision });
      rev = page.revision;
      for (const kv of page.items) {
        const o = this.decode(r, kv);
        if (!matches(o)) continue;
        onItem(o);
        if (limit && ++count === limit) {
          const isLastOfStore = !page.continue && kv === page.items[page.items.length - 1];
          return { resourceVersion: String(rev), continue: isLastOfStore ? undefined : encodeContinue({ revision: rev, startKey: keyAfter(kv.key) }) };
        }
      }
      if (!page.continue) break;
      cont = page.continue;
      await afterPage?.(); // e.g. until the client has read what was sent
    }
    return { resourceVersion: String(rev) };
  }

  /** Decodes unknown fields, applies fieldValidation, and checks types against the schema. */
  private checkSchema(r: ResourceInfo, obj: KubeObject, opts: WriteOptions): void {
    const schema = r.custom ? r.schema : r.definition ? definitions[r.definition] : undefined;
    if (!schema) return;
    const res = checkAgainstSchema(obj, schema, { prune: opts.fieldValidation !== "Strict", constraints: r.custom });
    if (res.errors.length) {
      if (r.custom) throw new InvalidObjectError(r.kind, r.group, obj.metadata?.name ?? "", res.errors);
      throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${res.errors.map((e) => e.message).join(", ")}`);
    }
    if (res.unknownFields.length) {
      if (opts.fieldValidation === "Strict") {
        const list = res.unknownFields.map((f) => `unknown field ${JSON.stringify(f)}`);
        throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${list.join(", ")}`);
      }
      if (opts.fieldValidation === "Warn") for (const f of res.unknownFields) opts.warnings?.push(`unknown field ${JSON.stringify(f)}`);
    }
  }

  private checkTypeMeta(r: ResourceInfo, obj: KubeObject): void {
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw badRequest("the body must be a JSON object");
    if (obj.kind !== undefined && obj.kind !== r.kind) throw badRequest(`the kind of the provided object (${String(obj.kind)}) does not match the resource ${r.kind}`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(r)) {
      // Custom resources may be written through any served version; built-ins have one version each.
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`);
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== "object" || Array.isArray(obj.metadata)) throw badRequest("metadata must be an object");
  }

  private validate(r: ResourceInfo, obj: KubeObject, old?: KubeObject): void {
    const ctx = { group: r.group, kind: r.kind, namespaced: r.namespaced };
    const errs: FieldError[] = old ? validateUpdate(ctx, obj, old) : validateCreate(ctx, obj);
    if (errs.length) throw new InvalidObjectError(r.kind, r.group, obj.metadata.name ?? obj.metadata.generateName ?? "", errs);
  }

  private async checkNamespace(r: ResourceInfo, namespace: string | undefined): Promise<void> {
    if (!r.namespaced || !namespace) return;
    const nsR = this.registry.get("", "v1", "namespaces")!;
    const kv = await this.store.get(this.key(nsR, undefined, namespace));
    if (!kv) throw new ApiError(404, "NotFound", `namespaces ${JSON.stringify(namespace)} not found`, { name: namespace, kind: "namespaces" });
    const ns = JSON.parse(kv.value) as KubeObject;
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(`${r.plural} ${JSON.stringify("")} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, { name: "", kind: r.plural });
    }
  }

  async create(r: ResourceInfo, namespace: string | undefined, body: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    this.checkTypeMeta(r, body);
    const obj = structuredClone(body);
    const m = obj.metadata;
    if (r.namespaced) {
      if (m.namespace && namespace && m.namespace !== namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      m.namespace = namespace ?? m.namespace;
    } else if (m.namespace) {
      delete m.namespace;
    }
    this.checkSchema(r, obj, opts);
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    if (!m.name && m.generateName) m.name = m.generateName + Array.from({ length: 5 }, () => GENERATE_CHARS[randomInt(GENERATE_CHARS.length)]).join("");
    if (m.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
    await this.admission.mutate(r, obj);
    this.prepareForCreate(r, obj);
    applyDefaults(r.group, r.kind, obj);
    if (r.group === "" && r.kind === "Pod") await this.priority.admitPod(obj as Pod);
    this.validate(r, obj);
    if (isPriorityClass(r)) await this.priority.admitClass(r, obj as PriorityClass);
    await this.checkNamespace(r, m.namespace);
    await this.admission.validate(r, obj, opts);
    if (opts.dryRun) {
      if (await this.store.get(this.key(r, m.namespace, m.name!))) throw alreadyExists(r, m.name!);
      return obj;
    }
    await this.beforeCreate(r, obj);
    let kv: KeyValue;
    try {
      kv = await this.store.create(this.key(r, m.namespace, m.name!), this.encode(obj));
    } catch (err) {
      await this.afterFailedCreate(r, obj);
      if (err instanceof KeyExistsError) throw alreadyExists(r, m.name!);
      throw err;
    }
    const out = this.written(obj, kv.modRevision);
    this.hooks.afterWrite?.(r, out, false);
    return out;
  }

  private prepareForCreate(r: ResourceInfo, obj: KubeObject): void {
    const m = obj.metadata as ObjectMeta;
    m.uid = randomUUID();
    m.creationTimestamp = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    if (r.tracksGeneration) m.generation = 1; else delete m.generation;
    delete (m as Record<string, unknown>).selfLink;
    if (r.subresources.status && r.kind !== "Namespace" && r.kind !== "Node" && r.kind !== "CustomResourceDefinition") delete obj.status;
    if (r.group === "" && r.kind === "Pod") obj.status = { phase: "Pending", qosClass: qosClass(obj as Pod) };
    if (r.group === "" && r.kind === "Namespace") obj.status = { phase: "Active" };
    if (r.group === "apiextensions.k8s.io" && r.kind === "CustomResourceDefinition") crdStatus(obj);
    if (r.group === "batch" && r.kind === "Job") {
      // Without a manual selector, the job's pods are selected by the job's own uid.
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      if (!spec.manualSelector && !spec.selector) {
        const labels = { "batch.kubernetes.io/controller-uid": m.uid!, "batch.kubernetes.io/job-name": m.name ?? "", "controller-uid": m.uid!, "job-name": m.name ?? "" };
        spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": m.uid! } };
        const t = (spec.template ?? {}) as { metadata?: ObjectMeta };
        t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}), ...labels } };
        spec.template = t;
      }
    }
  }

  /** Service cluster IPs: each is a key in the store, so two services never share one. */
  private async beforeCreate(r: ResourceInfo, obj: KubeObject): Promise<void> {
    if (!(r.group === "" && r.kind === "Service")) return;
    const spec = (obj.spec ?? {}) as Record<string, unknown>;
    if (spec.type === "ExternalName" || spec.clusterIP === "None") return;
    if (spec.clusterIP) {
      try { await this.store.create(`/registry/core/serviceips/${spec.clusterIP}`, obj.metadata.uid!); } catch (err) {
        if (err instanceof KeyExistsError) throw new InvalidObjectError("Service", "", obj.metadata.name!, [invalid("spec.clusterIPs", [spec.clusterIP], "failed to allocate IP: provided IP is already allocated")]);
        throw err;
      }
    } else {
      for (let i = 0; i < 64; i++) {
        const n = randomInt(2, 65534);
        const ip = `10.96.${n >> 8}.${n & 255}`;
        try { await this.store.create(`/registry/core/serviceips/${ip}`, obj.metadata.uid!); spec.clusterIP = ip; break; } catch (err) {
          if (!(err instanceof KeyExistsError)) throw err;
        }
      }
    }
    if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
    if (spec.type === "NodePort" || spec.type === "LoadBalancer") {
      for (const p of (spec.ports ?? []) as { nodePort?: number }[]) if (!p.nodePort) p.nodePort = randomInt(30000, 32768);
    }
  }

  private async afterFailedCreate(r: ResourceInfo, obj: KubeObject): Promise<void> {
    if (r.group === "" && r.kind === "Service") await this.releaseServiceIp(obj);
  }

  private async releaseServiceIp(obj: KubeObject): Promise<void> {
    const ip = (obj.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (!ip || ip === "None") return;
    const kv = await this.store.get(`/registry/core/serviceips/${ip}`);
    if (kv && kv.value === obj.metadata.uid) await this.store.delete(kv.key, kv.modRevision).catch(() => undefined);
  }

  /**
   * Replaces an object. `subresource` "status" writes only the status; otherwise the status
   * is kept from the stored object (when the kind has a status subresource).
   */
  async update(r: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject, opts: WriteOptions & { subresource?: string } = {}): Promise<KubeObject> {
    this.checkTypeMeta(r, body);
    if (body.metadata.name && body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    if (r.namespaced && body.metadata.namespace && namespace && body.metadata.namespace !== namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    const key = this.key(r, namespace, name);
    const kv = await this.store.get(key);
    if (!kv) throw notFound(r, name);
    const old = this.decode(r, kv);
    const want = body.metadata.resourceVersion;
    if (want && want !== old.metadata.resourceVersion) throw conflict(r, name);
    return this.writeUpdate(r, old, kv.modRevision, structuredClone(body), opts);
  }

  /** Read-modify-write with retries on conflict (patch, scale, finalizers). */
  async guaranteedUpdate(r: ResourceInfo, namespace: string | undefined, name: string, mutate: (cur: KubeObject) => KubeObject, opts: WriteOptions & { subresource?: string } = {}): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(this.key(r, namespace, name));
      if (!kv) throw notFound(r, name);
      const cur = this.decode(r, kv);
      const next = mutate(structuredClone(cur));
      this.checkTypeMeta(r, next);
      const want = next.metadata.resourceVersion;
      if (want && want !== cur.metadata.resourceVersion) throw conflict(r, name);
      try {
        return await this.writeUpdate(r, cur, kv.modRevision, next, opts);
      } catch (err) {
        if (err instanceof ApiError && err.reason === "Conflict" && !want && attempt < 5) continue;
        throw err;
      }
    }
  }

  private async writeUpdate(r: ResourceInfo, old: KubeObject, modRevision: number, obj: KubeObject, opts: WriteOptions & { subresource?: string }): Promise<KubeObject> {
    const name = old.metadata.name!;
    this.checkSchema(r, obj, opts);
    obj.apiVersion = apiVersionOf(r);
    obj.kind = r.kind;
    if (opts.subresource === "status") {
      // Only the status changes through /status.
      const status = obj.status;
      obj = structuredClone(old);
      if (status === undefined) delete obj.status; else obj.status = status;
    } else if (r.subresources.status && opts.subresource !== "binding") {
      if (old.status === undefined) delete obj.status; else obj.status = structuredClone(old.status);
    }
    // Fields the server owns.
    const m = obj.metadata;
    const om = old.metadata;
    m.name = om.name;
    if (r.namespaced) m.namespace = om.namespace; else delete m.namespace;
    m.uid = om.uid;
    m.creationTimestamp = om.creationTimestamp;
    if (m.managedFields === undefined && om.managedFields !== undefined) m.managedFields = om.managedFields; // omitted means unchanged
    if (om.deletionTimestamp) { m.deletionTimestamp = om.deletionTimestamp; m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds; }
    else { delete m.deletionTimestamp; delete m.deletionGracePeriodSeconds; }
    if (om.deletionTimestamp && (m.finalizers ?? []).some((f) => !(om.finalizers ?? []).includes(f))) {
      throw new InvalidObjectError(r.kind, r.group, name, [invalid("metadata.finalizers", m.finalizers, "no new finalizers can be added if the object is being deleted")]);
    }
    applyDefaults(r.group, r.kind, obj);
    if (r.tracksGeneration) {
      m.generation = om.generation ?? 1;
      if (withoutMetaStatus(obj) !== withoutMetaStatus(old)) m.generation += 1;
    }
    if (r.group === "apiextensions.k8s.io" && r.kind === "CustomResourceDefinition" && opts.subresource !== "status") crdStatus(obj);
    if (r.group === "" && r.kind === "Service") {
      const s = (obj.spec ?? {}) as Record<string, unknown>;
      const os = (old.spec ?? {}) as Record<string, unknown>;
      if (!s.clusterIP && os.clusterIP) { s.clusterIP = os.clusterIP; s.clusterIPs = os.clusterIPs; }
      // Node ports stay with their port when an update (kubectl apply) leaves them out.
      const oldPorts = (os.ports ?? []) as { port: number; protocol?: string; nodePort?: number }[];
      for (const p of (s.ports ?? []) as { port: number; protocol?: string; nodePort?: number }[]) {
        if (p.nodePort || (s.type !== "NodePort" && s.type !== "LoadBalancer")) continue;
        const prev = oldPorts.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"));
        p.nodePort = prev?.nodePort ?? randomInt(30000, 32768);
      }
    }
    this.validate(r, obj, old);
    if (isPriorityClass(r)) await this.priority.admitClass(r, obj as PriorityClass);
    if (opts.dryRun) { m.resourceVersion = om.resourceVersion; return obj; }
    // An object being deleted whose last finalizer is gone is deleted now.
    const pending = [...(m.finalizers ?? []), ...(r.group === "" && r.kind === "Namespace" ? ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : [])];
    if (om.deletionTimestamp && !pending.length && !(r.kind === "Pod" && (om.deletionGracePeriodSeconds ?? 0) > 0)) {
      try {
        const res = await this.store.delete(this.key(r, om.namespace, name), modRevision);
        const out = this.decode(r, { value: this.encode(obj), modRevision: res.revision });
        await this.afterDelete(r, out);
        return out;
      } catch (err) {
        if (err instanceof ConflictError) throw conflict(r, name);
        if (err instanceof NotFoundError) throw notFound(r, name);
        throw err;
      }
    }
    if (this.encode({ ...obj, metadata: { ...m, resourceVersion: undefined } }) === this.encode({ ...old, metadata: { ...om, resourceVersion: undefined } })) {
      return old; // no change: no new revision, as kube-apiserver does
    }
    try {
      const kv = await this.store.update(this.key(r, om.namespace, name), this.encode(obj), modRevision);
      const out = this.written(obj, kv.modRevision);
        this.hooks.afterWrite?.(r, out, false);
      return out;
    } catch (err) {
      if (err instanceof ConflictError) throw conflict(r, name);
      if (err instanceof NotFoundError) throw notFound(r, name);
      throw err;
    }
  }

  /**
   * Deletes an object. With finalizers, or for a scheduled pod with a grace period, it only
   * gets a deletionTimestamp; the object goes when its finalizers are removed (or the kubelet
   * confirms with a zero grace period). Returns the object and whether it is gone.
   */
  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ object: KubeObject; gone: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const key = this.key(r, namespace, name);
      const kv = await this.store.get(key);
      if (!kv) throw notFound(r, name);
      const cur = this.decode(r, kv);
      if (isPriorityClass(r)) this.priority.checkDelete(r, name);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cur.metadata.uid) throw new ApiError(409, "Conflict", `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
      if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
        throw new ApiError(409, "Conflict", `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
      }
      let grace = 0;
      if (r.group === "" && r.kind === "Pod") {
        const pod = cur as Pod;
        grace = opts.gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
        // Unscheduled or finished pods have nothing to stop: they go at once.
        if (!pod.spec?.nodeName || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") grace = 0;
        if (cur.metadata.deletionTimestamp && cur.metadata.deletionGracePeriodSeconds !== undefined) grace = Math.min(grace, cur.metadata.deletionGracePeriodSeconds);
      }
      const finalizers = [...(cur.metadata.finalizers ?? [])];
      // Foreground and Orphan deletion are finalizers the garbage collector acts on and removes
      // (foregroundDeletion: dependents go first; orphan: dependents lose their ownerReference).
      const policy = policyFinalizer(opts.propagationPolicy);
      if (r.group === "" && r.kind === "Namespace") {
        if (PROTECTED_NAMESPACES.has(name)) throw forbidden(`namespaces ${JSON.stringify(name)} is forbidden: this namespace may not be deleted`, { name, kind: "namespaces" });
        for (const f of (cur.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) finalizers.push(`spec:${f}`);
        if (opts.propagationPolicy === "Orphan") finalizers.push("orphan");
      }
      const addPolicy = policy && !(r.group === "" && r.kind === "Namespace") && !finalizers.includes(policy);
      if (addPolicy) finalizers.push(policy);
      const graceful = finalizers.length > 0 || grace > 0;
      if (opts.dryRun) return { object: cur, gone: !graceful };
      try {
        if (graceful) {
          const next = structuredClone(cur);
          const m = next.metadata;
          if (addPolicy) m.finalizers = [...(m.finalizers ?? []).filter((f) => f !== "orphan" && f !== "foregroundDeletion"), policy!];
          if (!m.deletionTimestamp || (m.deletionGracePeriodSeconds ?? 0) > grace || addPolicy) {
            if (!m.deletionTimestamp || (m.deletionGracePeriodSeconds ?? 0) > grace) {
              m.deletionTimestamp = new Date(Math.floor(Date.now() / 1000) * 1000 + grace * 1000).toISOString().replace(".000Z", "Z");
              m.deletionGracePeriodSeconds = grace;
            }
            if (r.kind === "Namespace" && r.group === "") next.status = { ...((next.status as object) ?? {}), phase: "Terminating" };
            const kv2 = await this.store.update(key, this.encode(next), kv.modRevision);
            const out = this.decode(r, kv2);
            this.hooks.afterWrite?.(r, out, false);
            return { object: out, gone: false };
          }
          return { object: cur, gone: false };
        }
        const res = await this.store.delete(key, kv.modRevision);
        const out = this.decode(r, { value: res.prev.value, modRevision: res.revision });
        await this.afterDelete(r, out);
        return { object: out, gone: true };
      } catch (err) {
        if (err instanceof ConflictError && attempt < 5 && !pre?.resourceVersion) continue;
        if (err instanceof ConflictError) throw conflict(r, name);
        if (err instanceof NotFoundError) throw notFound(r, name);
        throw err;
      }
    }
  }

  private async afterDelete(r: ResourceInfo, obj: KubeObject): Promise<void> {
    if (r.group === "" && r.kind === "Service") await this.releaseServiceIp(obj);
    await this.hooks.afterWrite?.(r, obj, true);
  }

  /** Watches one resource's keys (optionally in one namespace) from a revision. */
  watch(r: ResourceInfo, namespace: string | undefined, fromRevision: number, onEvent: (ev: StoreWatchEvent) => void, onError: (err: Error) => void): Promise<Watch> {
    return this.store.watch(storagePrefix(r, r.namespaced ? namespace : undefined), fromRevision, onEvent, onError);
  }
}

/** The finalizer a deletion's propagationPolicy asks for (Background needs none). */
function policyFinalizer(policy: string | undefined): string | undefined {
  if (policy === undefined || policy === "" || policy === "Background") return undefined;
  if (policy === "Foreground") return "foregroundDeletion";
  if (policy === "Orphan") return "orphan";
  throw new InvalidObjectError("DeleteOptions", "meta.k8s.io", "", [notSupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"])]);
}

/** A CRD is accepted at once: keel has no name conflicts to wait for. */
function crdStatus(obj: KubeObject): void {
  const spec = obj.spec as { names?: Record<string, unknown>; versions?: { name: string; storage?: boolean }[] } | undefined;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");
  const stored = (spec?.versions ?? []).filter((v) => v.storage).map((v) => v.name);
  const prev = (obj.status as { storedVersions?: string[] } | undefined)?.storedVersions ?? [];
  obj.status = {
    acceptedNames: spec?.names ?? {},
    conditions: [
      { type: "NamesAccepted", status: "True", lastTransitionTime: now, reason: "NoConflicts", message: "no conflicts found" },
      { type: "Established", status: "True", lastTransitionTime: now, reason: "InitialNamesAccepted", message: "the initial names have been accepted" },
    ],
    storedVersions: [...new Set([...prev, ...stored])],
  };
}
