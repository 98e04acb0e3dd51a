// `keel kubelet` as a process: --help, and pods that outlive the kubelet: a kubelet stopped with
// SIGTERM leaves its pod running, the next one (same --root) re-adopts it without a restart.
// (Runs the command module through commander directly, as cli/keel.ts does once it is registered.)
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./helpers.js";

const moduleUrl = new URL("../../cli/commands/kubelet.js", import.meta.url).href;
const commanderUrl = new URL("../../../node_modules/commander/index.js", import.meta.url).href;
const driver = `
const { Command } = await import(${JSON.stringify(commanderUrl)});
const m = await import(${JSON.stringify(moduleUrl)});
const p = new Command("keel");
m.register(p);
await p.parseAsync(process.argv.slice(1), { from: "user" });
`;

function keelKubelet(args: string[]): ChildProcess & { out: () => string } {
  const child = spawn(process.execPath, ["--input-type=module", "-e", driver, "kubelet", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d));
  child.stderr!.on("data", (d: Buffer) => (out += d));
  return Object.assign(child, { out: () => out });
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code))));

describe("keel kubelet (command)", () => {
  let dir = "";
  let proc: (ChildProcess & { out: () => string }) | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "keel-kubelet-cli-"));
    mkdirSync(join(dir, "manifests"));
  });
  after(async () => {
    if (proc && proc.exitCode === null) { proc.kill("SIGTERM"); await exited(proc); }
    // One last kubelet that stops every pod on exit cleans up whatever a failure left.
    rmSync(join(dir, "manifests"), { recursive: true, force: true });
    mkdirSync(join(dir, "manifests"));
    const last = keelKubelet(["--manifests", join(dir, "manifests"), "--root", join(dir, "root"), "--log-dir", join(dir, "logs"), "--node-name", "keel-cli-node", "--stop-pods-on-exit"]);
    await waitFor("cleanup kubelet", () => /running/.test(last.out()), 20_000).catch(() => {});
    await new Promise((r) => setTimeout(r, 1500));
    last.kill("SIGTERM");
    await exited(last);
    rmSync(dir, { recursive: true, force: true });
  });

  it("--help describes the command", async () => {
    const c = keelKubelet(["--help"]);
    assert.equal(await exited(c), 0);
    assert.match(c.out(), /--manifests <dir>/);
    assert.match(c.out(), /--kubeconfig <file>/);
    assert.match(c.out(), /--node-name <name>/);
  });

  it("needs a source of pods", async () => {
    const c = keelKubelet([]);
    assert.equal(await exited(c), 2);
    assert.match(c.out(), /give --manifests DIR, --kubeconfig FILE, or both/);
  });

  it("pods outlive the kubelet process and the next one re-adopts them", async () => {
    writeFileSync(join(dir, "manifests", "p.yaml"), [
      "apiVersion: v1", "kind: Pod", "metadata: {name: survivor}",
      "spec:", "  terminationGracePeriodSeconds: 2", "  containers:", "  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, 'echo started; sleep 1000']}", "",
    ].join("\n"));
    const args = ["--manifests", join(dir, "manifests"), "--root", join(dir, "root"), "--log-dir", join(dir, "logs"), "--node-name", "keel-cli-node"];
    proc = keelKubelet(args);
    await waitFor("started", () => /Started: Started container c/.test(proc!.out()), 30_000);
    const podDir = readdirSync(join(dir, "root", "pods"))[0];
    const state = () => JSON.parse(readFileSync(join(dir, "root", "pods", podDir, "state.json"), "utf8")) as { containers: { c: { runtimeId: string; attempts: number } } };
    const id = state().containers.c.runtimeId;
    const pid = readFileSync(join(dir, "root", "pods", podDir, "containers", id, "pid"), "utf8").trim();
    proc.kill("SIGTERM");
    assert.equal(await exited(proc), 0);
    assert.ok(existsSync(`/proc/${pid}`), "the container outlived the kubelet");
    proc = keelKubelet(args);
    await waitFor("re-adopted", () => /re-adopted pod default\/survivor/.test(proc!.out()), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(state().containers.c.attempts, 1);
    assert.equal(readFileSync(join(dir, "root", "pods", podDir, "containers", id, "pid"), "utf8").trim(), pid);
    assert.doesNotMatch(proc.out(), /Started container/);
    rmSync(join(dir, "manifests", "p.yaml"));
    await waitFor("stopped", () => !existsSync(join(dir, "root", "pods", podDir)), 30_000);
    assert.equal(existsSync(`/proc/${pid}`), false);
    proc.kill("SIGTERM");
    await exited(proc);
  });
});
