// Real kubectl 1.32 against an in-process keel API server (HTTPS, client certificate auth).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { KUBECTL, kubectlRun } from "../fixtures/kubectl.js";

const haveKubectl = existsSync(KUBECTL);
let dir = "";
let server: RunningApiServer;

const kubectl = (args: string[], input?: string) => kubectlRun(dir, ["--kubeconfig", server.kubeconfigPath, ...args], { input });

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], input: string | undefined, pattern: RegExp): Promise<void> {
  const r = await kubectl(args, input);
  assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} should fail`);
  assert.match(r.stderr, pattern);
}

const APP = (replicas: number, envValue: string, cmKey: string) => `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: "${envValue}"}]
        resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {${cmKey}: "1"}
`;

const POD = (name: string, labels: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: shop, labels: {${labels}}}
spec:
  containers: [{name: c, image: busybox}]
`;

before(async () => {
  if (!haveKubectl) return;
  dir = mkdtempSync(join(tmpdir(), "keel-apiserver-kubectl-"));
  server = await startApiServer({ dataDir: join(dir, "data"), listen: "127.0.0.1:0" });
});

after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("TLS by default: the CA and keys live in the data dir with mode 0600", { skip: !haveKubectl }, () => {
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  for (const f of ["ca.key", "apiserver.key", "admin.key", "admin.token"]) assert.equal(statSync(join(dir, "data", "pki", f)).mode & 0o777, 0o600, f);
  assert.equal(statSync(server.kubeconfigPath).mode & 0o777, 0o600);
  assert.match(readFileSync(server.kubeconfigPath, "utf8"), /client-certificate-data/);
});

test("version, api-resources and namespaces", { skip: !haveKubectl }, async () => {
  assert.match(await ok(["version"]), /Server Version: v1\.32/);
  const res = await ok(["api-resources"]);
  for (const line of [/^pods\s+po\s+v1\s+true\s+Pod$/m, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m, /^customresourcedefinitions\s+crd,crds\s+apiextensions\.k8s\.io\/v1\s+false/m]) assert.match(res, line);
  assert.match(await ok(["get", "ns"]), /^default\s+Active\s+\d+s$/m);
  assert.match(await ok(["auth", "whoami"]), /Username\s+admin/);
  assert.equal((await ok(["auth", "can-i", "create", "pods"])).trim(), "yes");
});

test("apply a multi-document file, then apply an edit (three-way merge)", { skip: !haveKubectl }, async () => {
  const file = join(dir, "app.yaml");
  writeFileSync(file, APP(2, "a", "one"));
  const first = await ok(["apply", "-f", file]);
  assert.match(first, /namespace\/shop created/);
  assert.match(first, /deployment\.apps\/web created/);
  assert.match(first, /service\/web created/);
  assert.match(first, /configmap\/cfg created/);
  writeFileSync(file, APP(3, "b", "two"));
  const second = await ok(["apply", "-f", file]);
  assert.match(second, /namespace\/shop unchanged/);
  assert.match(second, /deployment\.apps\/web configured/);
  assert.match(second, /service\/web unchanged/);
  const d = JSON.parse(await ok(["get", "deploy", "web", "-n", "shop", "-o", "json"]));
  assert.equal(d.spec.replicas, 3);
  assert.deepEqual(d.spec.template.spec.containers[0].env, [{ name: "MODE", value: "b" }]);
  assert.equal(d.metadata.generation, 2);
  assert.equal(d.spec.strategy.type, "RollingUpdate", "defaulted");
  const cm = JSON.parse(await ok(["get", "cm", "cfg", "-n", "shop", "-o", "json"]));
  assert.deepEqual(cm.data, { two: "1" }, "the key removed from the file is removed");
});

test("get: table, wide, yaml, name, labels, field selectors, all namespaces", { skip: !haveKubectl }, async () => {
  await ok(["apply", "-f", "-"], POD("p1", "tier: a") + "---" + POD("p2", "tier: b"));
  const table = await ok(["get", "pods", "-n", "shop"]);
  assert.match(table, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
  assert.match(table, /^p1\s+0\/1\s+Pending\s+0\s+\d+s$/m);
  assert.match(await ok(["get", "pods", "-n", "shop", "-o", "wide"]), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
  assert.match(await ok(["get", "deploy", "-n", "shop"]), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+0\/3\s+0\s+0\s+\d+s$/m);
  assert.match(await ok(["get", "svc", "web", "-n", "shop"]), /^web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP/m);
  assert.match(await ok(["get", "pod", "p1", "-n", "shop", "-o", "yaml"]), /^ {2}name: p1$/m);
  assert.equal(await ok(["get", "pods", "-n", "shop", "-l", "tier=a", "-o", "name"]), "pod/p1\n");
  assert.equal(await ok(["get", "pods", "-n", "shop", "-l", "tier in (a,b),tier!=a", "-o", "name"]), "pod/p2\n");
  assert.equal(await ok(["get", "pods", "-n", "shop", "--field-selector", "metadata.name=p2,status.phase=Pending", "-o", "name"]), "pod/p2\n");
  const all = await ok(["get", "pods", "-A"]);
  assert.match(all, /^NAMESPACE\s+NAME\s+READY/m);
  assert.match(all, /^shop\s+p1\s+/m);
  const jsonList = JSON.parse(await ok(["get", "pods", "-n", "shop", "-o", "json"]));
  assert.deepEqual(jsonList.items.map((p: { metadata: { name: string } }) => p.metadata.name), ["p1", "p2"]);
  assert.equal(jsonList.items[0].status.qosClass, "BestEffort");
  await fails(["get", "pods", "-n", "shop", "--field-selector", "spec.bogus=x"], undefined, /field label not supported: spec\.bogus/);
});

test("describe, label, annotate, scale", { skip: !haveKubectl }, async () => {
  const desc = await ok(["describe", "deploy", "web", "-n", "shop"]);
  assert.match(desc, /Replicas:\s+3 desired/);
  assert.match(desc, /Image:\s+nginx:1\.27/);
  await ok(["label", "deploy", "web", "-n", "shop", "env=prod"]);
  await ok(["annotate", "deploy", "web", "-n", "shop", "note=hello"]);
  assert.match(await ok(["scale", "deploy", "web", "-n", "shop", "--replicas=1"]), /scaled/);
  const d = JSON.parse(await ok(["get", "deploy", "web", "-n", "shop", "-o", "json"]));
  assert.equal(d.metadata.labels.env, "prod");
  assert.equal(d.metadata.annotations.note, "hello");
  assert.equal(d.spec.replicas, 1);
  await fails(["label", "deploy", "web", "-n", "shop", "env=dev"], undefined, /already has a value/);
});

test("patch: strategic, merge and JSON", { skip: !haveKubectl }, async () => {
  await ok(["patch", "deploy", "web", "-n", "shop", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}']);
  await ok(["patch", "deploy", "web", "-n", "shop", "--type=merge", "-p", '{"metadata":{"labels":{"patched":"merge"}}}']);
  await ok(["patch", "deploy", "web", "-n", "shop", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":4}]']);
  const d = JSON.parse(await ok(["get", "deploy", "web", "-n", "shop", "-o", "json"]));
  assert.deepEqual(d.spec.template.spec.containers.map((c: { name: string }) => c.name), ["nginx", "sidecar"], "containers merged by name");
  assert.equal(d.metadata.labels.patched, "merge");
  assert.equal(d.spec.replicas, 4);
  await fails(["patch", "deploy", "web", "-n", "shop", "--type=json", "-p", '[{"op":"replace","path":"/spec/nope/x","value":1}]'], undefined, /Invalid|rejected/);
});

test("create namespace, configmap and secret (protobuf bodies)", { skip: !haveKubectl }, async () => {
  assert.match(await ok(["create", "namespace", "keel-extra"]), /namespace\/keel-extra created/);
  await ok(["create", "configmap", "c1", "-n", "keel-extra", "--from-literal=a=b"]);
  await ok(["create", "secret", "generic", "s1", "-n", "keel-extra", "--from-literal=p=q"]);
  const s = JSON.parse(await ok(["get", "secret", "s1", "-n", "keel-extra", "-o", "json"]));
  assert.equal(Buffer.from(s.data.p, "base64").toString(), "q");
  assert.equal(s.type, "Opaque");
  assert.match(await ok(["get", "cm", "-n", "keel-extra"]), /^c1\s+1\s+\d+s$/m);
});

/** Every field kubectl renders itself must come back from the server unchanged. */
function assertContains(client: unknown, server: unknown, path = ""): void {
  if (client && typeof client === "object" && !Array.isArray(client)) {
    for (const [k, v] of Object.entries(client)) {
      if (k === "creationTimestamp") continue;
      assert.ok(server && typeof server === "object" && k in server, `${path}.${k} missing on the server`);
      assertContains(v, (server as Record<string, unknown>)[k], `${path}.${k}`);
    }
  } else if (Array.isArray(client)) {
    assert.ok(Array.isArray(server) && server.length === client.length, `${path}: list length`);
    client.forEach((x, i) => assertContains(x, (server as unknown[])[i], `${path}[${i}]`));
  } else assert.deepEqual(server, client, path);
}

test("typed creates (protobuf bodies) match kubectl's own rendering", { skip: !haveKubectl }, async () => {
  const cases: string[][] = [
    ["deployment", "d0", "--image=nginx:1.27", "--port=80", "--replicas=0"],
    ["deployment", "d2", "--image=nginx:1.27", "--replicas=2"],
    ["job", "j1", "--image=busybox", "--", "echo", "hi"],
    ["cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"],
    ["service", "clusterip", "s1", "--tcp=80:8080"],
    ["service", "nodeport", "s2", "--tcp=81:web"],
    ["configmap", "c2", "--from-literal=x=y"],
    ["serviceaccount", "sa1"],
  ];
  for (const c of cases) {
    const dd = c.indexOf("--");
    const [head, tail] = dd >= 0 ? [c.slice(0, dd), c.slice(dd)] : [c, []];
    const client = JSON.parse(await ok(["create", ...head, "-n", "keel-extra", "--dry-run=client", "-o", "json", ...tail]));
    const server = JSON.parse(await ok(["create", ...head, "-n", "keel-extra", "-o", "json", ...tail]));
    assertContains(client, server, c.slice(0, 2).join(" "));
  }
  const d0 = JSON.parse(await ok(["get", "deploy", "d0", "-n", "keel-extra", "-o", "json"]));
  assert.equal(d0.spec.replicas, 0, "an explicit zero is kept");
});

test("a CRD and its objects", { skip: !haveKubectl }, async () => {
  await ok(["apply", "-f", "-"], `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns: [{name: Size, type: integer, jsonPath: .spec.size}]
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, blue]}
`);
  const w = (size: number, color: string) => `apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: shop}\nspec: {size: ${size}, color: ${color}}\n`;
  assert.match(await ok(["apply", "-f", "-"], w(3, "red")), /widget\.example\.com\/w1 created/);
  assert.match(await ok(["apply", "-f", "-"], w(4, "red")), /configured/);
  assert.match(await ok(["get", "wd", "-n", "shop"]), /^NAME\s+SIZE\s+AGE\nw1\s+4\s+\d+s$/m);
  await fails(["apply", "-f", "-"], w(0, "green").replace("w1", "w2"), /spec\.size: Invalid value: 0|supported values: "red", "blue"/);
  assert.match(await ok(["explain", "widget.spec"]), /size\s+<integer>/);
  assert.match(await ok(["api-resources", "--api-group=example.com"]), /^widgets\s+wd\s+example\.com\/v1\s+true\s+Widget$/m);
  assert.match(await ok(["patch", "wd", "w1", "-n", "shop", "--type=merge", "-p", '{"spec":{"size":5}}']), /patched/);
  await fails(["patch", "wd", "w1", "-n", "shop", "--type=strategic", "-p", '{"spec":{"size":6}}'], undefined, /UnsupportedMediaType|not supported/);
  assert.equal(JSON.parse(await ok(["get", "wd", "w1", "-n", "shop", "-o", "json"])).spec.size, 5);
});

const GADGET_CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: gadgets, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;

test("deleting a CRD withdraws its resource and deletes its objects", { skip: !haveKubectl }, async () => {
  await ok(["apply", "-f", "-"], GADGET_CRD);
  await ok(["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {anything: [1, 2]}\n");
  assert.deepEqual(JSON.parse(await ok(["get", "gadget", "g1", "-o", "json"])).spec, { anything: [1, 2] });
  await ok(["delete", "crd", "gadgets.example.com"]);
  // (kubectl's discovery cache may still name the resource; the server no longer serves it)
  await fails(["get", "gadgets"], undefined, /doesn't have a resource type "gadgets"|could not find the requested resource/);
  await ok(["apply", "-f", "-"], GADGET_CRD);
  assert.match((await kubectl(["get", "gadgets"])).stderr, /No resources found/, "the old objects went with the CRD");
});

test("explain built-in kinds", { skip: !haveKubectl }, async () => {
  const out = await ok(["explain", "pods.spec.containers"]);
  assert.match(out, /KIND:\s+Pod/);
  assert.match(out, /image\s+<string>/);
  assert.match(await ok(["explain", "deployment.spec.strategy"]), /rollingUpdate\s+<Object>/);
});

test("get -w streams changes as table rows; events; server-side apply", { skip: !haveKubectl }, async () => {
  // Stream kubectl's output: write only once the initial list (the existing "cfg") is shown.
  const watcher = spawn(KUBECTL, ["--kubeconfig", server.kubeconfigPath, "--cache-dir", join(dir, "cache"), "get", "cm", "-n", "shop", "-w"],
    { env: { ...process.env, HOME: dir, KUBECONFIG: "" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  watcher.stdout!.on("data", (c) => { out += c; });
  try {
    const waitFor = async (re: RegExp, what: string) => {
      for (let i = 0; i < 300 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, re, what);
    };
    await waitFor(/^cfg\s+1\s+\d+s$/m, "the initial list");
    await ok(["create", "configmap", "watched", "-n", "shop", "--from-literal=a=b"]);
    await ok(["label", "cm", "watched", "-n", "shop", "seen=yes"]);
    await waitFor(/^watched\s+1\s+\d+s$(?:.|\n)*^watched\s+1\s+\d+s$/m, "an ADDED and a MODIFIED row");
    assert.match(out, /^NAME\s+DATA\s+AGE$/m);
  } finally {
    watcher.kill();
  }
  await ok(["apply", "-f", "-"], "apiVersion: v1\nkind: Event\nmetadata: {name: e1, namespace: shop}\ninvolvedObject: {kind: Pod, name: p1, namespace: shop}\nreason: Started\nmessage: hello\ntype: Normal\n");
  assert.match(await ok(["get", "events", "-n", "shop"]), /^\S+\s+Normal\s+Started\s+pod\/p1\s+hello$/m);
  assert.match(await ok(["apply", "--server-side", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: shop, labels: {a: b}}\ndata: {k: v, gone: x}\n"), /serverside-applied/);
  await ok(["label", "cm", "ssa", "-n", "shop", "other=kept"]);
  assert.match(await ok(["apply", "--server-side", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa, namespace: shop}\ndata: {k: w}\n"), /serverside-applied/);
  const ssa = JSON.parse(await ok(["get", "cm", "ssa", "-n", "shop", "-o", "json", "--show-managed-fields"]));
  assert.deepEqual(ssa.data, { k: "w" }, "a field the manager stopped applying is removed");
  assert.deepEqual(ssa.metadata.labels, { other: "kept" }, "another manager's label stays");
  assert.equal(ssa.metadata.managedFields[0].manager, "kubectl");
  assert.deepEqual(ssa.metadata.managedFields[0].fieldsV1, { "f:data": { "f:k": {} } });
});

test("bad input is refused and changes nothing", { skip: !haveKubectl }, async () => {
  const before = await ok(["get", "cm", "-n", "shop", "-o", "name"]);
  await fails(["create", "-f", "-"], '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"', /error|unexpected/i);
  await fails(["apply", "-f", "-"], "a: [b\n", /error/);
  await fails(["apply", "-f", "-"], POD("bad", "x: z").replace("image: busybox", "imagePullPolicy: Always"), /spec\.containers\[0\]\.image: Required value/);
  await fails(["apply", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg2, namespace: shop}\ndatax: {a: b}\n", /strict decoding error: unknown field "datax"/);
  const cm = JSON.parse(await ok(["get", "cm", "cfg", "-n", "shop", "-o", "json"]));
  cm.metadata.resourceVersion = "1";
  cm.data = { stale: "yes" };
  await fails(["replace", "-f", "-"], JSON.stringify(cm), /Conflict.*the object has been modified/);
  assert.equal(await ok(["get", "cm", "-n", "shop", "-o", "name"]), before);
  assert.deepEqual(JSON.parse(await ok(["get", "cm", "cfg", "-n", "shop", "-o", "json"])).data, { two: "1" });
  const anon = await kubectlRun(dir, ["--server", server.url, "--insecure-skip-tls-verify", "--token", "not-a-token", "get", "pods"], { timeout: 30_000 });
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr, /Unauthorized|provide credentials/);
});

test("delete waits for the object; deleting a namespace deletes its objects", { skip: !haveKubectl }, async () => {
  assert.match(await ok(["delete", "pod", "p1", "-n", "shop"]), /pod "p1" deleted/);
  await fails(["get", "pod", "p1", "-n", "shop"], undefined, /NotFound.*pods "p1" not found/);
  assert.match(await ok(["delete", "ns", "shop"]), /namespace "shop" deleted/);
  assert.match((await kubectl(["get", "all", "-n", "shop"])).stderr, /No resources found/);
  await fails(["get", "ns", "shop"], undefined, /not found/);
});
