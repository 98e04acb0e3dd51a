// The ResourceQuota controller: keeps each quota's status (hard = spec.hard, used = what the
// namespace's objects really use) true. Admission charges a create to `used` at once; this
// controller recounts from live lists, so deletions, finished pods and creates that failed after
// being charged are released. Pod changes trigger a recount of their namespace's quotas; other
// counted kinds (count/deployments.apps ...) are recounted every resync period.
//
// A recount that would lower `used` is applied only when a second recount, RELEASE_CONFIRM_MS
// later, still finds it lower: admission charges a quota just before it stores the object, so a
// recount can land between the two and miss an object about to exist; dropping its charge then
// would let the next create through over quota. Raises are applied at once (they only make
// admission stricter).
import type { Pod, ResourceList } from "../../api/core.js";
import type { KubeObject } from "../../api/meta.js";
import { namespaceUsage, type ResourceQuota } from "../../api/policy.js";
import { Quantity } from "../../api/quantity.js";
import { R, isConflict, isNotFound, splitKey, type Resource } from "../kit/index.js";
import { Controller, stableJson, type ControllerContext } from "./context.js";

/** How often a quota is recounted without an event (kube's --resource-quota-sync-period is 5 min). */
export const QUOTA_RESYNC_MS = 30_000;
export const RELEASE_CONFIRM_MS = 1_000;

export const RESOURCE_QUOTAS: Resource = { group: "", version: "v1", plural: "resourcequotas", kind: "ResourceQuota", namespaced: true };

/** Same quantities, whatever their spelling ("1" and "1000m"). */
function sameList(a: ResourceList | undefined, b: ResourceList): boolean {
  const ka = Object.keys(a ?? {}), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return kb.every((k) => a?.[k] !== undefined && Quantity.parse(String(a[k])).cmp(Quantity.parse(String(b[k]))) === 0);
}

export class ResourceQuotaController extends Controller {
  private readonly quotas = this.ctx.informers.get<ResourceQuota>(RESOURCE_QUOTAS);
  private readonly pods = this.ctx.informers.get<Pod>(R.pods);
  private readonly resyncMs = QUOTA_RESYNC_MS;
  /** group → preferred version, from discovery (core and the built-in groups need no look-up). */
  private readonly versions = new Map<string, string>([["", "v1"], ["apps", "v1"], ["batch", "v1"]]);
  /** Quotas whose recount came out lower than status.used, and since when. */
  private readonly releaseSeen = new Map<string, number>();

  constructor(ctx: ControllerContext) { super("resourcequota", ctx); }

  register(): void {
    // Status-only changes are admission's charges (or our own writes): no recount for those.
    this.quotas.addEventHandler({
      add: (q) => this.enqueue(q), update: (a, b) => { if (stableJson(a.spec) !== stableJson(b.spec)) this.enqueue(b); },
      delete: (q) => this.releaseSeen.delete(`${q.metadata.namespace}/${q.metadata.name}`),
    });
    const touch = (p: Pod) => { for (const q of this.quotas.list()) if (q.metadata.namespace === p.metadata.namespace) this.enqueue(q); };
    this.pods.addEventHandler({
      add: touch, delete: touch,
      update: (a, b) => { if (a.status?.phase !== b.status?.phase || Boolean(a.metadata.deletionTimestamp) !== Boolean(b.metadata.deletionTimestamp)) touch(b); },
    });
  }

  private async versionOf(group: string): Promise<string | undefined> {
    if (!this.versions.has(group)) {
      try {
        const g = await this.ctx.client.request<{ preferredVersion?: { version: string } }>("GET", `/apis/${encodeURIComponent(group)}`);
        if (g.preferredVersion) this.versions.set(group, g.preferredVersion.version);
      } catch (err) { if (!isNotFound(err)) throw err; }
    }
    return this.versions.get(group);
  }

  async reconcile(key: string): Promise<void> {
    const cached = this.quotas.get(key);
    if (!cached) return;
    // Kinds without events here (count/...) drift: look again every resync period.
    this.queue.addAfter(key, this.resyncMs);
    const { namespace } = splitKey(key);
    const hard = cached.spec?.hard ?? {};
    const used = await namespaceUsage(Object.keys(hard), cached.spec?.scopes, async (group, plural) => {
      const version = await this.versionOf(group);
      if (!version) return [];
      try {
        return (await this.ctx.client.listAll<KubeObject>({ group, version, plural, kind: "", namespaced: true }, namespace)).items;
      } catch (err) { if (isNotFound(err)) return []; throw err; }
    });
    if (sameList(cached.status?.hard, hard) && sameList(cached.status?.used, used)) { this.releaseSeen.delete(key); return; }
    const lowers = Object.keys(used).some((k) => cached.status?.used?.[k] !== undefined && Quantity.parse(used[k]!).cmp(Quantity.parse(String(cached.status.used[k]))) < 0);
    if (lowers) {
      const since = this.releaseSeen.get(key);
      if (since === undefined || Date.now() - since < RELEASE_CONFIRM_MS) {
        if (since === undefined) this.releaseSeen.set(key, Date.now());
        this.queue.addAfter(key, RELEASE_CONFIRM_MS);
        return;
      }
    }
    this.releaseSeen.delete(key);
    try {
      // The cached resourceVersion makes this a compare-and-swap: a charge made by admission
      // since we read the quota wins, and this recount runs again.
      await this.ctx.client.updateStatus(RESOURCE_QUOTAS, { ...cached, status: { hard: { ...hard }, used } });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) { this.queue.addAfter(key, 50); return; }
      throw err;
    }
  }
}
