// The LimitRanger admission step (kube's plugin/pkg/admission/limitranger), pure: a new pod
// gets the namespace's default requests and limits where its containers state none, then is
// checked against each LimitRange's min, max and maxLimitRequestRatio, per Container and per Pod.
import type { Container, Pod, ResourceList } from "../../../api/core.js";
import type { LimitRange, LimitRangeItem } from "../../../api/policy.js";
import { podResource } from "../../../api/policy.js";
import { quantityOrUndefined } from "../../../api/quantity.js";

export const LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger";

const q = quantityOrUndefined;
const allContainers = (pod: Pod): Container[] => [
  ...(Array.isArray(pod.spec?.containers) ? pod.spec.containers : []),
  ...(Array.isArray(pod.spec?.initContainers) ? pod.spec.initContainers : []),
].filter((c) => c && typeof c === "object");

/** Fills unset requests/limits from Container items' defaultRequest/default; records what it set in an annotation. */
export function applyLimitRangeDefaults(pod: Pod, ranges: LimitRange[]): void {
  const notes: string[] = [];
  for (const lr of ranges) {
    for (const item of lr.spec?.limits ?? []) {
      if (item.type !== "Container") continue;
      for (const c of allContainers(pod)) {
        const setReq: string[] = [], setLim: string[] = [];
        c.resources ??= {};
        for (const [k, v] of Object.entries(item.default ?? {})) {
          if (c.resources.limits?.[k] === undefined) { (c.resources.limits ??= {})[k] = v; setLim.push(k); }
        }
        for (const [k, v] of Object.entries(item.defaultRequest ?? {})) {
          // A stated limit with no request means request = limit (kube's pod defaulting does it first).
          if (c.resources.requests?.[k] === undefined) {
            const lim = c.resources.limits?.[k];
            (c.resources.requests ??= {})[k] = lim !== undefined && !setLim.includes(k) ? lim : v;
            setReq.push(k);
          }
        }
        if (setReq.length) notes.push(`${setReq.join(", ")} request for ${c.name ? `container ${c.name}` : "a container"}`);
        if (setLim.length) notes.push(`${setLim.join(", ")} limit for ${c.name ? `container ${c.name}` : "a container"}`);
      }
    }
  }
  if (notes.length) pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}` };
}

function checkItem(item: LimitRangeItem, type: string, requests: ResourceList, limits: ResourceList, errs: string[]): void {
  for (const [k, v] of Object.entries(item.min ?? {})) {
    const min = q(v)!, req = q(requests[k]), lim = q(limits[k]);
    if (!req) errs.push(`minimum ${k} usage per ${type} is ${min}.  No request is specified`);
    else if (req.cmp(min) < 0) errs.push(`minimum ${k} usage per ${type} is ${min}, but request is ${req}`);
    else if (lim && lim.cmp(min) < 0) errs.push(`minimum ${k} usage per ${type} is ${min}, but limit is ${lim}`);
  }
  for (const [k, v] of Object.entries(item.max ?? {})) {
    const max = q(v)!, req = q(requests[k]), lim = q(limits[k]);
    if (!lim) errs.push(`maximum ${k} usage per ${type} is ${max}.  No limit is specified`);
    else if (lim.cmp(max) > 0) errs.push(`maximum ${k} usage per ${type} is ${max}, but limit is ${lim}`);
    else if (req && req.cmp(max) > 0) errs.push(`maximum ${k} usage per ${type} is ${max}, but request is ${req}`);
  }
  for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const ratio = q(v)!, req = q(requests[k]), lim = q(limits[k]);
    if (!req || req.isZero()) { errs.push(`${k} max limit to request ratio per ${type} is ${ratio}, but no request is specified or request is 0`); continue; }
    if (!lim || lim.isZero()) { errs.push(`${k} max limit to request ratio per ${type} is ${ratio}, but no limit is specified or limit is 0`); continue; }
    const observed = Number(lim.nanos) / Number(req.nanos);
    if (observed * 1e9 > Number(ratio.nanos)) errs.push(`${k} max limit to request ratio per ${type} is ${ratio}, but provided ratio is ${observed.toFixed(6)}`);
  }
}

/** The ways a pod breaks its namespace's LimitRanges (empty when it fits), in kube's words. */
export function limitRangeViolations(pod: Pod, ranges: LimitRange[]): string[] {
  const errs: string[] = [];
  for (const lr of ranges) {
    for (const item of lr.spec?.limits ?? []) {
      if (item.type === "Container") {
        for (const c of allContainers(pod)) checkItem(item, "Container", c.resources?.requests ?? {}, c.resources?.limits ?? {}, errs);
      } else if (item.type === "Pod") {
        const names = new Set([...Object.keys(item.min ?? {}), ...Object.keys(item.max ?? {}), ...Object.keys(item.maxLimitRequestRatio ?? {})]);
        const requests: ResourceList = {}, limits: ResourceList = {};
        for (const k of names) {
          // A pod total exists only when every container states it.
          const cs = allContainers(pod);
          const r = podResource(pod, "requests", k), l = podResource(pod, "limits", k);
          if (r && cs.every((c) => c.resources?.requests?.[k] !== undefined)) requests[k] = r.toString();
          if (l && cs.every((c) => c.resources?.limits?.[k] !== undefined)) limits[k] = l.toString();
        }
        checkItem(item, "Pod", requests, limits, errs);
      }
    }
  }
  return errs;
}
