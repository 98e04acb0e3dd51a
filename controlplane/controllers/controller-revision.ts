// ControllerRevisions for DaemonSets and StatefulSets (kube's controller/history): one immutable
// snapshot per distinct pod template, named OWNER-HASH, labelled with the owner's template
// labels plus controller-revision-hash, holding as `data` the strategic merge patch that puts
// the template back ({"spec":{"template":{…,"$patch":"replace"}}}) — which is exactly what
// `kubectl rollout undo` sends. A template that returns to an earlier revision gets that
// revision renumbered to the newest rather than a duplicate; old revisions no live pod uses are
// pruned to revisionHistoryLimit.
import type { KubeObject } from "../../api/meta.js";
import type { Pod, PodTemplateSpec } from "../../api/core.js";
import type { ControllerRevision } from "../../api/policy.js";
import { isAlreadyExists, isConflict, isNotFound, type Informer, type KubeClient, type Resource } from "../kit/index.js";
import { controllerOf, shortHash, stableJson } from "./context.js";

export const CONTROLLER_REVISIONS: Resource = { group: "apps", version: "v1", plural: "controllerrevisions", kind: "ControllerRevision", namespaced: true };
export const REVISION_HASH_LABEL = "controller-revision-hash";
const DEFAULT_HISTORY_LIMIT = 10;

/** The hash a template's pods are labelled with (and its revision is named after). */
export function templateHash(template: PodTemplateSpec | undefined): string {
  return shortHash(stableJson(template));
}

/** The patch that restores template: what kubectl rollout undo applies. */
export function revisionData(template: PodTemplateSpec | undefined): unknown {
  return { spec: { template: { ...structuredClone(template ?? {}), $patch: "replace" } } };
}

type Owner = KubeObject & { spec?: { template?: PodTemplateSpec; revisionHistoryLimit?: number } };

export class RevisionHistory {
  constructor(
    private readonly client: KubeClient,
    private readonly revisions: Informer<ControllerRevision>,
    private readonly ownerKind: string,
  ) {}

  /** The owner's revisions, oldest first. */
  list(owner: KubeObject): ControllerRevision[] {
    return this.revisions.byIndex("owner", owner.metadata.uid!)
      .filter((r) => controllerOf(r)?.uid === owner.metadata.uid)
      .sort((a, b) => a.revision - b.revision);
  }

  /**
   * Makes sure the owner's current template has a revision, numbered highest; prunes old ones
   * no pod in `pods` still runs. Returns the current revision's name.
   */
  async sync(owner: Owner, hash: string, pods: Pod[]): Promise<string> {
    const ns = owner.metadata.namespace;
    const name = `${owner.metadata.name}-${hash}`;
    const all = this.list(owner);
    const max = all.reduce((m, r) => Math.max(m, r.revision), 0);
    const current = all.find((r) => r.metadata.name === name);
    if (current) {
      if (current.revision < max) {
        // Rolled back to an earlier template: that revision becomes the newest.
        try { await this.client.patch(CONTROLLER_REVISIONS, ns, name, { revision: max + 1 }); } catch (err) { if (!isNotFound(err) && !isConflict(err)) throw err; }
      }
    } else {
      const rev: ControllerRevision = {
        metadata: {
          name, namespace: ns,
          labels: { ...(owner.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
          ...(owner.metadata.annotations ? { annotations: withoutLastApplied(owner.metadata.annotations) } : {}),
          ownerReferences: [{ apiVersion: "apps/v1", kind: this.ownerKind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        data: revisionData(owner.spec?.template),
        revision: max + 1,
      };
      try { await this.client.create(CONTROLLER_REVISIONS, ns, rev); } catch (err) {
        // Our cache has not seen the one we made on an earlier pass.
        if (!isAlreadyExists(err)) throw err;
      }
    }
    await this.prune(owner, name, pods);
    return name;
  }

  private async prune(owner: Owner, currentName: string, pods: Pod[]): Promise<void> {
    const limit = owner.spec?.revisionHistoryLimit ?? DEFAULT_HISTORY_LIMIT;
    const live = new Set(pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => `${owner.metadata.name}-${p.metadata.labels?.[REVISION_HASH_LABEL]}`));
    const old = this.list(owner).filter((r) => r.metadata.name !== currentName && !live.has(r.metadata.name!));
    for (const r of old.slice(0, Math.max(0, old.length - limit))) await this.remove(r);
  }

  /** Deletes every revision of an owner that is gone (the garbage collector does not watch revisions). */
  async removeAll(owner: KubeObject): Promise<void> {
    for (const r of this.list(owner)) await this.remove(r);
  }

  private async remove(r: ControllerRevision): Promise<void> {
    try { await this.client.delete(CONTROLLER_REVISIONS, r.metadata.namespace, r.metadata.name!, { preconditions: { uid: r.metadata.uid } }); } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
}

/** Revisions keep the owner's annotations (kubernetes.io/change-cause shows in rollout history), not its applied copy. */
function withoutLastApplied(a: Record<string, string>): Record<string, string> {
  const { "kubectl.kubernetes.io/last-applied-configuration": _drop, ...rest } = a;
  return rest;
}
