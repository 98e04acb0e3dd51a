// The default roles a cluster starts with (kube's plugin/pkg/auth/authorizer/rbac/bootstrappolicy):
// cluster-admin for system:masters, discovery and self-reviews for every authenticated user,
// the user-facing admin / edit / view roles (aggregated, so a CRD's author can add to them with
// a labelled ClusterRole), system:node (the kubelet's rules), and the roles of the users
// system:kube-scheduler and system:kube-controller-manager, for when those components run on
// their own certificates (issueClientCertificate) rather than the admin's. They are written at every start:
// missing ones are created, and ones still marked autoupdate are put back to these rules.
import type { ClusterRole, PolicyRule, RoleBinding } from "../../../api/rbac.js";
import { RBAC_GROUP } from "../../../api/rbac.js";
import type { ResourceRegistry } from "../../../api/registry.js";
import type { KubeObject } from "../../../api/meta.js";
import { ApiError } from "../errors.js";
import type { ObjectStore } from "../object-store.js";

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule =>
  ({ verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) });
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

const AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate";
const BOOTSTRAP_LABEL = { "kubernetes.io/bootstrapping": "rbac-defaults" };
const AGG = (to: string) => `rbac.authorization.k8s.io/aggregate-to-${to}`;

const VIEW_RULES: PolicyRule[] = [
  rule(READ, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"]),
  rule(READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status", "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"]),
  rule(READ, [""], ["namespaces"]),
  rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
  rule(READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"]),
  rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
  rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
  rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
  rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
  rule(READ, ["metrics.k8s.io"], ["pods", "nodes"]), // kube's system:aggregated-metrics-reader
];

const EDIT_RULES: PolicyRule[] = [
  rule(["create", "delete", "deletecollection", "patch", "update", "get", "list", "watch"], [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
  rule(["create"], [""], ["pods/eviction"]),
  rule([...WRITE, ...READ], [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"]),
  rule(["create"], [""], ["serviceaccounts/token"]),
  rule(["impersonate"], [""], ["serviceaccounts"]),
  rule([...WRITE, ...READ], ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"]),
  rule([...WRITE, ...READ], ["autoscaling"], ["horizontalpodautoscalers"]),
  rule([...WRITE, ...READ], ["batch"], ["cronjobs", "jobs"]),
  rule([...WRITE, ...READ], ["policy"], ["poddisruptionbudgets"]),
  rule([...WRITE, ...READ], ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
  rule([...WRITE, ...READ], ["coordination.k8s.io"], ["leases"]),
  rule([...WRITE, ...READ], ["discovery.k8s.io"], ["endpointslices"]),
];

const ADMIN_RULES: PolicyRule[] = [
  rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
  rule([...WRITE, ...READ], [RBAC_GROUP], ["rolebindings", "roles"]),
];

/** What a kubelet does (kube's NodeRules); the node authorizer narrows it to the node's own objects. */
export const NODE_RULES: PolicyRule[] = [
  rule(["create", "delete", "get", "list", "watch", "patch", "update"], [""], ["nodes"]),
  rule(["get", "patch", "update"], [""], ["nodes/status"]),
  rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
  rule(READ, [""], ["pods", "services", "endpoints"]),
  rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
  rule(["create", "delete"], [""], ["pods"]),
  rule(["get", "patch", "update"], [""], ["pods/status"]),
  rule(["create"], [""], ["pods/eviction"]),
  rule(["get"], [""], ["secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes"]),
  rule(["create"], [""], ["serviceaccounts/token"]),
  rule(["create", "delete", "get", "patch", "update"], ["coordination.k8s.io"], ["leases"]),
  rule(["create", "get", "list", "watch"], ["certificates.k8s.io"], ["certificatesigningrequests"]),
  rule(["get"], ["node.k8s.io"], ["runtimeclasses"]),
];

/** keel's scheduler daemon: read the cluster, bind and preempt pods, lead through a Lease. */
const SCHEDULER_RULES: PolicyRule[] = [
  rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"]),
  rule(["create", "get", "list", "watch", "update", "patch"], ["coordination.k8s.io"], ["leases"]),
  rule(READ, [""], ["nodes", "namespaces", "services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"]),
  rule(["delete", ...READ], [""], ["pods"]),
  rule(["create"], [""], ["bindings", "pods/binding"]),
  rule(["patch", "update"], [""], ["pods/status"]),
  rule(READ, ["apps"], ["replicasets", "statefulsets"]),
  rule(READ, ["policy"], ["poddisruptionbudgets"]),
];

/**
 * keel's controller-manager runs every controller under one identity; the garbage collector
 * alone needs to read and delete any kind (as kube's does), so this is broad, but it holds no
 * bind, escalate or impersonate, so RBAC writes stay checked for escalation.
 */
const CONTROLLER_MANAGER_RULES: PolicyRule[] = [
  rule([...READ, "create", "update", "patch", "delete", "deletecollection"], ["*"], ["*"]),
];

const DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"];
const PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"];

function clusterRole(name: string, rules: PolicyRule[], extra: Partial<ClusterRole> = {}, labels: Record<string, string> = {}): ClusterRole {
  return {
    apiVersion: `${RBAC_GROUP}/v1`, kind: "ClusterRole",
    metadata: { name, labels: { ...BOOTSTRAP_LABEL, ...labels }, annotations: { [AUTOUPDATE]: "true" } },
    rules, ...extra,
  };
}

function binding(name: string, role: string, subjects: { kind: string; name: string }[]): RoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`, kind: "ClusterRoleBinding",
    metadata: { name, labels: { ...BOOTSTRAP_LABEL }, annotations: { [AUTOUPDATE]: "true" } },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role },
    subjects: subjects.map((s) => ({ ...s, apiGroup: RBAC_GROUP })),
  };
}

const aggregate = (to: string) => ({ aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [AGG(to)]: "true" } }] } });

export function bootstrapClusterRoles(): ClusterRole[] {
  return [
    clusterRole("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
    clusterRole("system:discovery", [urls(["get"], DISCOVERY_URLS)]),
    clusterRole("system:public-info-viewer", [urls(["get"], PUBLIC_URLS)]),
    clusterRole("system:basic-user", [
      rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
      rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
    ]),
    // The user-facing roles hold the union of what the aggregate-to-* roles grant; the rules
    // are written out too so `kubectl describe clusterrole view` shows them.
    clusterRole("admin", [...ADMIN_RULES, ...EDIT_RULES, ...VIEW_RULES], aggregate("admin")),
    clusterRole("edit", [...EDIT_RULES, ...VIEW_RULES], aggregate("edit"), { [AGG("admin")]: "true" }),
    clusterRole("view", VIEW_RULES, aggregate("view"), { [AGG("admin")]: "true", [AGG("edit")]: "true" }),
    clusterRole("system:aggregate-to-admin", ADMIN_RULES, {}, { [AGG("admin")]: "true" }),
    clusterRole("system:aggregate-to-edit", EDIT_RULES, {}, { [AGG("edit")]: "true" }),
    clusterRole("system:aggregate-to-view", VIEW_RULES, {}, { [AGG("view")]: "true" }),
    clusterRole("system:node", NODE_RULES),
    clusterRole("system:kube-scheduler", SCHEDULER_RULES),
    clusterRole("system:kube-controller-manager", CONTROLLER_MANAGER_RULES),
  ];
}

export function bootstrapClusterRoleBindings(): RoleBinding[] {
  return [
    binding("cluster-admin", "cluster-admin", [{ kind: "Group", name: "system:masters" }]),
    binding("system:discovery", "system:discovery", [{ kind: "Group", name: "system:authenticated" }]),
    binding("system:basic-user", "system:basic-user", [{ kind: "Group", name: "system:authenticated" }]),
    binding("system:kube-scheduler", "system:kube-scheduler", [{ kind: "User", name: "system:kube-scheduler" }]),
    binding("system:kube-controller-manager", "system:kube-controller-manager", [{ kind: "User", name: "system:kube-controller-manager" }]),
    binding("system:public-info-viewer", "system:public-info-viewer", [{ kind: "Group", name: "system:authenticated" }, { kind: "Group", name: "system:unauthenticated" }]),
  ];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Creates the default roles and bindings, and restores those still marked autoupdate. */
export async function reconcileBootstrapPolicy(objects: ObjectStore, registry: ResourceRegistry): Promise<void> {
  const crR = registry.get(RBAC_GROUP, "v1", "clusterroles")!;
  const crbR = registry.get(RBAC_GROUP, "v1", "clusterrolebindings")!;
  const fields = { clusterroles: ["rules", "aggregationRule"], clusterrolebindings: ["roleRef", "subjects"] } as const;
  const work: [typeof crR, ClusterRole | RoleBinding][] = [
    ...bootstrapClusterRoles().map((o) => [crR, o] as [typeof crR, ClusterRole]),
    ...bootstrapClusterRoleBindings().map((o) => [crbR, o] as [typeof crR, RoleBinding]),
  ];
  for (const [r, want] of work) {
    const name = want.metadata.name!;
    try {
      await objects.create(r, undefined, want);
      continue;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
    }
    const keys = fields[r.plural as keyof typeof fields];
    const w = want as unknown as Record<string, unknown>;
    const stale = (cur: KubeObject) => cur.metadata.annotations?.[AUTOUPDATE] === "true" && !keys.every((k) => same((cur as Record<string, unknown>)[k], w[k]));
    if (!stale(await objects.get(r, undefined, name))) continue;
    await objects.guaranteedUpdate(r, undefined, name, (cur) => {
      if (!stale(cur)) return cur;
      const next = { ...(cur as Record<string, unknown>) };
      for (const k of keys) next[k] = w[k];
      return next as KubeObject;
    });
  }
}
