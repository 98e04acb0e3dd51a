// The ResourceQuota admission step (kube's plugin/pkg/admission/resourcequota): a create that
// would take a namespace past a quota's `hard` is refused with 403 and kube's message; one that
// fits is charged to the quota's status.used at once (compare-and-swap on the quota), so the
// next create sees it before the quota controller has recounted. Creates in one namespace are
// checked and charged one at a time, so concurrent creates are never counted against the same
// `used`; the controller later corrects any charge whose create then failed.
import type { KubeObject } from "../../../api/meta.js";
import type { Pod, ResourceList } from "../../../api/core.js";
import type { ResourceInfo } from "../../../api/registry.js";
import { addQuantity, missingPodResources, namespaceUsage, quotaMatchesScopes, quotaUsage, type ResourceQuota } from "../../../api/policy.js";
import { Quantity } from "../../../api/quantity.js";
import { ApiError, qualified } from "../errors.js";
import type { ObjectStore, WriteOptions } from "../object-store.js";
import { KeyedSerializer } from "./namespace-lock.js";

/** A create refused by a quota: kube's `exceeded quota` / `failed quota` message, HTTP 403. */
export class QuotaExceededError extends ApiError {
  constructor(r: ResourceInfo, name: string, readonly quota: string, message: string) {
    super(403, "Forbidden", `${qualified(r, name)} is forbidden: ${message}`, { name, group: r.group, kind: r.plural });
    this.name = "QuotaExceededError";
  }
}

/** `a=1,b=2` sorted by name, as kube's quota.PrettyPrint. */
function pretty(m: Record<string, string>): string {
  return Object.keys(m).sort().map((k) => `${k}=${m[k]}`).join(",");
}

const MAX_CAS_RETRIES = 10;

export class QuotaAdmission {
  private readonly serial = new KeyedSerializer();
  /** `hasQuota(ns)`: whether the namespace has any ResourceQuota (a cached look: most have none). */
  constructor(private readonly objects: ObjectStore, private readonly hasQuota: (ns: string) => Promise<boolean>) {}

  private get quotaResource(): ResourceInfo { return this.objects.registry.get("", "v1", "resourcequotas")!; }

  /** Refuses (throws QuotaExceededError) or charges every quota of the namespace that covers obj. */
  async admit(r: ResourceInfo, obj: KubeObject, opts: WriteOptions): Promise<void> {
    const ns = obj.metadata.namespace;
    if (!r.namespaced || !ns) return;
    const usage = quotaUsage(r.group, r.plural, obj);
    if (!usage.size) return;
    // The quick look outside the lock: most namespaces have no quota at all. The charge itself
    // reads the quotas from the store.
    if (!(await this.hasQuota(ns))) return;
    await this.serial.run(ns, async () => {
      const charged = new Set<string>();
      for (let attempt = 0; ; attempt++) {
        try { await this.checkAndCharge(r, obj, usage, ns, opts, charged); return; } catch (err) {
          // Another writer (the quota controller) changed a quota meanwhile: look again.
          if (err instanceof ApiError && err.reason === "Conflict" && attempt < MAX_CAS_RETRIES) continue;
          throw err;
        }
      }
    });
  }

  /** `charged`: quotas already charged by an earlier attempt of this same admission (kept across retries). */
  private async checkAndCharge(r: ResourceInfo, obj: KubeObject, usage: Map<string, Quantity>, ns: string, opts: WriteOptions, charged: Set<string>): Promise<void> {
    const quotas = (await this.objects.list(this.quotaResource, ns)).items as ResourceQuota[];
    const charges: { quota: ResourceQuota; used: ResourceList }[] = [];
    for (const quota of quotas.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
      const hard = quota.spec?.hard ?? {};
      const tracked = Object.keys(hard).filter((k) => usage.has(k));
      const podCompute = r.group === "" && r.plural === "pods" && Object.keys(hard).some((k) => /^(requests\.|limits\.)?(cpu|memory|ephemeral-storage)$/.test(k));
      if ((!tracked.length && !podCompute) || charged.has(quota.metadata.uid!) || !quotaMatchesScopes(quota.spec?.scopes, r.group, r.plural, obj)) continue;
      if (r.group === "" && r.plural === "pods") {
        const missing = missingPodResources(obj as Pod, Object.keys(hard));
        if (missing.length) throw new QuotaExceededError(r, obj.metadata.name ?? "", quota.metadata.name!, `failed quota: ${quota.metadata.name}: must specify ${missing.join("; ")}`);
      }
      // A quota the controller has not counted yet is counted here, from the store.
      let used = quota.status?.used ?? {};
      if (Object.keys(hard).some((k) => used[k] === undefined)) {
        used = { ...used, ...(await namespaceUsage(Object.keys(hard), quota.spec?.scopes, async (g, p) => {
          const res = this.objects.registry.all().find((x) => x.group === g && x.plural === p && x.namespaced && !x.review);
          return res ? (await this.objects.list(res, ns)).items : [];
        })) };
      }
      const requested: Record<string, string> = {}, failedUsed: Record<string, string> = {}, failedHard: Record<string, string> = {};
      const next: ResourceList = { ...used };
      for (const k of tracked) {
        const cur = Quantity.parse(String(used[k] ?? "0"));
        const sum = addQuantity(cur, usage.get(k)!);
        next[k] = sum.toString();
        if (sum.cmp(Quantity.parse(String(hard[k]))) > 0) {
          requested[k] = usage.get(k)!.toString(); failedUsed[k] = cur.toString(); failedHard[k] = String(hard[k]);
        }
      }
      if (Object.keys(requested).length) {
        throw new QuotaExceededError(r, obj.metadata.name ?? "", quota.metadata.name!,
          `exceeded quota: ${quota.metadata.name}, requested: ${pretty(requested)}, used: ${pretty(failedUsed)}, limited: ${pretty(failedHard)}`);
      }
      charges.push({ quota, used: next });
    }
    if (opts.dryRun) return;
    for (const { quota, used } of charges) {
      const body = structuredClone(quota);
      body.status = { hard: { ...(quota.spec?.hard ?? {}) }, used };
      // resourceVersion is kept: the write fails with Conflict if the quota changed since it was read.
      await this.objects.update(this.quotaResource, ns, quota.metadata.name!, body, { subresource: "status" });
      charged.add(quota.metadata.uid!);
    }
  }
}
