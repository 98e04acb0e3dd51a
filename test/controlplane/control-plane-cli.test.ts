// `keel control-plane`: the API server, controller-manager and scheduler in one process. --help
// carries the three verbs' flags; a Deployment created with real kubectl gets its pods scheduled
// on a simulated node and Running; SIGTERM stops it cleanly (exit 0, the port closed).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import type { Pod } from "../../api/core.js";
import { KubeClient, R } from "../../controlplane/kit/index.js";
import { isPodReady } from "../../controlplane/controllers/index.js";
import { startSimNodes, simNodeSpecs, type SimNodes } from "../../controlplane/sim-nodes/index.js";
import { register } from "../../cli/commands/controlplane.js";
import { waitFor } from "../fixtures/wait-for.js";
import { KUBECTL, kubectlRun } from "../fixtures/kubectl.js";


let child: ChildProcess | undefined;
let client: KubeClient | undefined;
let sim: SimNodes | undefined;
const dir = mkdtempSync(join(tmpdir(), "keel-control-plane-"));
after(async () => {
  client?.close();
  await sim?.close({ deleteNodes: false }).catch(() => {});
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await new Promise((r) => child!.once("exit", r));
  }
  rmSync(dir, { recursive: true, force: true });
});

test("keel control-plane --help has the API server's, controller-manager's and scheduler's flags", async () => {
  let out = "";
  const p = new Command().exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { out += s; } });
  register(p);
  await assert.rejects(p.parseAsync(["node", "keel", "control-plane", "--help"]), (e: { code?: string }) => e.code === "commander.helpDisplayed");
  for (const flag of ["--data-dir <dir>", "--listen <host:port>", "--store <spec>", "--controllers <list>", "--cluster-cidr <cidr>", "--node-monitor-grace-period", "--config <file>", "--profile <name>", "--scheduler-name <name>", "--leader-elect"]) {
    assert.ok(out.includes(flag), `${flag} in\n${out}`);
  }
  assert.doesNotMatch(out, /--kubeconfig <file>/);
});

test("keel control-plane schedules a kubectl-created Deployment onto a simulated node and stops on SIGTERM", async () => {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const main = join(dir, "keel-main.mjs");
  writeFileSync(main, `import { Command } from ${JSON.stringify(import.meta.resolve("commander"))};\nimport { register } from ${JSON.stringify(resolve(here, "../../cli/commands/controlplane.js"))};\nconst p = new Command(); register(p); await p.parseAsync(process.argv);\n`);
  const data = join(dir, "data");
  const ch = child = spawn(process.execPath, [main, "control-plane", "--data-dir", data, "--listen", "127.0.0.1:0", "--node-monitor-grace-period", "20"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  ch.stdout!.on("data", (d) => { out += d; });
  ch.stderr!.on("data", (d) => { err += d; });
  const exited = new Promise<number | null>((r) => ch.once("exit", (c) => r(c)));
  await waitFor("the control plane to start", () => {
    if (ch.exitCode !== null) throw new Error(`keel control-plane exited with ${ch.exitCode}: ${err}`);
    return /control plane running/.test(err);
  }, 60_000, 100);
  const url = new URL(out.trim().split("\n")[0]!);
  assert.equal(url.protocol, "https:");

  const kubeconfig = join(data, "admin.kubeconfig");
  client = new KubeClient(kubeconfig, "keel-control-plane-test");
  const node = `keel-cp-${process.pid}`;
  sim = await startSimNodes({ kubeconfig, nodes: simNodeSpecs(1, { prefix: node }) });
  const kubectl = await kubectlRun(dir, ["--kubeconfig", kubeconfig, "create", "deployment", "keel-cp-web", "--image=busybox", "--replicas=2", "--", "sleep", "3600"]);
  assert.equal(kubectl.code, 0, kubectl.stderr);
  const pods = await waitFor("2 Ready pods of the Deployment", async () => {
    if (ch.exitCode !== null) throw new Error(`keel control-plane exited: ${err}`);
    const items = (await client!.list<Pod>(R.pods, "default", { labelSelector: "app=keel-cp-web" })).items.filter(isPodReady);
    return items.length === 2 ? items : undefined;
  }, 90_000, 200).catch((e) => { throw new Error(`${(e as Error).message}\ncontrol-plane: ${err}`); });
  for (const p of pods) assert.equal(p.spec?.nodeName, `${node}-0`);

  client.close();
  client = undefined;
  await sim.close({ deleteNodes: true });
  sim = undefined;
  ch.kill("SIGTERM");
  const code = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 30_000))]);
  assert.equal(code, 0, `exit on SIGTERM: ${err}`);
  // Nothing listens on the API server's port any more.
  const refused = await new Promise<boolean>((res) => {
    const s = connect(Number(url.port), url.hostname);
    s.once("connect", () => { s.destroy(); res(false); });
    s.once("error", () => res(true));
  });
  assert.ok(refused, `port ${url.port} still open after SIGTERM`);
});
