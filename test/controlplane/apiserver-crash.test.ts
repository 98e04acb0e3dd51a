// Fault test: the API server (its own process) is SIGKILLed during a burst of concurrent
// creates and started again on the same data directory: every create that was answered 201
// is there, whole, and the server serves normally.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = mkdtempSync(join(tmpdir(), "keel-apiserver-crash-"));
const dataDir = join(dir, "data");
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function startChild(listen: string): Promise<{ child: ChildProcess; url: string }> {
  const mod = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "controlplane", "apiserver", "index.js")).href;
  const code = `import { startApiServer } from ${JSON.stringify(mod)};
const s = await startApiServer({ dataDir: ${JSON.stringify(dataDir)}, listen: ${JSON.stringify(listen)} });
process.stdout.write(s.url + "\\n");`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (c) => { buf += c; if (buf.includes("\n")) resolve(buf.trim()); });
    child.once("exit", (c) => reject(new Error(`apiserver exited early (${c})`)));
  });
  return { child, url };
}

function post(url: string, agent: Agent, ca: string, token: string, path: string, body: unknown): Promise<number> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    const req = request(new URL(path, url), { method: "POST", agent, ca, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Content-Length": payload.length } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
      res.on("error", () => resolve(0));
    });
    req.on("error", () => resolve(0)); // the server died mid-request: no answer, no promise made
    req.end(payload);
  });
}

test("SIGKILL during concurrent creates: every acknowledged write survives", async () => {
  const first = await startChild("127.0.0.1:0");
  const ca = readFileSync(join(dataDir, "pki", "ca.crt"), "utf8");
  const token = readFileSync(join(dataDir, "pki", "admin.token"), "utf8").trim();
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const acked: string[] = [];
  let next = 0;
  let killed = false;
  const workers = Array.from({ length: 16 }, async () => {
    while (!killed) {
      const name = `burst-${next++}`;
      const status = await post(first.url, agent, ca, token, "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { payload: name.repeat(20) } });
      if (status === 201) acked.push(name);
      else if (status !== 0) throw new Error(`unexpected status ${status}`);
    }
  });
  await new Promise((r) => setTimeout(r, 700));
  first.child.kill("SIGKILL");
  killed = true;
  await Promise.all(workers);
  agent.destroy();
  await new Promise((r) => first.child.exitCode !== null || first.child.signalCode !== null ? r(null) : first.child.once("exit", r));
  assert.ok(acked.length > 5, `only ${acked.length} creates were acknowledged before the kill`);

  const second = await startChild("127.0.0.1:0");
  const agent2 = new Agent({ keepAlive: false });
  const list = await new Promise<any>((resolve, reject) => {
    request(new URL("/api/v1/namespaces/default/configmaps", second.url), { agent: agent2, ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
    }).on("error", reject).end();
  });
  const stored = new Map<string, any>(list.items.map((o: any) => [o.metadata.name, o]));
  for (const name of acked) {
    const o = stored.get(name);
    assert.ok(o, `acknowledged ${name} is missing after the restart`);
    assert.equal(o.data.payload, name.repeat(20), `${name} is whole`);
  }
  // Writes work after the restart.
  assert.equal(await post(second.url, agent2, ca, token, "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "after" } }), 201);
  agent2.destroy();
  second.child.kill("SIGTERM");
});
