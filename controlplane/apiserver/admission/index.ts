// Admission: the steps between decoding a new object and storing it, as kube-apiserver runs
// them. Mutating (before validation): LimitRange defaults into pods. Validating (after
// validation, before the write): LimitRange min/max/ratio, then ResourceQuota.
import type { KubeObject } from "../../../api/meta.js";
import type { Pod } from "../../../api/core.js";
import type { LimitRange } from "../../../api/policy.js";
import type { ResourceInfo } from "../../../api/registry.js";
import { ApiError, qualified } from "../errors.js";
import type { ObjectStore, WriteOptions } from "../object-store.js";
import { applyLimitRangeDefaults, limitRangeViolations } from "./limit-ranger.js";
import { QuotaAdmission } from "./resource-quota.js";
import { KindCache } from "../kind-cache.js";
import type { ResourceQuota } from "../../../api/policy.js";

export { QuotaAdmission, QuotaExceededError } from "./resource-quota.js";
export { applyLimitRangeDefaults, limitRangeViolations, LIMIT_RANGER_ANNOTATION } from "./limit-ranger.js";

/** A pod outside its namespace's LimitRanges: HTTP 403 with every violation, as kube words them. */
export class LimitRangeViolationError extends ApiError {
  constructor(r: ResourceInfo, name: string, readonly violations: string[]) {
    super(403, "Forbidden", `${qualified(r, name)} is forbidden: ${violations.length === 1 ? violations[0] : `[${violations.join(", ")}]`}`, { name, group: r.group, kind: r.plural });
    this.name = "LimitRangeViolationError";
  }
}

const isPod = (r: ResourceInfo) => r.group === "" && r.plural === "pods";

export class Admission {
  private readonly quota: QuotaAdmission;
  // Read from memory on every create (informer-style caches, as kube-apiserver's plugins): two
  // store lists per pod create were a fifth of the server's CPU per create. Made on first use
  // (the ObjectStore that owns this is still being constructed).
  private caches?: { limitRanges: KindCache<LimitRange>; quotas: KindCache<ResourceQuota> };

  constructor(private readonly objects: ObjectStore) {
    this.quota = new QuotaAdmission(objects, (ns) => this.cached().quotas.inNamespace(ns).then((q) => q.length > 0));
  }

  private cached(): NonNullable<Admission["caches"]> {
    return (this.caches ??= {
      limitRanges: new KindCache(this.objects, this.objects.registry.get("", "v1", "limitranges")!),
      quotas: new KindCache(this.objects, this.objects.registry.get("", "v1", "resourcequotas")!),
    });
  }

  private limitRanges(ns: string): Promise<LimitRange[]> {
    return this.cached().limitRanges.inNamespace(ns);
  }

  async close(): Promise<void> {
    await this.caches?.limitRanges.close();
    await this.caches?.quotas.close();
  }

  /** Before validation: a new pod gets its namespace's default requests and limits. */
  async mutate(r: ResourceInfo, obj: KubeObject): Promise<void> {
    const ns = obj.metadata?.namespace;
    if (!isPod(r) || !ns) return;
    const ranges = await this.limitRanges(ns);
    if (ranges.length) applyLimitRangeDefaults(obj as Pod, ranges);
  }

  /** After validation: refuses a pod outside the LimitRanges, then any create past a quota (charging it otherwise). */
  async validate(r: ResourceInfo, obj: KubeObject, opts: WriteOptions): Promise<void> {
    const ns = obj.metadata?.namespace;
    if (!r.namespaced || !ns) return;
    if (isPod(r)) {
      const ranges = await this.limitRanges(ns);
      const violations = ranges.length ? limitRangeViolations(obj as Pod, ranges) : [];
      if (violations.length) throw new LimitRangeViolationError(r, obj.metadata.name ?? "", violations);
    }
    await this.quota.admit(r, obj, opts);
  }
}
