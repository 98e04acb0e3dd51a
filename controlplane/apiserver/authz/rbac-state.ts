// The RBAC objects at one moment, indexed for evaluation, and the evaluation itself (kube's
// plugin/pkg/auth/authorizer/rbac): the ClusterRoleBindings that name the user, then the
// RoleBindings of the request's namespace, each contributing its role's rules.
import type { ClusterRole, PolicyRule, Role, RoleBinding, Subject } from "../../../api/rbac.js";
import { matchesLabels, selectorFromLabelSelector } from "../../../api/selectors.js";
import type { User } from "../auth.js";
import type { Attributes } from "./attributes.js";
import { ruleAllows } from "./rules.js";

export const RBAC_PREFIX = "/registry/rbac.authorization.k8s.io/";

/** `system:serviceaccount:NS:NAME` → { namespace, name }. */
export function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return m ? { namespace: m[1], name: m[2] } : undefined;
}

export function subjectMatches(s: Subject, user: User, bindingNamespace: string): boolean {
  switch (s.kind) {
    case "User": return s.name === user.name;
    case "Group": return user.groups.includes(s.name);
    case "ServiceAccount": {
      const sa = serviceAccountOf(user.name);
      return !!sa && sa.name === s.name && sa.namespace === (s.namespace || bindingNamespace);
    }
    default: return false;
  }
}

export class RbacState {
  readonly roles = new Map<string, Role>(); // ns/name
  readonly clusterRoles = new Map<string, ClusterRole>();
  /** By namespace, then name: a request looks at its own namespace's bindings only. */
  readonly roleBindings = new Map<string, Map<string, RoleBinding>>();
  readonly clusterRoleBindings = new Map<string, RoleBinding>();
  private aggregated = new Map<string, PolicyRule[]>();

  /** Applies one stored object (or its deletion) by its store key. */
  apply(key: string, value: string | undefined): void {
    const rest = key.slice(RBAC_PREFIX.length).split("/");
    const plural = rest[0];
    const id = rest.slice(1).join("/");
    if (plural === "rolebindings") {
      const [ns = "", name = ""] = [rest[1], rest.slice(2).join("/")];
      const inNs = this.roleBindings.get(ns) ?? new Map<string, RoleBinding>();
      if (value === undefined) inNs.delete(name);
      else inNs.set(name, JSON.parse(value) as RoleBinding);
      if (inNs.size) this.roleBindings.set(ns, inNs);
      else this.roleBindings.delete(ns);
      return;
    }
    const map = plural === "roles" ? this.roles : plural === "clusterroles" ? this.clusterRoles
      : plural === "clusterrolebindings" ? this.clusterRoleBindings : undefined;
    if (!map) return;
    if (value === undefined) map.delete(id);
    else (map as Map<string, unknown>).set(id, JSON.parse(value));
    if (plural === "clusterroles") this.aggregated.clear();
  }

  /** A ClusterRole's rules, with those of the ClusterRoles its aggregationRule selects. */
  clusterRoleRules(name: string, seen = new Set<string>()): PolicyRule[] {
    const cached = this.aggregated.get(name);
    if (cached) return cached;
    const cr = this.clusterRoles.get(name);
    if (!cr) return [];
    const rules = [...(cr.rules ?? [])];
    const selectors = (cr.aggregationRule?.clusterRoleSelectors ?? []).map((s) => selectorFromLabelSelector(s));
    if (selectors.length) {
      seen.add(name);
      for (const [other, o] of this.clusterRoles) {
        if (seen.has(other)) continue;
        if (selectors.some((s) => matchesLabels(s, o.metadata.labels ?? {}))) rules.push(...this.clusterRoleRules(other, seen));
      }
    }
    if (seen.size <= 1) this.aggregated.set(name, rules);
    return rules;
  }

  private bindingRules(b: RoleBinding, namespace: string): PolicyRule[] {
    if (b.roleRef?.kind === "ClusterRole") return this.clusterRoleRules(b.roleRef.name);
    if (b.roleRef?.kind === "Role") return this.roles.get(`${namespace}/${b.roleRef.name}`)?.rules ?? [];
    return [];
  }

  /** Every rule that applies to the user in the namespace ("" for cluster-wide only). */
  rulesFor(user: User, namespace: string): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const b of this.clusterRoleBindings.values()) {
      if ((b.subjects ?? []).some((s) => subjectMatches(s, user, ""))) out.push(...this.bindingRules(b, ""));
    }
    if (namespace) {
      for (const b of this.roleBindings.get(namespace)?.values() ?? []) {
        if ((b.subjects ?? []).some((s) => subjectMatches(s, user, namespace))) out.push(...this.bindingRules(b, namespace));
      }
    }
    return out;
  }

  /** Whether some binding grants the request; the first match wins (as in kube). */
  allows(a: Attributes): boolean {
    for (const b of this.clusterRoleBindings.values()) {
      if (!(b.subjects ?? []).some((s) => subjectMatches(s, a.user, ""))) continue;
      if (this.bindingRules(b, "").some((r) => ruleAllows(a, r))) return true;
    }
    if (!a.namespace) return false;
    for (const b of this.roleBindings.get(a.namespace)?.values() ?? []) {
      if (!(b.subjects ?? []).some((s) => subjectMatches(s, a.user, a.namespace))) continue;
      if (this.bindingRules(b, a.namespace).some((r) => ruleAllows(a, r))) return true;
    }
    return false;
  }
}
