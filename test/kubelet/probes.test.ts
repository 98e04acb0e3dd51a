// httpGet and tcpSocket probes connect from a network namespace on a socket the addon makes
// there (no helper process): status codes, headers, HTTPS without verification, refusals and
// timeouts read as kubelet's messages do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type AddressInfo, type Server } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePki } from "../../controlplane/apiserver/pki.js";
import { runHttpGet, runTcpSocket, type ProbeTarget } from "../../kubelet/probes.js";

function listen(s: Server): Promise<number> {
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r((s.address() as AddressInfo).port)));
}

// This process's own namespace, entered through the same path as a pod's /proc/PID/ns/net.
const target = { netns: "/proc/self/ns/net", container: { name: "c", ports: [{ name: "web", containerPort: 0 }] } } as unknown as ProbeTarget;

test("httpGet: 2xx/3xx pass, others fail with the status, headers are sent", async (t) => {
  let seen: IncomingHttpHeaders = {};
  const srv = createHttpServer((req, res) => {
    seen = req.headers;
    res.statusCode = req.url === "/ok" ? 200 : req.url === "/moved" ? 302 : 503;
    res.end();
  });
  const port = await listen(srv);
  t.after(() => srv.close());
  assert.deepEqual(await runHttpGet(target, { path: "/ok", port, httpHeaders: [{ name: "X-Probe", value: "yes" }] }, 2000), { ok: true, message: "" });
  assert.equal(seen["user-agent"], "kube-probe/1.32");
  assert.equal(seen["x-probe"], "yes");
  assert.equal((await runHttpGet(target, { path: "/moved", port }, 2000)).ok, true);
  assert.deepEqual(await runHttpGet(target, { path: "/down", port }, 2000), { ok: false, message: "HTTP probe failed with statuscode: 503" });
  // a named port resolves through the container's ports
  const named = { ...target, container: { name: "c", ports: [{ name: "web", containerPort: port }] } } as unknown as ProbeTarget;
  assert.equal((await runHttpGet(named, { path: "/ok", port: "web" }, 2000)).ok, true);
});

test("httpGet over HTTPS does not verify the certificate", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keel-probe-pki-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await ensurePki(dir);
  const srv = createHttpsServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (_req, res) => res.end("ok"));
  const port = await listen(srv);
  t.after(() => srv.close());
  assert.deepEqual(await runHttpGet(target, { path: "/", port, scheme: "HTTPS" }, 2000), { ok: true, message: "" });
});

test("tcpSocket: a listener passes, a closed port fails with the dial error; a server that never answers times httpGet out", async (t) => {
  const srv = createTcpServer((s) => s.destroy());
  const port = await listen(srv);
  assert.deepEqual(await runTcpSocket(target, { port }, 2000), { ok: true, message: "" });
  await new Promise((r) => srv.close(r));
  const refused = await runTcpSocket(target, { port }, 2000);
  assert.equal(refused.ok, false);
  assert.match(refused.message, new RegExp(`^dial tcp 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  const http = await runHttpGet(target, { path: "/", port }, 2000);
  assert.match(http.message, new RegExp(`^Get "http://127\\.0\\.0\\.1:${port}/": dial tcp`));
  // a server that accepts and never answers: the probe's deadline
  const mute = createTcpServer(() => {});
  const mutePort = await listen(mute);
  t.after(() => mute.close());
  assert.deepEqual(await runHttpGet(target, { path: "/", port: mutePort }, 200), { ok: false, message: `Get "http://127.0.0.1:${mutePort}/": context deadline exceeded` });
});
