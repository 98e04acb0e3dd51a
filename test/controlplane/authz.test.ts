// Authorization pieces without kubectl: request attributes, rule matching, RBAC evaluation,
// the 403 wording, service account token signing, RBAC validation, the default ServiceAccount
// controller, and `keel apiserver node-kubeconfig`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { requestAttributes, type Attributes } from "../../controlplane/apiserver/authz/attributes.js";
import { ruleAllows } from "../../controlplane/apiserver/authz/rules.js";
import { RbacState } from "../../controlplane/apiserver/authz/rbac-state.js";
import { forbiddenError, TokenSigner } from "../../controlplane/apiserver/authz/index.js";
import { podReferences } from "../../controlplane/apiserver/authz/node.js";
import { checkEscalation } from "../../controlplane/apiserver/authz/escalation.js";
import { validateCreate } from "../../api/validation.js";
import { applyDefaults } from "../../api/defaults.js";
import type { KubeObject } from "../../api/meta.js";
import { register } from "../../cli/commands/apiserver.js";
import { startControllerManager } from "../../controlplane/controllers/index.js";
import { R, isNotFound } from "../../controlplane/kit/index.js";
import { startApiFixture, waitFor } from "./kit-fixture.js";
import { etcdMissing, startEtcd } from "./etcd-fixture.js";
import { startApiServer } from "../../controlplane/apiserver/index.js";
import { issueClientCertificate, kubeconfigYaml, writeKubeconfig, writeNodeKubeconfig } from "../../controlplane/apiserver/pki.js";
import { startScheduler } from "../../controlplane/scheduler-daemon/index.js";
import { startSimNodes, simNodeSpecs } from "../../controlplane/sim-nodes/index.js";
import { KubeClient, ApiStatusError } from "../../controlplane/kit/index.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

const RB = { group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", kind: "RoleBinding", namespaced: true };

const alice = { name: "alice", groups: ["devs", "system:authenticated"] };
const attrs = (method: string, url: string, user = alice) => requestAttributes(user, method, new URL(url, "https://keel"));

test("request attributes as kube's RequestInfoFactory derives them", () => {
  const pick = (a: Attributes) => [a.verb, a.apiGroup, a.resource, a.subresource, a.namespace, a.name, a.isResourceRequest];
  assert.deepEqual(pick(attrs("GET", "/api/v1/namespaces/default/pods")), ["list", "", "pods", "", "default", "", true]);
  assert.deepEqual(pick(attrs("GET", "/api/v1/namespaces/default/pods?watch=true")), ["watch", "", "pods", "", "default", "", true]);
  assert.deepEqual(pick(attrs("GET", "/api/v1/watch/namespaces/default/pods")), ["watch", "", "pods", "", "default", "", true]);
  assert.deepEqual(pick(attrs("GET", "/api/v1/namespaces/default/pods/web/log")), ["get", "", "pods", "log", "default", "web", true]);
  assert.deepEqual(pick(attrs("DELETE", "/api/v1/namespaces/default/pods")), ["deletecollection", "", "pods", "", "default", "", true]);
  assert.deepEqual(pick(attrs("DELETE", "/api/v1/namespaces/default/pods/web")), ["delete", "", "pods", "", "default", "web", true]);
  assert.deepEqual(pick(attrs("PATCH", "/apis/apps/v1/namespaces/x/deployments/d/scale")), ["patch", "apps", "deployments", "scale", "x", "d", true]);
  assert.deepEqual(pick(attrs("PUT", "/api/v1/nodes/n1/status")), ["update", "", "nodes", "status", "", "n1", true]);
  assert.deepEqual(pick(attrs("POST", "/api/v1/namespaces")), ["create", "", "namespaces", "", "", "", true]);
  // A namespace object is "in" itself; its status is not a namespace called "status".
  assert.deepEqual(pick(attrs("GET", "/api/v1/namespaces/team")), ["get", "", "namespaces", "", "team", "team", true]);
  assert.deepEqual(pick(attrs("PUT", "/api/v1/namespaces/team/finalize")), ["update", "", "namespaces", "finalize", "team", "team", true]);
  // A list narrowed to one name carries the name (kubelets watch their own Node this way).
  assert.deepEqual(pick(attrs("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dn1&watch=1")), ["watch", "", "nodes", "", "", "n1", true]);
  const nr = attrs("GET", "/openapi/v3/apis/apps/v1");
  assert.deepEqual([nr.verb, nr.path, nr.isResourceRequest], ["get", "/openapi/v3/apis/apps/v1", false]);
  assert.equal(attrs("GET", "/apis").isResourceRequest, false);
  assert.equal(attrs("GET", "/apis/apps/v1").isResourceRequest, false);
});

test("rule matching: wildcards, subresources, resourceNames, non-resource URLs", () => {
  const a = attrs("GET", "/api/v1/namespaces/default/pods/web/log");
  assert.ok(ruleAllows(a, { verbs: ["get"], apiGroups: [""], resources: ["pods/log"] }));
  assert.ok(!ruleAllows(a, { verbs: ["get"], apiGroups: [""], resources: ["pods"] }), "pods does not include pods/log");
  assert.ok(ruleAllows(a, { verbs: ["*"], apiGroups: ["*"], resources: ["*"] }));
  assert.ok(ruleAllows(a, { verbs: ["get"], apiGroups: [""], resources: ["*/log"] }));
  assert.ok(!ruleAllows(a, { verbs: ["get"], apiGroups: ["apps"], resources: ["pods/log"] }));
  assert.ok(ruleAllows(a, { verbs: ["get"], apiGroups: [""], resources: ["pods/log"], resourceNames: ["web"] }));
  assert.ok(!ruleAllows(a, { verbs: ["get"], apiGroups: [""], resources: ["pods/log"], resourceNames: ["db"] }));
  // resourceNames never match a list (no name).
  assert.ok(!ruleAllows(attrs("GET", "/api/v1/namespaces/default/pods"), { verbs: ["list"], apiGroups: [""], resources: ["pods"], resourceNames: ["web"] }));
  const h = attrs("GET", "/healthz/etcd");
  assert.ok(ruleAllows(h, { verbs: ["get"], nonResourceURLs: ["/healthz/*"] }));
  assert.ok(!ruleAllows(h, { verbs: ["get"], nonResourceURLs: ["/healthz"] }));
  assert.ok(!ruleAllows(h, { verbs: ["post"], nonResourceURLs: ["*"] }));
  assert.ok(!ruleAllows(h, { verbs: ["get"], apiGroups: ["*"], resources: ["*"] }), "resource rules never grant paths");
});

function state(objs: [string, unknown][]): RbacState {
  const s = new RbacState();
  for (const [key, o] of objs) s.apply(`/registry/rbac.authorization.k8s.io/${key}`, JSON.stringify(o));
  return s;
}

test("RBAC evaluation: users, groups, service accounts, Role vs ClusterRole, aggregation", () => {
  const rb = (ns: string, name: string, roleRef: object, subjects: object[]) => [`rolebindings/${ns}/${name}`, { metadata: { name, namespace: ns }, roleRef, subjects }] as [string, unknown];
  const s = state([
    ["clusterroles/pods-reader", { metadata: { name: "pods-reader", labels: { agg: "yes" } }, rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] }] }],
    ["clusterroles/cm-writer", { metadata: { name: "cm-writer", labels: { agg: "yes" } }, rules: [{ verbs: ["create"], apiGroups: [""], resources: ["configmaps"] }] }],
    ["clusterroles/combined", { metadata: { name: "combined" }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { agg: "yes" } }] } }],
    ["roles/team/secret-reader", { metadata: { name: "secret-reader", namespace: "team" }, rules: [{ verbs: ["get"], apiGroups: [""], resources: ["secrets"] }] }],
    rb("team", "a", { kind: "ClusterRole", name: "pods-reader" }, [{ kind: "User", name: "alice" }]),
    rb("team", "b", { kind: "Role", name: "secret-reader" }, [{ kind: "ServiceAccount", name: "robot" }]),
    rb("other", "c", { kind: "ClusterRole", name: "combined" }, [{ kind: "Group", name: "devs" }]),
    ["clusterrolebindings/d", { metadata: { name: "d" }, roleRef: { kind: "ClusterRole", name: "pods-reader" }, subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "ops" }] }],
  ]);
  const can = (user: { name: string; groups: string[] }, method: string, url: string) => s.allows(attrs(method, url, user));
  assert.ok(can(alice, "GET", "/api/v1/namespaces/team/pods"));
  assert.ok(!can(alice, "DELETE", "/api/v1/namespaces/team/pods/x"));
  assert.ok(!can(alice, "GET", "/api/v1/namespaces/default/pods"), "a RoleBinding grants in its namespace only");
  // Aggregation gathers both labelled roles for the group binding in "other".
  assert.ok(can(alice, "POST", "/api/v1/namespaces/other/configmaps"));
  assert.ok(can(alice, "GET", "/api/v1/namespaces/other/pods"));
  const robot = { name: "system:serviceaccount:team:robot", groups: ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"] };
  assert.ok(can(robot, "GET", "/api/v1/namespaces/team/secrets/s"), "a ServiceAccount subject without namespace means the binding's");
  assert.ok(!can(robot, "GET", "/api/v1/namespaces/team/pods"));
  const opsRobot = { name: "system:serviceaccount:ops:robot", groups: ["system:serviceaccounts", "system:serviceaccounts:ops"] };
  assert.ok(can(opsRobot, "GET", "/api/v1/namespaces/anywhere/pods"), "ClusterRoleBinding: every namespace");
  assert.ok(!can(opsRobot, "GET", "/api/v1/namespaces/team/secrets/s"));
  assert.equal(s.rulesFor(alice, "other").length, 2);
  // Deleting the role withdraws what its bindings granted.
  s.apply("/registry/rbac.authorization.k8s.io/clusterroles/cm-writer", undefined);
  assert.ok(!can(alice, "POST", "/api/v1/namespaces/other/configmaps"));
});

test("403 messages are worded as kube-apiserver words them", () => {
  const e1 = forbiddenError(attrs("DELETE", "/api/v1/namespaces/default/pods/x"));
  assert.equal(e1.message, `pods "x" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "default"`);
  assert.deepEqual(e1.toStatus().details, { name: "x", group: "", kind: "pods" });
  assert.equal(e1.code, 403);
  assert.equal(forbiddenError(attrs("GET", "/apis/apps/v1/deployments")).message,
    `deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" at the cluster scope`);
  assert.equal(forbiddenError(attrs("PATCH", "/api/v1/nodes/n2/status"), "no relationship found").message,
    `nodes "n2" is forbidden: User "alice" cannot patch resource "nodes/status" in API group "" at the cluster scope: no relationship found`);
  assert.equal(forbiddenError(attrs("GET", "/metrics")).message, `forbidden: User "alice" cannot get path "/metrics"`);
});

test("service account tokens: signed, checked, expired, tampered, foreign key", () => {
  const pem = (k: ReturnType<typeof generateKeyPairSync>["privateKey"]) => k.export({ type: "pkcs8", format: "pem" }).toString();
  const key = pem(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  const signer = new TokenSigner(key);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: signer.issuer, sub: "system:serviceaccount:ns:sa", aud: [signer.issuer], exp: now + 600, iat: now, nbf: now, jti: "j",
    "kubernetes.io": { namespace: "ns", serviceaccount: { name: "sa", uid: "u" } },
  };
  const t = signer.sign(claims);
  assert.deepEqual(signer.verify(t), claims);
  assert.equal(signer.verify(t, now + 601), undefined, "expired");
  const [h, , s] = t.split(".");
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: "system:serviceaccount:kube-system:admin" })).toString("base64url");
  assert.equal(signer.verify(`${h}.${forged}.${s}`), undefined, "tampered");
  const other = new TokenSigner(pem(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey));
  assert.equal(other.verify(t), undefined, "another cluster's key");
  const none = Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url");
  assert.equal(signer.verify(`${none}.${t.split(".")[1]}.`), undefined, "alg none");
});

test("RBAC validation and defaulting", () => {
  const v = (kind: string, namespaced: boolean, o: object) => {
    const obj = { metadata: { name: "system:x", ...(namespaced ? { namespace: "ns" } : {}) }, ...o } as KubeObject;
    applyDefaults("rbac.authorization.k8s.io", kind, obj);
    return validateCreate({ group: "rbac.authorization.k8s.io", kind, namespaced }, obj).map((e) => e.message);
  };
  assert.deepEqual(v("ClusterRole", false, { rules: [{ verbs: ["get"], nonResourceURLs: ["/healthz"] }] }), []);
  assert.deepEqual(v("Role", true, { rules: [{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }] }), []);
  assert.match(v("Role", true, { rules: [{ verbs: ["get"], resources: ["pods"] }] }).join(), /rules\[0\]\.apiGroups: Required value/);
  assert.match(v("ClusterRole", false, { rules: [{ verbs: ["get"], apiGroups: [""], nonResourceURLs: ["/x"] }] }).join(), /both regular resources and non-resource URLs/);
  assert.match(v("ClusterRole", false, { rules: [{ verbs: ["get"], nonResourceURLs: ["x"] }] }).join(), /must start with \//);
  // Subjects get their apiGroup by default; a ServiceAccount needs a namespace at cluster scope.
  assert.deepEqual(v("ClusterRoleBinding", false, { roleRef: { kind: "ClusterRole", name: "view" }, subjects: [{ kind: "User", name: "u" }, { kind: "ServiceAccount", name: "s", namespace: "n" }] }), []);
  assert.match(v("ClusterRoleBinding", false, { roleRef: { kind: "Role", name: "r" }, subjects: [{ kind: "ServiceAccount", name: "s" }] }).join(), /roleRef\.kind: Unsupported value: "Role".*subjects\[0\]\.namespace: Required value/);
  assert.match(v("RoleBinding", true, { roleRef: { kind: "Role", name: "r" }, subjects: [{ kind: "Robot", name: "s" }] }).join(), /subjects\[0\]\.kind: Unsupported value/);
  const bad = { metadata: { name: "a/b" }, rules: [] } as unknown as KubeObject;
  assert.match(validateCreate({ group: "rbac.authorization.k8s.io", kind: "ClusterRole", namespaced: false }, bad).map((e) => e.message).join(), /may not contain '\/'/);
});

test("the pods' references the node authorizer follows", () => {
  const refs = podReferences({
    serviceAccountName: "robot", imagePullSecrets: [{ name: "pull" }],
    volumes: [{ name: "a", secret: { secretName: "s1" } }, { name: "b", configMap: { name: "c1" } }, { name: "c", projected: { sources: [{ secret: { name: "s2" } }, { configMap: { name: "c2" } }] } }],
    containers: [{ name: "x", image: "i", env: [{ name: "E", valueFrom: { secretKeyRef: { name: "s3", key: "k" } } }], envFrom: [{ configMapRef: { name: "c3" } }] } as never],
  } as never).map((r) => `${r.kind}/${r.name}`).sort();
  assert.deepEqual(refs, ["configmaps/c1", "configmaps/c2", "configmaps/c3", "secrets/pull", "secrets/s1", "secrets/s2", "secrets/s3", "serviceaccounts/robot"]);
});

test("every namespace gets a default ServiceAccount, made again if deleted", async (t) => {
  const fx = await startApiFixture("keel-authz-sa-");
  t.after(() => fx.close());
  const cm = await startControllerManager({ kubeconfig: fx.server.kubeconfigPath, controllers: ["serviceaccount"] });
  t.after(() => cm.close());
  await waitFor("default/default", () => fx.client.get(R.serviceaccounts, "default", "default").catch(() => undefined));
  await fx.client.create(R.namespaces, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: "keel-sa-test" } });
  const sa = await waitFor("keel-sa-test/default", () => fx.client.get(R.serviceaccounts, "keel-sa-test", "default").catch(() => undefined));
  await fx.client.delete(R.serviceaccounts, "keel-sa-test", "default");
  await waitFor("a new default", async () => {
    try { return (await fx.client.get(R.serviceaccounts, "keel-sa-test", "default")).metadata.uid !== sa.metadata.uid; } catch (err) { if (isNotFound(err)) return false; throw err; }
  });
});

test("keel apiserver node-kubeconfig issues a system:node certificate", async (t) => {
  const fx = await startApiFixture("keel-authz-cli-");
  t.after(() => fx.close());
  const program = new Command("keel").exitOverride();
  let out = "";
  program.configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { out += s; } });
  register(program);
  const orig = process.stdout.write.bind(process.stdout);
  let printed = "";
  process.stdout.write = ((s: string) => { printed += s; return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "keel", "apiserver", "node-kubeconfig", "keel-node-a", "--data-dir", fx.dir]);
  } finally {
    process.stdout.write = orig;
  }
  const path = join(fx.dir, "node-keel-node-a.kubeconfig");
  assert.equal(printed.trim(), path, out);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const yaml = readFileSync(path, "utf8");
  assert.ok(yaml.includes(`server: ${fx.server.url}`));
  const certB64 = /client-certificate-data: (\S+)/.exec(yaml)![1];
  const cert = new X509Certificate(Buffer.from(certB64, "base64"));
  assert.deepEqual(cert.subject.split("\n"), ["CN=system:node:keel-node-a", "O=system:nodes"]);
  await assert.rejects(program.parseAsync(["node", "keel", "apiserver", "node-kubeconfig", "Bad_Name", "--data-dir", fx.dir]), /invalid node name/);
});

test("escalation prevention: what a writer holds covers what they grant", async () => {
  const carol = { name: "carol", groups: ["system:authenticated"] };
  const s = state([
    ["roles/team/mine", { metadata: { name: "mine", namespace: "team" }, rules: [
      { verbs: ["get", "list"], apiGroups: [""], resources: ["pods"] },
      { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
      { verbs: ["patch"], apiGroups: ["apps"], resources: ["*/scale"] },
    ] }],
    ["rolebindings/team/carol", { metadata: { name: "carol", namespace: "team" }, roleRef: { kind: "Role", name: "mine" }, subjects: [{ kind: "User", name: "carol" }] }],
  ]);
  const role = (rules: object[], extra: object = {}) => ({ metadata: { name: "r" }, rules, ...extra }) as unknown as KubeObject;
  const a = attrs("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles", carol);
  const check = (obj: KubeObject, allowed = false, at = a) => checkEscalation({ state: s, allowed: async () => allowed }, at, obj);
  assert.equal(await check(role([{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }])), undefined);
  assert.equal(await check(role([{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] }])), undefined);
  assert.equal(await check(role([{ verbs: ["patch"], apiGroups: ["apps"], resources: ["deployments/scale"] }])), undefined);
  const e = await check(role([{ verbs: ["get", "delete"], apiGroups: [""], resources: ["pods", "configmaps"] }]));
  assert.equal(e?.code, 403);
  assert.equal(e?.message, `roles.rbac.authorization.k8s.io "r" is forbidden: user "carol" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["configmaps"], Verbs:["get"]}
{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}
{APIGroups:[""], Resources:["configmaps"], Verbs:["delete"]}`);
  assert.equal(await check(role([{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]), true), undefined, "the escalate verb lifts the check");
  // Outside the namespace she holds nothing.
  const other = attrs("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/other/roles", carol);
  assert.ok(await check(role([{ verbs: ["get"], apiGroups: [""], resources: ["pods"] }]), false, other));
  const cr = attrs("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", carol);
  assert.match((await check(role([], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: "y" } }] } }), false, cr))!.message, /must have cluster-admin privileges to use the aggregationRule/);
  // Bindings: the referenced role's rules must be held, unless bind is allowed on it.
  const rb = attrs("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings", carol);
  const binding = (kind: string, name: string) => ({ metadata: { name: "b" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name }, subjects: [{ kind: "User", name: "dave" }] }) as unknown as KubeObject;
  assert.equal(await check(binding("Role", "mine"), false, rb), undefined);
  assert.ok(await check(binding("ClusterRole", "cluster-admin-like"), false, rb) === undefined, "a role that does not exist grants nothing");
});

test("two API servers on one etcd: a binding and a token made at one are honoured at the other", { skip: etcdMissing() ?? false }, async (t) => {
  // Clean-ups run in reverse order of set-up: clients, servers, then etcd.
  const undo: (() => unknown)[] = [];
  t.after(async () => { for (const u of undo.reverse()) await u(); });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const dir = mkdtempSync(join(tmpdir(), "keel-authz-etcd-"));
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  const a = await startApiServer({ dataDir: dir, listen: "127.0.0.1:0", store: etcd.spec });
  undo.push(() => a.close());
  const b = await startApiServer({ dataDir: dir, listen: "127.0.0.1:0", store: etcd.spec });
  undo.push(() => b.close());
  const adminA = new KubeClient(a.kubeconfigPath, "keel-test");
  undo.push(() => adminA.close());
  const c = await issueClientCertificate(dir, "alice");
  const aliceB = new KubeClient({ server: b.url, caPem: c.caCertPem, certPem: c.certPem, keyPem: c.keyPem }, "keel-test");
  undo.push(() => aliceB.close());
  await assert.rejects(aliceB.list(R.pods, "default"), (e: ApiStatusError) => e.code === 403);
  await adminA.create(RB, "default", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "alice-view" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ kind: "User", name: "alice" }] } as KubeObject);
  // At once: a denial is re-checked against the store, so no waiting for B's watch.
  await aliceB.list(R.pods, "default");
  await adminA.create(R.serviceaccounts, "default", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot" } });
  const tr = await adminA.request<{ status: { token: string } }>("POST", "/api/v1/namespaces/default/serviceaccounts/robot/token", { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} });
  const robotB = new KubeClient({ server: b.url, caPem: c.caCertPem, token: tr.status.token }, "keel-test");
  undo.push(() => robotB.close());
  const who = await robotB.request<{ status: { userInfo: { username: string } } }>("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
  assert.equal(who.status.userInfo.username, "system:serviceaccount:default:robot");
});

test("a simulated kubelet on its node's own credentials registers, renews its Lease and runs its pods", async (t) => {
  const fx = await startApiFixture("keel-authz-sim-");
  t.after(() => fx.close());
  const kc = await writeNodeKubeconfig(fx.dir, "keel-authz-sim-0", join(fx.dir, "node.kubeconfig"));
  const sim = await startSimNodes({ kubeconfig: kc, nodes: simNodeSpecs(1, { prefix: "keel-authz-sim" }), leaseRenewMs: 200 });
  t.after(() => sim.close());
  await waitFor("the node", () => fx.client.get(R.nodes, undefined, "keel-authz-sim-0").catch(() => undefined));
  await waitFor("its lease", () => fx.client.get(R.leases, "kube-node-lease", "keel-authz-sim-0").catch(() => undefined));
  const pod = (name: string, nodeName: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { nodeName, containers: [{ name: "c", image: "busybox" }] } }) as KubeObject;
  await fx.client.create(R.pods, "default", pod("keel-mine", "keel-authz-sim-0"));
  await waitFor("its pod Running", async () => ((await fx.client.get(R.pods, "default", "keel-mine")).status as { phase?: string }).phase === "Running");
  await fx.client.delete(R.pods, "default", "keel-mine");
  await waitFor("its pod gone", async () => { try { await fx.client.get(R.pods, "default", "keel-mine"); return false; } catch (err) { if (isNotFound(err)) return true; throw err; } });
});

test("the scheduler and controller-manager run on their own identities' default roles", async (t) => {
  const fx = await startApiFixture("keel-authz-comp-");
  const undo: (() => unknown)[] = [() => fx.close()];
  t.after(async () => { for (const u of undo.reverse()) await u(); });
  const kubeconfigFor = async (user: string) => {
    const c = await issueClientCertificate(fx.dir, user);
    const path = join(fx.dir, `${user.replace(/:/g, "_")}.kubeconfig`);
    writeKubeconfig(path, kubeconfigYaml({ server: fx.server.url, caCertPem: c.caCertPem, clientCertPem: c.certPem, clientKeyPem: c.keyPem, user }));
    return path;
  };
  const sim = await startSimNodes({ kubeconfig: fx.server.kubeconfigPath, nodes: simNodeSpecs(2, { prefix: "keel-authz-comp" }), leaseRenewMs: 300 });
  undo.push(() => sim.close());
  const sched = await startScheduler({ kubeconfig: await kubeconfigFor("system:kube-scheduler") });
  undo.push(() => sched.close());
  const cm = await startControllerManager({ kubeconfig: await kubeconfigFor("system:kube-controller-manager"), nodeMonitorGracePeriodMs: 60_000 });
  undo.push(() => cm.close());
  await fx.client.create({ group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true }, "default", {
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "keel-web" },
    spec: { replicas: 3, selector: { matchLabels: { app: "keel-web" } }, template: { metadata: { labels: { app: "keel-web" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
  } as KubeObject);
  await waitFor("3 pods Running", async () => {
    const pods = (await fx.client.list(R.pods, "default", { labelSelector: "app=keel-web" })).items;
    return pods.length === 3 && pods.every((p) => (p.status as { phase?: string } | undefined)?.phase === "Running");
  });
});
