// Whether one RBAC PolicyRule allows a request (kube's pkg/apis/rbac/v1/evaluation_helpers.go):
// "*" matches every verb, group, resource; "*/scale" every resource's scale subresource;
// resourceNames, when set, limit the rule to those names; nonResourceURLs ending in "*" are
// prefixes.
import type { PolicyRule } from "../../../api/rbac.js";
import type { Attributes } from "./attributes.js";

const has = (list: string[] | undefined, v: string): boolean => !!list && (list.includes("*") || list.includes(v));

export function verbMatches(r: PolicyRule, verb: string): boolean {
  return has(r.verbs, verb);
}

export function apiGroupMatches(r: PolicyRule, group: string): boolean {
  return has(r.apiGroups, group);
}

export function resourceMatches(r: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const res of r.resources ?? []) {
    if (res === "*" || res === combined) return true;
    // "*/status" allows the status subresource of any resource.
    if (subresource && res.startsWith("*/") && res.slice(2) === subresource) return true;
  }
  return false;
}

export function resourceNameMatches(r: PolicyRule, name: string): boolean {
  const names = r.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

export function nonResourceURLMatches(r: PolicyRule, path: string): boolean {
  for (const u of r.nonResourceURLs ?? []) {
    if (u === "*" || u === path) return true;
    if (u.endsWith("*") && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(a: Attributes, r: PolicyRule): boolean {
  if (!verbMatches(r, a.verb)) return false;
  if (!a.isResourceRequest) return nonResourceURLMatches(r, a.path);
  return apiGroupMatches(r, a.apiGroup) && resourceMatches(r, a.resource, a.subresource) && resourceNameMatches(r, a.name);
}

export function rulesAllow(a: Attributes, rules: readonly PolicyRule[]): boolean {
  return rules.some((r) => ruleAllows(a, r));
}
