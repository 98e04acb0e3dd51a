// The selector that kube-scheduler's system default spreading counts a pod's peers with
// (DefaultSelector, pkg/scheduler/framework/plugins/helper/spread.go): the selectors of every
// Service in the pod's namespace that selects it, merged, and the selector of the pod's
// controller when that is a ReplicationController, ReplicaSet or StatefulSet known here. A pod
// with neither (a Job's, a bare pod) gets no default spreading.
// The adapter feeds the index from informers. Services are indexed by one label pair of their
// selector, so finding the Services that select a pod is a look-up per pod label rather than a
// pass over the namespace's Services; controllers are found by namespace and name.
import type { PodInfo } from "./pod-info.js";
import { compileLabelSelector, type LabelMatcher } from "./selectors.js";
import type { LabelSelectorLike, LabelsLike, ServiceLike, WorkloadLike } from "./types.js";

export type ControllerKind = "ReplicaSet" | "StatefulSet" | "ReplicationController";

/** The apiVersion a pod's controller reference must carry for each kind (kube matches the group-version-kind). */
const CONTROLLER_API: Readonly<Record<ControllerKind, string>> = { ReplicaSet: "apps/v1", StatefulSet: "apps/v1", ReplicationController: "v1" };

export interface DefaultSelector {
  /** Identifies the selector (without the namespace): equal keys select the same pods. */
  readonly key: string;
  readonly matches: LabelMatcher;
  /** One label pair the selector requires, if any. */
  readonly requiredLabel: readonly [string, string] | undefined;
}

const MAX_COMPILED = 1024;

export class WorkloadIndex {
  /** "ns/name" → the Service's selector (only non-empty ones: an empty selector adds nothing to the merge). */
  private readonly services = new Map<string, { ns: string; selector: Readonly<Record<string, string>>; pair: string }>();
  /** "ns\0key\0value" → keys of the Services whose selector's first label pair that is. */
  private readonly byPair = new Map<string, Set<string>>();
  /** "Kind/ns/name" → the controller's selector as a LabelSelector. */
  private readonly controllers = new Map<string, LabelSelectorLike>();
  /** Compiled selectors by key, least recently used first. */
  private readonly compiled = new Map<string, LabelMatcher>();

  get serviceCount(): number { return this.services.size; }
  get controllerCount(): number { return this.controllers.size; }

  setService(svc: ServiceLike): void {
    this.deleteService(svc);
    const sel = svc.spec?.selector;
    const entries = Object.entries(sel ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return;
    const ns = svc.metadata?.namespace ?? "default";
    const key = `${ns}/${svc.metadata?.name ?? ""}`;
    const pair = pairSlot(ns, entries[0]![0], entries[0]![1]);
    this.services.set(key, { ns, selector: Object.fromEntries(entries), pair });
    let set = this.byPair.get(pair);
    if (!set) this.byPair.set(pair, (set = new Set()));
    set.add(key);
  }

  deleteService(svc: ServiceLike): void {
    const key = `${svc.metadata?.namespace ?? "default"}/${svc.metadata?.name ?? ""}`;
    const old = this.services.get(key);
    if (!old) return;
    this.services.delete(key);
    const set = this.byPair.get(old.pair);
    set?.delete(key);
    if (set?.size === 0) this.byPair.delete(old.pair);
  }

  setController(kind: ControllerKind, obj: WorkloadLike): void {
    const key = `${kind}/${obj.metadata?.namespace ?? "default"}/${obj.metadata?.name ?? ""}`;
    const sel = obj.spec?.selector;
    if (!sel) { this.controllers.delete(key); return; }
    // A ReplicationController's selector is a plain label map; the others' a LabelSelector.
    this.controllers.set(key, kind === "ReplicationController" ? { matchLabels: sel as LabelsLike } : (sel as LabelSelectorLike));
  }

  deleteController(kind: ControllerKind, obj: WorkloadLike): void {
    this.controllers.delete(`${kind}/${obj.metadata?.namespace ?? "default"}/${obj.metadata?.name ?? ""}`);
  }

  /** The pod's default spreading selector, or null when nothing known selects or controls it. */
  selectorFor(p: PodInfo): DefaultSelector | null {
    const labels: Record<string, string> = {};
    let any = false;
    if (this.byPair.size) {
      for (const [k, v] of Object.entries(p.labels)) {
        const keys = this.byPair.get(pairSlot(p.namespace, k, v));
        if (!keys) continue;
        for (const key of keys) {
          const svc = this.services.get(key)!;
          if (!selects(svc.selector, p.labels)) continue;
          // Services selecting the same pod cannot disagree on a label: merging is safe.
          Object.assign(labels, svc.selector);
          any = true;
        }
      }
    }
    let owned: LabelSelectorLike | undefined;
    const ref = p.pod.metadata?.ownerReferences?.find((r) => r.controller === true);
    if (ref && ref.kind && ref.kind in CONTROLLER_API && ref.apiVersion === CONTROLLER_API[ref.kind as ControllerKind]) {
      owned = this.controllers.get(`${ref.kind}/${p.namespace}/${ref.name ?? ""}`);
    }
    const ownLabels = Object.entries(owned?.matchLabels ?? {});
    const ownExprs = owned?.matchExpressions ?? [];
    if (!any && ownLabels.length === 0 && ownExprs.length === 0) return null;
    for (const [k, v] of ownLabels) labels[k] = v;
    const merged: LabelSelectorLike = { matchLabels: sortedLabels(labels), matchExpressions: ownExprs };
    const key = JSON.stringify(merged);
    let matches = this.compiled.get(key);
    if (matches) this.compiled.delete(key); // re-inserted below: Map order is the LRU order
    else {
      matches = compileLabelSelector(merged, `default spreading selector of ${p.key}`);
      if (this.compiled.size >= MAX_COMPILED) this.compiled.delete(this.compiled.keys().next().value!);
    }
    this.compiled.set(key, matches);
    return { key, matches, requiredLabel: Object.entries(merged.matchLabels!)[0] };
  }
}


function selects(selector: Readonly<Record<string, string>>, labels: LabelsLike): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

function sortedLabels(l: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The key of one namespace's label pair (`ns\0key\0value`): the default selector's index and the cache's counts use it. */
export const pairSlot = (ns: string, k: string, v: string): string => `${ns}\0${k}\0${v}`;
