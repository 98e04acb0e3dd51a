// RBAC's escalation prevention (kube's pkg/registry/rbac/validation): a user may write a Role or
// ClusterRole only with rules they hold themselves (or with the `escalate` verb on it), and a
// RoleBinding or ClusterRoleBinding only to a role whose rules they hold (or with the `bind`
// verb on it). Without this, anyone allowed to write bindings could grant themselves anything.
import type { KubeObject } from "../../../api/meta.js";
import { RBAC_GROUP, type ClusterRole, type PolicyRule, type RoleBinding } from "../../../api/rbac.js";
import type { User } from "../auth.js";
import { forbiddenObject, type ApiError } from "../errors.js";
import type { Attributes } from "./attributes.js";
import type { RbacState } from "./rbac-state.js";
import { apiGroupMatches, nonResourceURLMatches, resourceMatches, resourceNameMatches, verbMatches } from "./rules.js";

const RBAC_KINDS = new Set(["roles", "clusterroles", "rolebindings", "clusterrolebindings"]);

/** Writes whose result must be checked for escalation. */
export function isRbacWrite(a: Attributes): boolean {
  return a.isResourceRequest && a.apiGroup === RBAC_GROUP && RBAC_KINDS.has(a.resource) && !a.subresource && ["create", "update", "patch"].includes(a.verb);
}

interface Atom { verb: string; group?: string; resource?: string; name?: string; url?: string }

/** A rule as its single (verb, group, resource, name) or (verb, url) pieces. */
function breakdown(r: PolicyRule): Atom[] {
  const out: Atom[] = [];
  for (const verb of r.verbs ?? []) {
    if (r.nonResourceURLs?.length) { for (const url of r.nonResourceURLs) out.push({ verb, url }); continue; }
    for (const group of r.apiGroups ?? []) {
      for (const resource of r.resources ?? []) {
        if (r.resourceNames?.length) for (const name of r.resourceNames) out.push({ verb, group, resource, name });
        else out.push({ verb, group, resource });
      }
    }
  }
  return out;
}

/** Whether the owner's rule grants everything the piece does (kube's ruleCovers), by the same matching as authorization. */
function covers(owner: PolicyRule, a: Atom): boolean {
  if (!verbMatches(owner, a.verb)) return false;
  if (a.url !== undefined) return nonResourceURLMatches(owner, a.url);
  const [resource, subresource = ""] = splitResource(a.resource!);
  return apiGroupMatches(owner, a.group!) && resourceMatches(owner, resource, subresource) && resourceNameMatches(owner, a.name ?? "");
}

/** "pods/log" → ["pods", "log"]; "pods" → ["pods"]. */
function splitResource(r: string): [string, string?] {
  const slash = r.indexOf("/");
  return slash > 0 ? [r.slice(0, slash), r.slice(slash + 1)] : [r];
}

function uncovered(owner: PolicyRule[], servant: PolicyRule[]): Atom[] {
  return servant.flatMap(breakdown).filter((a) => !owner.some((o) => covers(o, a)));
}

function describe(a: Atom): string {
  if (a.url !== undefined) return `{NonResourceURLs:[${JSON.stringify(a.url)}], Verbs:[${JSON.stringify(a.verb)}]}`;
  return `{APIGroups:[${JSON.stringify(a.group)}], Resources:[${JSON.stringify(a.resource)}]${a.name !== undefined ? `, ResourceNames:[${JSON.stringify(a.name)}]` : ""}, Verbs:[${JSON.stringify(a.verb)}]}`;
}

export interface EscalationDeps {
  /** The RBAC objects now (read fresh: a write just made must count). */
  state: RbacState;
  /** Whether the user may do `verb` on the role itself (bind, escalate). */
  allowed(a: Attributes): Promise<boolean>;
}

/**
 * Checks the object a write would leave (`obj`: the body of a create or update, the patched
 * object of a patch). Returns the 403 to send, or undefined.
 */
export async function checkEscalation(deps: EscalationDeps, a: Attributes, obj: KubeObject): Promise<ApiError | undefined> {
  const user: User = a.user;
  const name = obj.metadata?.name ?? a.name;
  const namespace = a.resource === "roles" || a.resource === "rolebindings" ? a.namespace : "";
  const self = (verb: string, resource: string, roleName: string): Attributes =>
    ({ ...a, verb, apiGroup: RBAC_GROUP, apiVersion: "v1", resource, subresource: "", name: roleName, namespace, isResourceRequest: true });
  let servant: PolicyRule[];
  if (a.resource === "roles" || a.resource === "clusterroles") {
    if (await deps.allowed(self("escalate", a.resource, name))) return undefined;
    servant = (obj as ClusterRole).rules ?? [];
    if (a.resource === "clusterroles" && (obj as ClusterRole).aggregationRule) {
      // An aggregated role gathers rules from roles its author may not hold.
      return forbiddenRbac(a.resource, name, "must have cluster-admin privileges to use the aggregationRule");
    }
  } else {
    const ref = (obj as RoleBinding).roleRef;
    if (!ref?.name) return undefined; // validation answers
    const roleResource = ref.kind === "Role" ? "roles" : "clusterroles";
    if (await deps.allowed(self("bind", roleResource, ref.name))) return undefined;
    servant = ref.kind === "Role" ? deps.state.roles.get(`${namespace}/${ref.name}`)?.rules ?? [] : deps.state.clusterRoleRules(ref.name);
  }
  const missing = uncovered(deps.state.rulesFor(user, namespace), servant);
  if (!missing.length) return undefined;
  const groups = user.groups.map((g) => JSON.stringify(g)).join(" ");
  return forbiddenRbac(a.resource, name, `user ${JSON.stringify(user.name)} (groups=[${groups}]) is attempting to grant RBAC permissions not currently held:\n${missing.map(describe).join("\n")}`);
}

const forbiddenRbac = (resource: string, name: string, message: string): ApiError => forbiddenObject({ group: RBAC_GROUP, plural: resource }, name, message);
