// Authorization with real kubectl 1.32 against an in-process keel API server: RBAC (a
// read-only user, `kubectl auth can-i`), the node authorizer and NodeRestriction (a kubelet's
// certificate), ServiceAccount tokens from `kubectl create token`, the default roles.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, existsSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { KUBECTL, kubectlRun } from "../fixtures/kubectl.js";
import { issueClientCertificate, kubeconfigYaml, writeKubeconfig, writeNodeKubeconfig } from "../../controlplane/apiserver/pki.js";

const skip = existsSync(KUBECTL) ? false : "kubectl is not installed at /usr/bin/kubectl";
let dir = "";
let server: RunningApiServer;

const kubectl = (kubeconfig: string, args: string[], input?: string) => kubectlRun(dir, ["--kubeconfig", kubeconfig, ...args], { input });

const admin = (...args: string[]) => kubectl(server.kubeconfigPath, args);

async function ok(kc: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kc, args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

async function forbidden(kc: string, args: string[], message: string, input?: string): Promise<void> {
  const r = await kubectl(kc, args, input);
  assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} should be refused`);
  // kubectl prints "Error from server (Forbidden): ..." (typed create commands: "error: failed to create ...: ... is forbidden").
  assert.match(r.stderr, /Error from server \(Forbidden\)|is forbidden: /);
  assert.ok(r.stderr.includes(message), `expected ${JSON.stringify(message)} in: ${r.stderr}`);
}

/** A kubeconfig for a user with a client certificate from the cluster CA. */
async function userKubeconfig(user: string, groups: string[] = []): Promise<string> {
  const c = await issueClientCertificate(dir, user, groups);
  const path = join(dir, `${user.replace(/[^a-z0-9]/gi, "_")}.kubeconfig`);
  writeKubeconfig(path, kubeconfigYaml({ server: server.url, caCertPem: c.caCertPem, clientCertPem: c.certPem, clientKeyPem: c.keyPem, user }));
  return path;
}

function tokenKubeconfig(name: string, token: string): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeKubeconfig(path, kubeconfigYaml({ server: server.url, caCertPem: server.caCertPem, token, user: name }));
  return path;
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "keel-authz-"));
  server = await startApiServer({ dataDir: dir, listen: "127.0.0.1:0" });
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the admin certificate is in system:masters; default roles exist", { skip }, async () => {
  const who = await ok(server.kubeconfigPath, ["auth", "whoami", "-o", "json"]);
  const info = JSON.parse(who).status.userInfo;
  assert.equal(info.username, "admin");
  assert.ok(info.groups.includes("system:masters"));
  const roles = await ok(server.kubeconfigPath, ["get", "clusterroles", "-o", "name"]);
  for (const r of ["cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user", "system:node"]) {
    assert.ok(roles.includes(`clusterrole.rbac.authorization.k8s.io/${r}\n`), `missing ClusterRole ${r}`);
  }
  const crb = JSON.parse(await ok(server.kubeconfigPath, ["get", "clusterrolebinding", "cluster-admin", "-o", "json"]));
  assert.deepEqual(crb.subjects, [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:masters" }]);
  assert.equal(statSync(join(dir, "pki", "sa.key")).mode & 0o777, 0o600);
});

test("a user bound to view in a namespace lists pods and is refused a delete", { skip }, async () => {
  await ok(server.kubeconfigPath, ["create", "namespace", "team"]);
  await ok(server.kubeconfigPath, ["-n", "team", "run", "web", "--image=busybox"]);
  const alice = await userKubeconfig("alice", ["devs"]);

  // Authenticated but bound to nothing: discovery and self-reviews only.
  assert.match(await ok(alice, ["auth", "whoami"]), /alice/);
  await forbidden(alice, ["-n", "team", "get", "pods"], `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team"`);
  assert.equal((await kubectl(alice, ["auth", "can-i", "list", "pods", "-n", "team"])).stdout.trim(), "no");

  await ok(server.kubeconfigPath, ["-n", "team", "create", "rolebinding", "alice-view", "--clusterrole=view", "--user=alice"]);
  const pods = await ok(alice, ["-n", "team", "get", "pods", "-o", "name"]);
  assert.equal(pods.trim(), "pod/web");
  await ok(alice, ["-n", "team", "get", "pod", "web", "-o", "yaml"]);
  await forbidden(alice, ["-n", "team", "delete", "pod", "web", "--wait=false"],
    `pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "team"`);
  // The binding is in "team" only; secrets are not in view.
  await forbidden(alice, ["-n", "default", "get", "pods"], `in the namespace "default"`);
  await forbidden(alice, ["-n", "team", "get", "secrets"], `cannot list resource "secrets"`);
  await forbidden(alice, ["get", "nodes"], `nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope`);
  // The raw 403 is a metav1.Status with kube's details.
  const raw = await kubectl(alice, ["-n", "team", "delete", "pod", "web", "-v=8"]);
  assert.match(raw.stderr, /Response Status: 403 Forbidden/);
  assert.match(raw.stderr, /"reason": "Forbidden",\s+"details": \{\s+"name": "web",\s+"kind": "pods"\s+\},\s+"code": 403/);

  const can = async (...a: string[]) => (await kubectl(alice, ["auth", "can-i", ...a])).stdout.trim();
  assert.equal(await can("list", "pods", "-n", "team"), "yes");
  assert.equal(await can("get", "pods/log", "-n", "team"), "yes");
  assert.equal(await can("delete", "pods", "-n", "team"), "no");
  assert.equal(await can("get", "pods", "-n", "default"), "no");
  assert.equal(await can("create", "deployments.apps", "-n", "team"), "no");
  const list = await ok(alice, ["auth", "can-i", "--list", "-n", "team"]);
  assert.match(list, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);

  // A group binding to edit, with a Role for one named configmap.
  await ok(server.kubeconfigPath, ["-n", "team", "create", "rolebinding", "devs-edit", "--clusterrole=edit", "--group=devs"]);
  assert.equal(await can("delete", "pods", "-n", "team"), "yes");
  assert.equal(await can("create", "deployments.apps", "-n", "team"), "yes");
  assert.equal(await can("create", "roles.rbac.authorization.k8s.io", "-n", "team"), "no");
  await ok(alice, ["-n", "team", "delete", "pod", "web", "--wait=false"]);
  assert.equal((await kubectl(server.kubeconfigPath, ["auth", "can-i", "delete", "nodes"])).stdout.trim(), "yes");
  // Impersonation: the admin acts as alice; alice may not act as anyone.
  const asAlice = async (...a: string[]) => (await kubectl(server.kubeconfigPath, ["--as=alice", "--as-group=devs", ...a])).stdout.trim();
  assert.equal(await asAlice("auth", "can-i", "delete", "pods", "-n", "team"), "yes");
  assert.equal(await asAlice("auth", "can-i", "delete", "nodes"), "no");
  assert.equal(JSON.parse(await asAlice("auth", "whoami", "-o", "json")).status.userInfo.username, "alice");
  await forbidden(alice, ["--as=bob", "get", "pods"], `users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`);
});

test("Roles with resourceNames, subresources and ClusterRole aggregation", { skip }, async () => {
  const bob = await userKubeconfig("bob");
  const kc = server.kubeconfigPath;
  await ok(kc, ["-n", "team", "create", "configmap", "settings", "--from-literal=a=1"]);
  await ok(kc, ["-n", "team", "create", "configmap", "other", "--from-literal=a=1"]);
  await ok(kc, ["-n", "team", "create", "role", "settings-reader", "--verb=get,update", "--resource=configmaps", "--resource-name=settings"]);
  await ok(kc, ["-n", "team", "create", "role", "deploy-scaler", "--verb=get,patch,update", "--resource=deployments.apps/scale"]);
  await ok(kc, ["-n", "team", "create", "rolebinding", "bob-settings", "--role=settings-reader", "--user=bob"]);
  await ok(kc, ["-n", "team", "create", "rolebinding", "bob-scale", "--role=deploy-scaler", "--user=bob"]);
  await ok(bob, ["-n", "team", "get", "configmap", "settings"]);
  await forbidden(bob, ["-n", "team", "get", "configmap", "other"], `configmaps "other" is forbidden: User "bob" cannot get resource "configmaps"`);
  await forbidden(bob, ["-n", "team", "get", "configmaps"], `cannot list resource "configmaps"`);
  const can = async (...a: string[]) => (await kubectl(bob, ["auth", "can-i", ...a])).stdout.trim();
  assert.equal(await can("patch", "deployments.apps", "--subresource=scale", "-n", "team"), "yes");
  assert.equal(await can("patch", "deployments.apps", "-n", "team"), "no");

  // A ClusterRole labelled aggregate-to-view adds its rules (for a CRD's widgets) to view.
  await ok(kc, ["apply", "-f", "-"], `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: keel-test-widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- apiGroups: ["example.com"]
  resources: ["widgets"]
  verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bob-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, name: bob}
`);
  assert.equal(await can("list", "widgets.example.com", "-A"), "yes");
  assert.equal(await can("list", "pods", "-A"), "yes");
  assert.equal(await can("delete", "widgets.example.com", "-A"), "no");

  // Bad objects are refused with kube's field errors.
  const bad = await kubectl(kc, ["apply", "-f", "-"], `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: bad, namespace: team}
rules:
- resources: ["pods"]
  verbs: []
  nonResourceURLs: ["/metrics"]
`);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /rules\[0\]\.verbs: Required value/);
  assert.match(bad.stderr, /namespaced rules cannot apply to non-resource URLs/);
  const badRef = await kubectl(kc, ["-n", "team", "patch", "rolebinding", "bob-scale", "--type=merge", "-p", `{"roleRef":{"name":"settings-reader"}}`]);
  assert.notEqual(badRef.code, 0);
  assert.match(badRef.stderr, /cannot change roleRef/);
});

test("escalation prevention: a namespace admin grants only what they hold", { skip }, async () => {
  const kc = server.kubeconfigPath;
  await ok(kc, ["create", "namespace", "esc"]);
  await ok(kc, ["-n", "esc", "create", "rolebinding", "carol-admin", "--clusterrole=admin", "--user=carol"]);
  const carol = await userKubeconfig("carol");
  // Within what admin holds: fine.
  await ok(carol, ["-n", "esc", "create", "role", "pod-reader", "--verb=get,list", "--resource=pods"]);
  await ok(carol, ["-n", "esc", "create", "rolebinding", "dave-view", "--clusterrole=view", "--user=dave"]);
  await ok(carol, ["-n", "esc", "create", "rolebinding", "dave-pods", "--role=pod-reader", "--user=dave"]);
  // Beyond it: refused, whether by create, apply or patch.
  await forbidden(carol, ["-n", "esc", "create", "role", "everything", "--verb=*", "--resource=*"],
    `roles.rbac.authorization.k8s.io "everything" is forbidden: user "carol" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held`);
  await forbidden(carol, ["-n", "esc", "create", "rolebinding", "carol-root", "--clusterrole=cluster-admin", "--user=carol"], "is attempting to grant RBAC permissions not currently held");
  await forbidden(carol, ["-n", "esc", "create", "role", "node-reader", "--verb=get", "--resource=nodes"], `{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}`);
  await forbidden(carol, ["-n", "esc", "patch", "role", "pod-reader", "--type=json", "-p", `[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["nodes"],"verbs":["get"]}}]`], "not currently held");
  await forbidden(carol, ["create", "clusterrolebinding", "carol-global", "--clusterrole=view", "--user=carol"], `cannot create resource "clusterrolebindings"`);
  // The bind verb on a role lifts the check for that role.
  await ok(kc, ["create", "clusterrole", "bind-cluster-admin", "--verb=bind", "--resource=clusterroles", "--resource-name=cluster-admin"]);
  await ok(kc, ["-n", "esc", "create", "rolebinding", "carol-bind", "--clusterrole=bind-cluster-admin", "--user=carol"]);
  await ok(carol, ["-n", "esc", "create", "rolebinding", "erin-root", "--clusterrole=cluster-admin", "--user=erin"]);
});

test("a node may change only its own Node, Lease and pods", { skip }, async () => {
  const kc = server.kubeconfigPath;
  const n1 = await writeNodeKubeconfig(dir, "keel-n1", join(dir, "n1.kubeconfig"));
  assert.equal(statSync(n1).mode & 0o777, 0o600);
  const who = JSON.parse(await ok(n1, ["auth", "whoami", "-o", "json"])).status.userInfo;
  assert.equal(who.username, "system:node:keel-n1");
  assert.ok(who.groups.includes("system:nodes"));

  const node = (name: string) => `{"apiVersion":"v1","kind":"Node","metadata":{"name":"${name}"}}`;
  await ok(n1, ["create", "-f", "-"], node("keel-n1"));
  await forbidden(n1, ["create", "-f", "-"], `nodes "keel-n2" is forbidden: node "keel-n1" is not allowed to modify node "keel-n2"`, node("keel-n2"));
  await ok(kc, ["create", "-f", "-"], node("keel-n2"));

  const ready = `{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok"}]}}`;
  await ok(n1, ["patch", "node", "keel-n1", "--subresource=status", "--type=merge", "-p", ready]);
  const st = JSON.parse(await ok(kc, ["get", "node", "keel-n1", "-o", "json"]));
  assert.equal(st.status.conditions.find((c: { type: string }) => c.type === "Ready").status, "True");
  await forbidden(n1, ["patch", "node", "keel-n2", "--subresource=status", "--type=merge", "-p", ready], `node "keel-n1" is not allowed to modify node "keel-n2"`);
  await forbidden(n1, ["label", "node", "keel-n2", "x=y"], `node "keel-n1" is not allowed to modify node "keel-n2"`);
  await forbidden(n1, ["delete", "node", "keel-n2"], `is not allowed to modify node "keel-n2"`);
  assert.match(await ok(n1, ["get", "nodes", "-o", "name"]), /node\/keel-n2/);

  // Leases: its own, in kube-node-lease.
  const lease = (name: string, ns = "kube-node-lease") => `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"${name}","namespace":"${ns}"},"spec":{"holderIdentity":"${name}","leaseDurationSeconds":40}}`;
  await ok(n1, ["create", "-f", "-"], lease("keel-n1"));
  await ok(n1, ["-n", "kube-node-lease", "patch", "lease", "keel-n1", "--type=merge", "-p", `{"spec":{"leaseDurationSeconds":41}}`]);
  await forbidden(n1, ["create", "-f", "-"], "can only access node lease with the same name as the requesting node", lease("keel-n2"));
  await forbidden(n1, ["create", "-f", "-"], "can only access node lease", lease("keel-n1", "default"));

  // Pods: reads everywhere; status and delete only for its own.
  const pod = (name: string, nodeName: string) => `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}","namespace":"default"},"spec":{"nodeName":"${nodeName}","containers":[{"name":"c","image":"busybox","env":[{"name":"X","valueFrom":{"secretKeyRef":{"name":"${name}-secret","key":"k"}}}]}]}}`;
  await ok(kc, ["create", "-f", "-"], pod("mine", "keel-n1"));
  await ok(kc, ["create", "-f", "-"], pod("theirs", "keel-n2"));
  await ok(kc, ["create", "secret", "generic", "mine-secret", "--from-literal=k=v"]);
  await ok(kc, ["create", "secret", "generic", "theirs-secret", "--from-literal=k=v"]);
  assert.match(await ok(n1, ["get", "pods", "-A", "-o", "name"]), /pod\/theirs/);
  await ok(n1, ["patch", "pod", "mine", "--subresource=status", "--type=merge", "-p", `{"status":{"phase":"Running"}}`]);
  await forbidden(n1, ["patch", "pod", "theirs", "--subresource=status", "--type=merge", "-p", `{"status":{"phase":"Running"}}`],
    `pods "theirs" is forbidden: node "keel-n1" can only update pod status for pods with spec.nodeName set to itself`);
  await forbidden(n1, ["label", "pod", "mine", "x=y"], `cannot patch resource "pods" in API group ""`);
  await forbidden(n1, ["run", "sneaky", "--image=busybox"], "can only create mirror pods");
  // Secrets only through a pod bound to the node.
  await ok(n1, ["get", "secret", "mine-secret"]);
  await forbidden(n1, ["get", "secret", "theirs-secret"], `no relationship found between node 'keel-n1' and this object`);
  await forbidden(n1, ["delete", "pod", "theirs", "--wait=false"], `node "keel-n1" can only delete pods with spec.nodeName set to itself`);
  await ok(n1, ["delete", "pod", "mine", "--grace-period=0", "--force"]);
  // Events: a kubelet records them.
  await ok(n1, ["create", "-f", "-"], `{"apiVersion":"v1","kind":"Event","metadata":{"name":"keel-n1.1","namespace":"default"},"involvedObject":{"kind":"Node","name":"keel-n1"},"reason":"Starting","message":"hi","type":"Normal"}`);
  await forbidden(n1, ["create", "namespace", "nodes-cannot"], `cannot create resource "namespaces"`);
  assert.equal((await kubectl(n1, ["auth", "can-i", "patch", "nodes/status"])).stdout.trim(), "yes");
});

test("ServiceAccount tokens: kubectl create token, RBAC for service accounts", { skip }, async () => {
  const kc = server.kubeconfigPath;
  await ok(kc, ["-n", "team", "create", "serviceaccount", "robot"]);
  const token = (await ok(kc, ["-n", "team", "create", "token", "robot", "--duration=20m"])).trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
  assert.equal(claims.sub, "system:serviceaccount:team:robot");
  assert.ok(claims.exp - claims.iat === 1200);
  const robot = tokenKubeconfig("robot", token);
  const who = JSON.parse(await ok(robot, ["auth", "whoami", "-o", "json"])).status.userInfo;
  assert.equal(who.username, "system:serviceaccount:team:robot");
  assert.deepEqual(who.groups, ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]);
  await forbidden(robot, ["-n", "team", "get", "pods"], `User "system:serviceaccount:team:robot" cannot list resource "pods"`);
  await ok(kc, ["-n", "team", "create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=team:robot"]);
  await ok(robot, ["-n", "team", "get", "pods"]);
  // A binding to the group of all service accounts of a namespace.
  await ok(kc, ["create", "clusterrolebinding", "team-sas-nodes", "--clusterrole=view", "--group=system:serviceaccounts:team"]);
  assert.equal((await kubectl(robot, ["auth", "can-i", "list", "pods", "-n", "default"])).stdout.trim(), "yes");

  // A token bound to a pod dies with the pod; any token dies with its service account.
  await ok(kc, ["-n", "team", "run", "holder", "--image=busybox"]);
  const bound = (await ok(kc, ["-n", "team", "create", "token", "robot", "--bound-object-kind=Pod", "--bound-object-name=holder"])).trim();
  const boundKc = tokenKubeconfig("robot-bound", bound);
  await ok(boundKc, ["auth", "whoami"]);
  await ok(kc, ["-n", "team", "delete", "pod", "holder", "--grace-period=0", "--force"]);
  const afterPod = await kubectl(boundKc, ["auth", "whoami"]);
  assert.match(afterPod.stderr, /Unauthorized|must be logged in/);
  await ok(kc, ["-n", "team", "delete", "serviceaccount", "robot"]);
  const gone = await kubectl(robot, ["-n", "team", "get", "pods"]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /Unauthorized|must be logged in/);
  // A token for a service account that does not exist is refused; a tampered one too.
  const missing = await admin("-n", "team", "create", "token", "nobody");
  assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  const [h, p, s] = token.split(".");
  const forged = JSON.parse(Buffer.from(p, "base64url").toString());
  forged.sub = "system:serviceaccount:kube-system:default";
  const tampered = tokenKubeconfig("tampered", `${h}.${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${s}`);
  assert.match((await kubectl(tampered, ["auth", "whoami"])).stderr, /Unauthorized|must be logged in/);
  assert.ok(readFileSync(join(dir, "pki", "sa.key"), "utf8").includes("PRIVATE KEY"));
});
