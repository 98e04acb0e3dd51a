// ServiceAccount tokens mounted into pods: a kubelet on node credentials under a real API server
// gives each pod /var/run/secrets/kubernetes.io/serviceaccount (token bound to the pod, ca.crt,
// namespace), read-only; the token works as a bearer token for kubectl; automountServiceAccountToken
// false (on the pod or its account) mounts nothing; the node may get accounts and tokens only
// for its own pods; tokens are renewed at 80% of their lifetime; standalone mounts nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "../../api/index.js";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { kubeconfigYaml, writeKubeconfig, writeNodeKubeconfig } from "../../controlplane/apiserver/pki.js";
import { ApiStatusError, KubeClient, R } from "../../controlplane/kit/index.js";
import { startKubelet, type RunningKubelet } from "../../kubelet/index.js";
import { KUBECTL, runKubectl } from "../fixtures/kubectl.js";
import { KubeletPaths } from "../../kubelet/paths.js";
import { podServiceAccountMounts, SERVICE_ACCOUNT_MOUNT_PATH, ServiceAccountTokens, type TokenClient } from "../../kubelet/service-account-token.js";

const NODE = "keel-satoken-node";
const SA = SERVICE_ACCOUNT_MOUNT_PATH;

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, ms = 90_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const busybox = (name: string, script: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: "default" },
  spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, restartPolicy: "Never", ...extra, containers: [{ name: "main", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script] }] },
}) as Pod;

// Prints what the pod sees of its mount, then keeps printing its token (which stays valid while the pod lives: it is bound to it).
const REPORT = `if [ -d ${SA} ]; then echo "TOKEN=$(cat ${SA}/token)"; echo "NS=$(cat ${SA}/namespace)"; echo "CA=$(head -1 ${SA}/ca.crt)";
  if touch ${SA}/x 2>/dev/null; then echo WRITABLE; else echo READONLY; fi; else echo NOMOUNT; fi; echo DONE;
  while :; do [ -f ${SA}/token ] && echo "NOW=$(cat ${SA}/token)"; sleep 0.3; done`;

describe("ServiceAccount tokens in pods", () => {
  let dir = "";
  let server: RunningApiServer;
  let kubelet: RunningKubelet | undefined;
  let admin: KubeClient;
  let node: KubeClient;
  let nodeKubeconfig = "";

  /** The pod's output once it has printed DONE. */
  const output = async (name: string) => {
    const pod = await waitFor(`pod ${name} running`, async () => {
      const p = await admin.get<Pod>(R.pods, "default", name).catch(() => undefined);
      return p?.status?.containerStatuses?.[0]?.state?.running && p;
    });
    const log = kubelet!.core.paths.containerLog(pod, "main", 0);
    const text = await waitFor(`pod ${name} output`, () => existsSync(log) && readFileSync(log, "utf8").includes("DONE") && readFileSync(log, "utf8"));
    const line = (key: string) => new RegExp(`${key}=(.*)$`, "m").exec(text)?.[1]?.trim();
    return { pod, text, token: line("TOKEN"), ns: line("NS"), ca: line("CA") };
  };

  const start = () => startKubelet({
    kubeconfig: nodeKubeconfig, nodeName: NODE, root: join(dir, "kubelet"), logDir: join(dir, "logs"),
    hostIP: "127.0.0.1", syncIntervalMs: 100, backoffBaseMs: 300, leaseRenewMs: 1000, nodeStatusMs: 1000,
    log: process.env.KEEL_TEST_LOG ? (m) => console.error(m) : undefined,
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-kubelet-satoken-"));
    server = await startApiServer({ dataDir: join(dir, "api"), listen: "127.0.0.1:0" });
    admin = new KubeClient(server.kubeconfigPath, "keel-satoken-test");
    // No controller-manager here: the accounts its serviceaccounts controller would make.
    await admin.create(R.serviceaccounts, "default", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } });
    await admin.create(R.serviceaccounts, "default", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "quiet", namespace: "default" }, automountServiceAccountToken: false } as never);
    await admin.create(R.serviceaccounts, "default", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "unused", namespace: "default" } });
    nodeKubeconfig = await writeNodeKubeconfig(join(dir, "api"), NODE, join(dir, "node.kubeconfig"));
    node = new KubeClient(nodeKubeconfig, "keel-satoken-node-test");
    kubelet = await start();
  });
  after(async () => {
    if (kubelet) { await kubelet.core.stopAll(0).catch(() => {}); await kubelet.close().catch(() => {}); }
    admin?.close();
    node?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("mounts a pod-bound token, the cluster CA and the namespace, read-only; kubectl accepts the token", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, async () => {
    await admin.create(R.pods, "default", busybox("reader", REPORT));
    const out = await output("reader");
    assert.match(out.text, /READONLY/);
    assert.equal(out.ns, "default");
    assert.equal(out.ca, "-----BEGIN CERTIFICATE-----");
    assert.match(out.token ?? "", /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(out.token!.split(".")[1], "base64url").toString());
    assert.equal(claims.sub, "system:serviceaccount:default:default");
    assert.deepEqual(claims["kubernetes.io"].pod, { name: "reader", uid: out.pod.metadata.uid });
    assert.equal(claims.exp - claims.iat, 3607);

    const kc = join(dir, "sa.kubeconfig");
    writeKubeconfig(kc, kubeconfigYaml({ server: server.url, caCertPem: server.caCertPem, token: out.token, user: "sa" }));
    const whoami = await runKubectl(dir, kc, ["auth", "whoami", "-o", "json"]);
    assert.equal(JSON.parse(whoami).status.userInfo.username, "system:serviceaccount:default:default");
  });

  it("mounts nothing when automountServiceAccountToken is false on the pod or its ServiceAccount, or there is no account", async () => {
    await admin.create(R.pods, "default", busybox("no-automount", REPORT, { automountServiceAccountToken: false }));
    await admin.create(R.pods, "default", busybox("quiet-account", REPORT, { serviceAccountName: "quiet" }));
    // The pod's own word wins over its account's.
    await admin.create(R.pods, "default", busybox("quiet-but-asks", REPORT, { serviceAccountName: "quiet", automountServiceAccountToken: true }));
    assert.match((await output("no-automount")).text, /NOMOUNT/);
    assert.match((await output("quiet-account")).text, /NOMOUNT/);
    // No such account (keel has no admission to refuse the pod): it runs, without a token.
    await admin.create(R.pods, "default", busybox("ghost-account", REPORT, { serviceAccountName: "ghost" }));
    assert.match((await output("ghost-account")).text, /NOMOUNT/);
    const asks = await output("quiet-but-asks");
    assert.equal(JSON.parse(Buffer.from(asks.token!.split(".")[1], "base64url").toString()).sub, "system:serviceaccount:default:quiet");
  });

  it("lets the node get accounts and create tokens only for its own pods' accounts, bound to its own pods", async () => {
    const reader = (await output("reader").catch(() => admin.create(R.pods, "default", busybox("reader", REPORT)).then(() => output("reader")))).pod;
    // A pod of another node, running as the same account (no kubelet there: it stays Pending).
    const elsewhere = await admin.create<Pod>(R.pods, "default", { ...busybox("elsewhere", "sleep 1"), spec: { ...busybox("elsewhere", "").spec, nodeName: "keel-satoken-other" } } as Pod);
    const bound = (p: Pod, uid = p.metadata.uid) => ({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: p.metadata.name, uid } });
    const token = (sa: string, spec: unknown) => node.request<{ status: { token: string } }>("POST", `/api/v1/namespaces/default/serviceaccounts/${sa}/token`, { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", spec });
    const err = (p: Promise<unknown>) => p.then(() => ({ code: 0, message: "" }), (e) => (e instanceof ApiStatusError ? { code: e.code, message: e.message } : { code: -1, message: String(e) }));
    assert.ok((await token("default", bound(reader))).status.token);
    // The node authorizer: no pod on this node runs as "unused".
    assert.equal((await err(token("unused", bound(reader)))).code, 403);
    // NodeRestriction: bound to one of the node's own pods, by uid.
    const free = await err(token("default", {}));
    assert.equal(free.code, 403);
    assert.match(free.message, /node requested token not bound to a pod/);
    assert.match((await err(token("default", bound(reader, "")))).message, /without a uid/);
    assert.match((await err(token("default", bound(reader, "0000")))).message, /does not match the pod's UID/);
    assert.match((await err(token("default", bound(elsewhere)))).message, /bound to a pod scheduled on a different node/);
    // The admin (not a node) may still mint free-standing tokens.
    assert.ok((await admin.request<{ status: { token: string } }>("POST", "/api/v1/namespaces/default/serviceaccounts/unused/token", { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1", spec: {} })).status.token);
    assert.equal((await err(node.request("GET", "/api/v1/namespaces/default/serviceaccounts/default"))).code, 0); // 0: allowed
    assert.equal((await err(node.request("GET", "/api/v1/namespaces/default/serviceaccounts/unused"))).code, 403);
  });

  it("a restarted kubelet takes up its pods' tokens: a fresh one at once, renewed from then on", async () => {
    const { pod, token } = await output("reader").catch(() => admin.create(R.pods, "default", busybox("reader", REPORT)).then(() => output("reader")));
    const file = join(kubelet!.core.paths.volumeDir(pod.metadata.uid!, "projected", "kube-api-access"), "token");
    assert.equal(readFileSync(file, "utf8"), token); // what the container read is what the kubelet wrote
    await kubelet!.close(); // the pod keeps running
    kubelet = undefined;
    kubelet = await start();
    const fresh = await waitFor("a fresh token", () => { const t = readFileSync(file, "utf8"); return t !== token && t; }, 30_000);
    const claims = JSON.parse(Buffer.from(fresh.split(".")[1], "base64url").toString());
    assert.deepEqual(claims["kubernetes.io"].pod, { name: "reader", uid: pod.metadata.uid });
    // The container sees the new file through its mount of the directory.
    const log = kubelet!.core.paths.containerLog(pod, "main", 0);
    await waitFor("the container to read the fresh token", () => readFileSync(log, "utf8").includes(`NOW=${fresh}`), 30_000);
  });
});

describe("ServiceAccountTokens without a cluster", () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-satoken-unit-"));
  const paths = new KubeletPaths(join(dir, "root"), join(dir, "logs"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const pod = (uid: string, extra: Partial<Pod["metadata"]> = {}): Pod => ({ metadata: { name: `p-${uid}`, namespace: "team", uid, ...extra }, spec: { containers: [{ name: "c" }], automountServiceAccountToken: true } } as Pod);

  it("renews the token at 80% of its lifetime and writes it in place", async () => {
    let n = 0;
    const bodies: unknown[] = [];
    const client: TokenClient = {
      request: (async (_m: string, _p: string, body?: unknown) => {
        bodies.push(body);
        // A 1 s token: renewed about 0.8 s later.
        return { status: { token: `tok-${++n}`, expirationTimestamp: new Date(Date.now() + 1000).toISOString() } };
      }) as TokenClient["request"],
    };
    const tokens = new ServiceAccountTokens({ client, caPem: "CA\n" });
    try {
      const m = await tokens.mounts(pod("u1"), { name: "c" } as never, paths);
      assert.deepEqual(m, [{ destination: SA, type: "bind", source: paths.volumeDir("u1", "projected", "kube-api-access"), options: ["rbind", "rprivate", "ro"] }]);
      const file = join(m[0].source!, "token");
      assert.equal(readFileSync(file, "utf8"), "tok-1");
      assert.equal(readFileSync(join(m[0].source!, "namespace"), "utf8"), "team");
      assert.equal(readFileSync(join(m[0].source!, "ca.crt"), "utf8"), "CA\n");
      await waitFor("a renewed token", () => readFileSync(file, "utf8") !== "tok-1", 30_000);
      assert.deepEqual((bodies[0] as { spec: unknown }).spec, { expirationSeconds: 3607, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "p-u1", uid: "u1" } });
      // A second container of the same pod shares the token: no new request.
      const before = n;
      await tokens.mounts(pod("u1"), { name: "d" } as never, paths);
      assert.equal(n, before);
    } finally {
      tokens.close();
    }
  });

  it("mounts nothing for static pods, containers that mount the path themselves, or a standalone kubelet", async () => {
    const client: TokenClient = { request: (async () => { throw new Error("no request expected"); }) as TokenClient["request"] };
    const tokens = new ServiceAccountTokens({ client });
    try {
      assert.deepEqual(await tokens.mounts(pod("u2", { annotations: { "kubernetes.io/config.source": "file" } }), {}, paths), []);
      assert.deepEqual(await tokens.mounts(pod("u3"), { volumeMounts: [{ mountPath: `${SA}/` }] }, paths), []);
      assert.deepEqual(await podServiceAccountMounts(pod("u4"), {}, paths, undefined), []);
    } finally {
      tokens.close();
    }
  });
});
