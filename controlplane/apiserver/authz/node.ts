// The node authorizer and NodeRestriction (kube's plugin/pkg/auth/authorizer/node and
// plugin/pkg/admission/noderestriction), for a kubelet identified as user `system:node:NAME`
// in group `system:nodes`:
// - it may do what NODE_RULES list (read pods, services, nodes; write events ...);
// - secrets, configmaps, persistentvolumeclaims and service account tokens only when a pod
//   bound to the node uses them ("no relationship found" otherwise);
// - it may change only its own Node (and its status), its own Lease in kube-node-lease, and
//   pods bound to it (status, delete, eviction), and create only mirror pods bound to itself
//   and only service account tokens bound to its own pods.
import type { KubeObject } from "../../../api/meta.js";
import type { Pod, PodSpec } from "../../../api/core.js";
import type { ResourceRegistry } from "../../../api/registry.js";
import { parseFieldSelector } from "../../../api/selectors.js";
import type { User } from "../auth.js";
import { ApiError, forbiddenObject } from "../errors.js";
import type { ObjectStore } from "../object-store.js";
import type { Attributes } from "./attributes.js";
import { NODE_RULES } from "./bootstrap-policy.js";
import { rulesAllow } from "./rules.js";
import { NodeGraph } from "./node-graph.js";

export const NODES_GROUP = "system:nodes";
const NODE_PREFIX = "system:node:";
const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";
const LEASE_NAMESPACE = "kube-node-lease";

/** The node a kubelet's identity names, or undefined for any other user. */
export function nodeNameOf(user: User): string | undefined {
  if (!user.name.startsWith(NODE_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  const n = user.name.slice(NODE_PREFIX.length);
  return n || undefined;
}

export type Decision = { decision: "allow" | "deny" | "noopinion"; reason?: string };

export type Ref = { kind: "secrets" | "configmaps" | "persistentvolumeclaims" | "serviceaccounts"; name: string };

/** The secrets, configmaps, claims and service account a pod uses. */
export function podReferences(spec: PodSpec | undefined): Ref[] {
  const out: Ref[] = [];
  if (!spec) return out;
  out.push({ kind: "serviceaccounts", name: spec.serviceAccountName || "default" });
  for (const s of spec.imagePullSecrets ?? []) if (s?.name) out.push({ kind: "secrets", name: s.name });
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName) out.push({ kind: "secrets", name: v.secret.secretName });
    if (v.configMap?.name) out.push({ kind: "configmaps", name: v.configMap.name });
    if (v.persistentVolumeClaim?.claimName) out.push({ kind: "persistentvolumeclaims", name: v.persistentVolumeClaim.claimName });
    for (const src of (v.projected?.sources ?? []) as { secret?: { name?: string }; configMap?: { name?: string } }[]) {
      if (src?.secret?.name) out.push({ kind: "secrets", name: src.secret.name });
      if (src?.configMap?.name) out.push({ kind: "configmaps", name: src.configMap.name });
    }
  }
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(((spec as { ephemeralContainers?: typeof spec.containers }).ephemeralContainers) ?? [])];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      const vf = (e as { valueFrom?: { secretKeyRef?: { name?: string }; configMapKeyRef?: { name?: string } } }).valueFrom;
      if (vf?.secretKeyRef?.name) out.push({ kind: "secrets", name: vf.secretKeyRef.name });
      if (vf?.configMapKeyRef?.name) out.push({ kind: "configmaps", name: vf.configMapKeyRef.name });
    }
    for (const ef of (c as { envFrom?: { secretRef?: { name?: string }; configMapRef?: { name?: string } }[] }).envFrom ?? []) {
      if (ef?.secretRef?.name) out.push({ kind: "secrets", name: ef.secretRef.name });
      if (ef?.configMapRef?.name) out.push({ kind: "configmaps", name: ef.configMapRef.name });
    }
  }
  return out;
}

// serviceaccounts: the kubelet reads a pod's account for its automountServiceAccountToken.
const GRAPH_RESOURCES = new Set(["secrets", "configmaps", "persistentvolumeclaims", "serviceaccounts"]);

export class NodeAuthorizer {
  private readonly graph: NodeGraph;

  constructor(private readonly objects: ObjectStore, private readonly registry: ResourceRegistry) {
    this.graph = new NodeGraph(objects, registry.get("", "v1", "pods")!);
  }

  close(): Promise<void> {
    return this.graph.close();
  }

  private async podsOn(node: string, namespace: string): Promise<Pod[]> {
    const podsR = this.registry.get("", "v1", "pods")!;
    const list = await this.objects.list(podsR, namespace || undefined, { fieldSelector: parseFieldSelector(`spec.nodeName=${node}`) });
    return list.items as Pod[];
  }

  private async related(node: string, a: Attributes, kind: Ref["kind"]): Promise<boolean> {
    if (!a.name || !a.namespace) return false;
    if (await this.graph.uses(node, kind, a.namespace, a.name)) return true;
    // The graph follows a watch, which may not have seen a pod bound a moment ago (its kubelet
    // can be that quick): before saying no, the store itself.
    for (const p of await this.podsOn(node, a.namespace)) {
      if (podReferences(p.spec).some((r) => r.kind === kind && r.name === a.name)) return true;
    }
    return false;
  }

  async authorize(a: Attributes): Promise<Decision> {
    const node = nodeNameOf(a.user);
    if (!node) return { decision: "noopinion" };
    if (a.isResourceRequest && a.apiGroup === "") {
      // As in kube, "no relationship" is no opinion (RBAC may still grant it), with a reason for the 403.
      const noRelation = { decision: "noopinion" as const, reason: `no relationship found between node '${node}' and this object` };
      if (GRAPH_RESOURCES.has(a.resource) && !a.subresource) {
        if (!["get", "list", "watch"].includes(a.verb)) return { decision: "noopinion" };
        return (await this.related(node, a, a.resource as Ref["kind"])) ? { decision: "allow" } : noRelation;
      }
      if (a.resource === "serviceaccounts" && a.subresource === "token") {
        if (a.verb !== "create") return { decision: "noopinion" };
        return (await this.related(node, a, "serviceaccounts")) ? { decision: "allow" } : noRelation;
      }
    }
    return rulesAllow(a, NODE_RULES) ? { decision: "allow" } : { decision: "noopinion" };
  }
}

/** A 403 worded as kube-apiserver's admission plugins word theirs. */
function admissionForbidden(a: Attributes, name: string, message: string): ApiError {
  return forbiddenObject({ group: a.apiGroup, plural: a.resource }, name, message);
}

/** Which node requests need the request body to be judged (creates of nodes, pods, leases, and TokenRequests). */
export function restrictionNeedsBody(a: Attributes): boolean {
  if (!nodeNameOf(a.user) || a.verb !== "create") return false;
  if (a.subresource) return a.apiGroup === "" && a.resource === "serviceaccounts" && a.subresource === "token";
  return (a.apiGroup === "" && (a.resource === "nodes" || a.resource === "pods")) || (a.apiGroup === "coordination.k8s.io" && a.resource === "leases");
}

/**
 * NodeRestriction: after the node authorizer allowed a request, a node may still touch only
 * its own objects. `body` is the decoded request body for creates (see restrictionNeedsBody).
 * Returns the 403 to send, or undefined.
 */
export async function checkNodeRestriction(objects: ObjectStore, registry: ResourceRegistry, a: Attributes, body?: KubeObject): Promise<ApiError | undefined> {
  const node = nodeNameOf(a.user);
  if (!node || !a.isResourceRequest) return undefined;
  const write = !["get", "list", "watch"].includes(a.verb);
  if (!write) return undefined;
  if (a.apiGroup === "" && a.resource === "nodes") {
    const target = a.verb === "create" ? body?.metadata?.name ?? "" : a.name;
    if (a.verb === "deletecollection" || target !== node) return admissionForbidden(a, target, `node ${JSON.stringify(node)} is not allowed to modify node ${JSON.stringify(target)}`);
    return undefined;
  }
  if (a.apiGroup === "coordination.k8s.io" && a.resource === "leases") {
    const target = a.verb === "create" ? body?.metadata?.name ?? "" : a.name;
    if (a.namespace !== LEASE_NAMESPACE || target !== node) return admissionForbidden(a, target, "can only access node lease with the same name as the requesting node");
    return undefined;
  }
  if (a.apiGroup === "" && a.resource === "serviceaccounts" && a.subresource === "token") return checkNodeTokenRequest(objects, registry, a, node, body);
  if (a.apiGroup === "" && a.resource === "pods") {
    if (a.verb === "create" && !a.subresource) {
      const p = (body ?? {}) as Pod;
      const name = p.metadata?.name ?? "";
      if (!p.metadata?.annotations?.[MIRROR_ANNOTATION]) return admissionForbidden(a, name, `pod does not have "${MIRROR_ANNOTATION}" annotation, node ${JSON.stringify(node)} can only create mirror pods`);
      if (p.spec?.nodeName !== node) return admissionForbidden(a, name, `node ${JSON.stringify(node)} can only create pods with spec.nodeName set to itself`);
      return undefined;
    }
    if (a.verb === "deletecollection") return admissionForbidden(a, "", `node ${JSON.stringify(node)} can only delete pods with spec.nodeName set to itself`);
    let pod: Pod | undefined;
    try { pod = (await objects.get(registry.get("", "v1", "pods")!, a.namespace, a.name)) as Pod; } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined; // the handler answers 404
      throw err;
    }
    if (pod.spec?.nodeName === node) return undefined;
    const what = a.subresource === "status" ? "update pod status for" : a.subresource === "eviction" ? "evict" : a.verb === "delete" ? "delete" : "modify";
    return admissionForbidden(a, a.name, `node ${JSON.stringify(node)} can only ${what} pods with spec.nodeName set to itself`);
  }
  return undefined;
}

/**
 * NodeRestriction for TokenRequests: a node's token must be bound to a pod (by name and uid)
 * that is bound to that node, so a kubelet cannot mint free-standing tokens or tokens for
 * other nodes' pods.
 */
async function checkNodeTokenRequest(objects: ObjectStore, registry: ResourceRegistry, a: Attributes, node: string, body?: KubeObject): Promise<ApiError | undefined> {
  const ref = ((body as { spec?: { boundObjectRef?: { kind?: string; name?: string; uid?: string } } } | undefined)?.spec?.boundObjectRef);
  if (ref?.kind !== "Pod" || !ref.name) return admissionForbidden(a, a.name, "node requested token not bound to a pod");
  if (!ref.uid) return admissionForbidden(a, a.name, "node requested token with a pod binding without a uid");
  let pod: Pod;
  try { pod = (await objects.get(registry.get("", "v1", "pods")!, a.namespace, ref.name)) as Pod; } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined; // the TokenRequest handler answers 404
    throw err;
  }
  if (pod.metadata.uid !== ref.uid) return admissionForbidden(a, a.name, `the UID in the bound object reference (${ref.uid}) does not match the pod's UID in record (${pod.metadata.uid})`);
  if (pod.spec?.nodeName !== node) return admissionForbidden(a, a.name, "node requested token bound to a pod scheduled on a different node");
  return undefined;
}
