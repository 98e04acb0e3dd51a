// /openapi/v2: the Swagger 2.0 document (JSON) and its gnostic protobuf form, read by real
// kubectl for `explain --output=plaintext-openapiv2` and for apply's validation when
// /openapi/v3 is not there (shown through a proxy that hides v3).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { KUBECTL, kubectlRun, type KubectlResult } from "../fixtures/kubectl.js";

const skip = existsSync(KUBECTL) ? false : "kubectl is not installed";
let dir = "";
let server: RunningApiServer;
let proxy: http.Server;
let proxyUrl = "";

function kubectl(args: string[], input = "", viaProxy = false): Promise<KubectlResult> {
  const target = viaProxy ? ["--kubeconfig", "/dev/null", "--server", proxyUrl, "--token", "unused"] : ["--kubeconfig", server.kubeconfigPath];
  return kubectlRun(dir, [...target, ...args], { input });
}

async function ok(args: string[], input?: string, viaProxy = false): Promise<string> {
  const r = await kubectl(args, input, viaProxy);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

async function getJson(path: string, accept = "application/json"): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.get(new URL(path, server.url), { headers: { Authorization: `Bearer ${server.adminToken}`, Accept: accept }, ca: server.caCertPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "keel-openapi-v2-"));
  server = await startApiServer({ dataDir: join(dir, "data"), listen: "127.0.0.1:0", store: "sqlite" });
  // A plain-HTTP proxy that answers 404 for /openapi/v3, so kubectl must fall back to v2.
  proxy = http.createServer((req, res) => {
    if (req.url!.startsWith("/openapi/v3")) {
      req.resume();
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: 404, reason: "NotFound" }));
      return;
    }
    const u = new URL(req.url!, server.url);
    const up = https.request(u, { method: req.method, headers: { ...req.headers, host: u.host, authorization: `Bearer ${server.adminToken}` }, ca: server.caCertPem }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("GET /openapi/v2 as JSON: definitions with their kinds, PATCH operations with fieldValidation", async () => {
  const r = await getJson("/openapi/v2");
  assert.equal(r.status, 200);
  const doc = JSON.parse(r.body.toString()) as { swagger: string; definitions: Record<string, Record<string, unknown>>; paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; "x-kubernetes-group-version-kind"?: unknown }>> };
  assert.equal(doc.swagger, "2.0");
  const deploy = doc.definitions["io.k8s.api.apps.v1.Deployment"]!;
  assert.deepEqual(deploy["x-kubernetes-group-version-kind"], [{ group: "apps", version: "v1", kind: "Deployment" }]);
  // v2 refs point into #/definitions, and none dangles.
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
  assert.ok(refs.length > 0);
  for (const ref of refs) {
    const name = ref.slice('"$ref":"#/definitions/'.length, -1);
    assert.ok(ref.includes("#/definitions/") && doc.definitions[name], `dangling ${ref}`);
  }
  const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]!.patch!;
  assert.deepEqual(patch["x-kubernetes-group-version-kind"], { group: "apps", version: "v1", kind: "Deployment" });
  assert.ok(patch.parameters!.some((p) => p.name === "fieldValidation" && p.in === "query"));
  assert.ok(patch.parameters!.some((p) => p.name === "body" && p.in === "body"));
});

test("GET /openapi/v2 as protobuf (what kubectl asks for)", async () => {
  const r = await getJson("/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json");
  assert.equal(r.status, 200);
  assert.match(r.type, /protobuf/);
  // Document.swagger is field 1 (tag 0x0a), length 3, "2.0".
  assert.deepEqual([...r.body.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
});

test("kubectl explain reads the v2 document (built-in kinds and a custom resource)", { skip }, async () => {
  const out = await ok(["explain", "deployment.spec.strategy", "--output=plaintext-openapiv2"]);
  assert.match(out, /KIND:\s+Deployment/);
  assert.match(out, /rollingUpdate\s+<Object>/);
  const ports = await ok(["explain", "pods.spec.containers.ports", "--output=plaintext-openapiv2"]);
  assert.match(ports, /containerPort\s+<integer> -required-/);
  const recursive = await ok(["explain", "pods", "--recursive", "--output=plaintext-openapiv2"]);
  assert.ok(recursive.split("\n").length > 100);
  await ok(["apply", "-f", "-"], `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.v2.keel.dev}
spec:
  group: v2.keel.dev
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the gadget should be.
            properties:
              size: {type: integer, description: How big the gadget is.}
`);
  let last = "";
  for (let i = 0; i < 60; i++) {
    const r = await kubectl(["explain", "gadgets.spec", "--output=plaintext-openapiv2"]);
    last = r.stdout + r.stderr;
    if (r.code === 0 && /How big the gadget is/.test(last)) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.match(last, /size\s+<integer>/);
});

test("kubectl apply --validate=strict falls back to /openapi/v2 when v3 is missing", { skip }, async () => {
  const bad = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: v2-strict, namespace: default}\ndata: {a: b}\nbogus: 1\n`;
  const r = await kubectl(["apply", "--validate=strict", "-f", "-", "-v=6"], bad, true);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /GET [^ ]*\/openapi\/v2\S* 200/);
  // kubectl found fieldValidation in the v2 document, so the server did the strict check.
  assert.match(r.stderr, /fieldValidation=Strict/);
  assert.match(r.stderr, /unknown field "bogus"/);
  assert.doesNotMatch(r.stderr, /failed to download openapi/);
  const out = await ok(["apply", "--validate=strict", "-f", "-"], bad.replace("bogus: 1\n", ""), true);
  assert.match(out, /configmap\/v2-strict created/);
});
