// kubectl logs, attach, exec (-i, -it), cp and port-forward through keel's API server, proxied
// to a real kubelet whose pod runs on keel's CNI inside a network namespace this test makes
// (never the host's). kubectl 1.32 speaks WebSocket v5.channel.k8s.io for exec/attach/cp and
// SPDY/3.1 tunnelled in a WebSocket for port-forward; plain SPDY is its fallback. RBAC decides
// who may exec.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "../../api/index.js";
import { kubeconfigYaml, startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { KubeClient, R } from "../../controlplane/kit/index.js";
import { CniNetwork } from "../../kubelet/cni-network.js";
import { startKubelet, type RunningKubelet } from "../../kubelet/index.js";
import { KUBECTL, kubectlRun } from "../fixtures/kubectl.js";

const NODE = "keel-streaming-node";

interface Run { code: number; stdout: string; stderr: string }

describe("kubectl logs, exec, cp and port-forward through the API server", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, () => {
  const nodeNs = `keel-kst-${process.pid % 100000}`;
  let dir = "";
  let server: RunningApiServer;
  let kubelet: RunningKubelet | undefined;
  let client: KubeClient;

  const kubectlArgs = (args: string[]) => ["--kubeconfig", server.kubeconfigPath, "--cache-dir", join(dir, "cache"), ...args];
  const env = () => ({ ...process.env, HOME: dir, KUBECONFIG: "" });
  /** Runs kubectl to its end; never rejects (the exit code is part of what tests check). */
  const kubectl = (args: string[], input?: string) => kubectlRun(dir, ["--kubeconfig", server.kubeconfigPath, ...args], { input });
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-kubelet-streaming-"));
    execFileSync("ip", ["netns", "add", nodeNs]);
    execFileSync("ip", ["-n", nodeNs, "link", "set", "lo", "up"]);
    server = await startApiServer({ dataDir: join(dir, "api"), listen: "127.0.0.1:0" });
    client = new KubeClient(server.kubeconfigPath, "keel-streaming-test");
    kubelet = await startKubelet({
      kubeconfig: server.kubeconfigPath, nodeName: NODE, root: join(dir, "kubelet"), logDir: join(dir, "logs"),
      hostIP: "127.0.0.1", listen: "127.0.0.1:0", syncIntervalMs: 100, backoffBaseMs: 300, leaseRenewMs: 1000, nodeStatusMs: 1000,
      network: new CniNetwork({ nodeNetns: `/run/netns/${nodeNs}`, bridge: `keelks${process.pid % 10000}`, podCIDR: "10.209.9.0/24", stateDir: join(dir, "cni") }),
      log: process.env.KEEL_TEST_LOG ? (m) => console.error(m) : undefined,
    });
    await client.create<Pod>(R.pods, "default", {
      metadata: { name: "web", namespace: "default" },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 1, restartPolicy: "Never",
        containers: [
          { name: "main", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && echo started && exec httpd -f -p 8080 -h /www"] },
          { name: "ticker", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 0.7; done; echo oops >&2"] },
          { name: "clock", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo clock $i; sleep 0.2; done"] },
        ],
      },
    } as Pod);
    const until = Date.now() + 90_000;
    for (;;) {
      const p = await client.get<Pod>(R.pods, "default", "web").catch(() => undefined);
      if (p?.status?.containerStatuses?.find((c) => c.name === "main")?.state?.running) break;
      if (Date.now() > until) throw new Error(`pod web did not start: ${JSON.stringify(p?.status)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (kubelet) { await kubelet.core.stopAll(0).catch(() => {}); await kubelet.close().catch(() => {}); }
    client?.close();
    await server?.close();
    try { execFileSync("ip", ["netns", "del", nodeNs]); } catch { /* not made */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it("kubectl logs -f follows a container to its end; logs, --tail and --timestamps read the CRI log", async () => {
    // Started while the ticker still runs (or just after): either way it ends when the container does.
    assert.equal(await ok(["logs", "-f", "web", "-c", "ticker"]), "tick 1\ntick 2\ntick 3\noops\n");
    assert.equal(await ok(["logs", "web", "-c", "main"]), "started\n");
    assert.equal(await ok(["logs", "web", "-c", "ticker", "--tail=2"]), "tick 3\noops\n");
    assert.equal(await ok(["logs", "web", "-c", "ticker", "--limit-bytes=9"]), "tick 1\nti");
    assert.equal(await ok(["logs", "web", "-c", "ticker", "--since=1h"]), "tick 1\ntick 2\ntick 3\noops\n");
    const stamped = (await ok(["logs", "web", "-c", "ticker", "--timestamps"])).trim().split("\n");
    assert.equal(stamped.length, 4);
    assert.match(stamped[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick 1$/);
    const r = await kubectl(["logs", "web", "-c", "nope"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /container nope is not valid for pod web/);
  });

  it("kubectl logs --previous shows the instance before a restart", async () => {
    await client.create<Pod>(R.pods, "default", {
      metadata: { name: "crash", namespace: "default" },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "echo run-$(cut -c1-8 /proc/sys/kernel/random/uuid); sleep 0.3; exit 1"] }] },
    } as Pod);
    const until = Date.now() + 30_000;
    while (((await client.get<Pod>(R.pods, "default", "crash")).status?.containerStatuses?.[0]?.restartCount ?? 0) < 1) {
      if (Date.now() > until) throw new Error("crash did not restart");
      await new Promise((r) => setTimeout(r, 100));
    }
    const previous = await ok(["logs", "crash", "--previous"]);
    assert.match(previous, /^run-[0-9a-f]{8}\n$/);
    const r = await kubectl(["logs", "web", "-c", "main", "--previous"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /previous terminated container "main" in pod "web" not found/);
    await client.delete(R.pods, "default", "crash");
  });

  it("kubectl attach follows a running container's output", async (t) => {
    const at = spawn(KUBECTL, kubectlArgs(["attach", "web", "-c", "clock"]), { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    t.after(() => { at.kill("SIGTERM"); });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`attach showed ${JSON.stringify(out)}`)), 20_000);
      at.stdout.on("data", (d: Buffer) => { out += d.toString(); if ((out.match(/^clock \d+$/gm) ?? []).length >= 3) { clearTimeout(timer); resolve(); } });
    });
    // Only what the container prints after attaching: consecutive ticks from some n on.
    const n = (out.match(/^clock (\d+)$/gm) ?? []).map((l) => Number(l.split(" ")[1]));
    assert.deepEqual(n.slice(0, 3), [n[0], n[0] + 1, n[0] + 2]);
  });

  it("kubectl exec gives the command's stdout, stderr and exit code", async () => {
    const r = await kubectl(["exec", "web", "-c", "main", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.equal(r.stdout, "out\n");
    assert.match(r.stderr, /^err\n/);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(await ok(["exec", "web", "-c", "main", "--", "cat", "/www/index.html"]), "hello-from-pod\n");
    const missing = await kubectl(["exec", "web", "-c", "main", "--", "/no/such/command"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /ENOENT.*execve '\/no\/such\/command'/);
  });

  it("kubectl exec -i passes stdin through to its end", async () => {
    const big = "abc\n".repeat(50_000);
    assert.equal(await ok(["exec", "-i", "web", "-c", "main", "--", "tr", "a-z", "A-Z"], big), big.toUpperCase());
  });

  it("kubectl exec -it runs on a terminal in the container, sized as kubectl's, with the exit code", async () => {
    // kubectl needs a terminal of its own: script(1) gives it one, sized by stty before it runs.
    const cmd = [KUBECTL, ...kubectlArgs(["exec", "-it", "web", "-c", "main", "--", "sh"])].map((a) => `'${a}'`).join(" ");
    const r = await new Promise<Run>((resolve) => {
      const child = execFile("script", ["-qec", `stty rows 33 cols 101; exec ${cmd}`, "/dev/null"], { env: env(), timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }));
      // Typed slowly enough for the shell to be there; the answers come back through the pty.
      setTimeout(() => child.stdin!.write("tty; stty size; echo marker-$((6*7))\n"), 1500);
      setTimeout(() => child.stdin!.write("exit 7\n"), 2500);
    });
    assert.match(r.stdout, /\/dev\/pts\/\d+\r?\n/, r.stdout + r.stderr);
    assert.match(r.stdout, /33 101\r?\n/);
    assert.match(r.stdout, /marker-42/);
    assert.equal(r.code, 7, r.stdout + r.stderr);
  });

  it("kubectl's SPDY fallback: exec with stdin and exit code, port-forward", async (t) => {
    // KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false and KUBECTL_PORT_FORWARD_WEBSOCKETS=false make kubectl
    // use SPDY/3.1 upgrades, as it does by itself when a WebSocket upgrade fails.
    const spdy = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false", KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" };
    const spdyEnv = { ...env(), ...spdy };
    const run = (args: string[], input: string) => kubectlRun(dir, ["--kubeconfig", server.kubeconfigPath, ...args], { input, env: spdy });
    const r = await run(["exec", "-i", "web", "-c", "main", "--", "sh", "-c", "tr a-z A-Z; echo err >&2; exit 4"], "spdy in\n");
    assert.equal(r.stdout, "SPDY IN\n");
    assert.match(r.stderr, /^err\n/);
    assert.equal(r.code, 4, r.stderr);
    const pf = spawn(KUBECTL, kubectlArgs(["port-forward", "--address", "127.0.0.1", "pod/web", ":8080"]), { env: spdyEnv, stdio: ["ignore", "pipe", "pipe"] });
    t.after(() => { pf.kill("SIGTERM"); });
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      pf.stdout.on("data", (d: Buffer) => { out += d.toString(); const m = /127\.0\.0\.1:(\d+) -> 8080/.exec(out); if (m) resolve(Number(m[1])); });
      pf.on("exit", (code) => reject(new Error(`port-forward exited ${code}`)));
    });
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "hello-from-pod\n");
  });

  it("kubectl exec into a container that is not running is refused with a clear message", async () => {
    const r = await kubectl(["exec", "web", "-c", "ticker", "--", "true"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /container ticker is not running/);
  });

  it("speaks v5.channel.k8s.io to a plain WebSocket client; refuses anonymous upgrades and non-upgrades", async () => {
    const { WebSocket } = await import("ws");
    const base = server.url.replace(/^http/, "ws");
    const q = "command=sh&command=-c&command=cat%3B+echo+done+%3E%262%3B+exit+2&stdin=true&stdout=true&stderr=true";
    const ws = new WebSocket(`${base}/api/v1/namespaces/default/pods/web/exec?container=main&${q}`, ["v5.channel.k8s.io"], { ca: server.caCertPem, headers: { Authorization: `Bearer ${server.adminToken}` } });
    const got: Record<number, string> = { 1: "", 2: "", 3: "" };
    const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
    ws.on("message", (d: Buffer) => { got[d[0]] = (got[d[0]] ?? "") + d.subarray(1).toString(); });
    await new Promise((resolve, reject) => { ws.on("open", resolve); ws.on("error", reject); });
    assert.equal(ws.protocol, "v5.channel.k8s.io");
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("through stdin\n")]));
    ws.send(Buffer.from([255, 0])); // stdin's end
    assert.equal(await closed, 1000);
    assert.equal(got[1], "through stdin\n");
    assert.equal(got[2], "done\n");
    const status = JSON.parse(got[3]) as { status: string; reason: string; details: { causes: { reason: string; message: string }[] } };
    assert.equal(status.reason, "NonZeroExitCode");
    assert.deepEqual(status.details.causes, [{ reason: "ExitCode", message: "2" }]);

    const anonymous = new WebSocket(`${base}/api/v1/namespaces/default/pods/web/exec?container=main&command=true`, ["v5.channel.k8s.io"], { ca: server.caCertPem });
    const code = await new Promise<number>((resolve) => { anonymous.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)); anonymous.on("error", () => resolve(-1)); });
    assert.equal(code, 401);

    const plain = await kubectl(["get", "--raw", "/api/v1/namespaces/default/pods/web/exec?command=true"]);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /needs a connection upgrade/);
  });

  it("RBAC: a viewer may read logs but not exec; an editor may exec", async () => {
    await ok(["create", "serviceaccount", "keel-viewer"]);
    await ok(["create", "rolebinding", "keel-viewer", "--clusterrole=view", "--serviceaccount=default:keel-viewer"]);
    await ok(["create", "serviceaccount", "keel-editor"]);
    await ok(["create", "rolebinding", "keel-editor", "--clusterrole=edit", "--serviceaccount=default:keel-editor"]);
    const viewer = (await ok(["create", "token", "keel-viewer"])).trim();
    const editor = (await ok(["create", "token", "keel-editor"])).trim();
    // A kubeconfig with the server and CA and only the token as credentials.
    const as = (token: string) => {
      const file = join(dir, `token-${token.slice(-8)}.kubeconfig`);
      writeFileSync(file, kubeconfigYaml({ server: server.url, caCertPem: server.caCertPem, token, user: "sa" }));
      return ["--kubeconfig", file];
    };
    assert.equal(await ok([...as(viewer), "logs", "web", "-c", "main"]), "started\n");
    const refused = await kubectl([...as(viewer), "exec", "web", "-c", "main", "--", "true"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /forbidden|Forbidden/);
    assert.equal(await ok([...as(editor), "exec", "web", "-c", "main", "--", "echo", "allowed"]), "allowed\n");
  });

  it("kubectl cp copies a file into the pod and back out", async () => {
    const src = join(dir, "in.txt");
    writeFileSync(src, "copied through tar\n".repeat(1000));
    await ok(["cp", src, "default/web:/tmp/in.txt", "-c", "main"]);
    assert.equal(await ok(["exec", "web", "-c", "main", "--", "wc", "-l", "/tmp/in.txt"]), "1000 /tmp/in.txt\n");
    const back = join(dir, "out.txt");
    await ok(["cp", "default/web:/tmp/in.txt", back, "-c", "main"]);
    assert.equal(readFileSync(back, "utf8"), readFileSync(src, "utf8"));
  });

  it("kubectl port-forward reaches the pod's httpd from 127.0.0.1", async (t) => {
    const pf = spawn(KUBECTL, kubectlArgs(["port-forward", "--address", "127.0.0.1", "pod/web", ":8080"]), { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    t.after(() => { pf.kill("SIGTERM"); });
    let out = "", err = "";
    pf.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${out} ${err}`)), 30_000);
      pf.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      pf.on("exit", (code) => { clearTimeout(timer); reject(new Error(`port-forward exited ${code}: ${err}`)); });
    });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { Connection: "close" } });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "hello-from-pod\n");
    }
    // A port nothing listens on: the connection fails and kubectl reports the kubelet's error.
    const pf2 = spawn(KUBECTL, kubectlArgs(["port-forward", "--address", "127.0.0.1", "pod/web", ":9"]), { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    t.after(() => { pf2.kill("SIGTERM"); });
    let err2 = "";
    pf2.stderr.on("data", (d: Buffer) => (err2 += d.toString()));
    const port2 = await new Promise<number>((resolve) => {
      let o = "";
      pf2.stdout.on("data", (d: Buffer) => { o += d.toString(); const m = /127\.0\.0\.1:(\d+) -> 9/.exec(o); if (m) resolve(Number(m[1])); });
    });
    await fetch(`http://127.0.0.1:${port2}/`).then((r) => r.text()).catch(() => "");
    const until = Date.now() + 10_000;
    while (!/error forwarding port 9/.test(err2) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.match(err2, /error forwarding port 9 to pod default\/web/);
  });
});
