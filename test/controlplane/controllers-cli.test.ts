// `keel controller-manager`, `keel scheduler` and `keel sim-nodes` as separate processes against
// one API server: a ReplicaSet created through the API ends with Running pods; --help works;
// SIGTERM stops each cleanly.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import type { Pod } from "../../api/core.js";
import { R } from "../../controlplane/kit/index.js";
import { isPodReady } from "../../controlplane/controllers/index.js";
import { register } from "../../cli/commands/controlplane.js";
import { startApiFixture, waitFor, type ApiFixture } from "./kit-fixture.js";

const children: ChildProcess[] = [];
let fx: ApiFixture | undefined;
after(async () => {
  for (const ch of children) if (ch.exitCode === null && ch.signalCode === null) ch.kill("SIGKILL");
  await fx?.close();
});

test("--help names the flags", async () => {
  for (const verb of ["controller-manager", "scheduler"]) {
    let out = "";
    const p = new Command().exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { out += s; } });
    register(p);
    await assert.rejects(p.parseAsync(["node", "keel", verb, "--help"]), (e: { code?: string }) => e.code === "commander.helpDisplayed");
    assert.match(out, /--kubeconfig <file>/);
    assert.match(out, verb === "scheduler" ? /--config <file>/ : /--leader-elect/);
  }
});

test("the daemons as processes run a ReplicaSet to Running pods, and stop on SIGTERM", async () => {
  fx = await startApiFixture("keel-cli-");
  const here = fileURLToPath(new URL(".", import.meta.url));
  const mod = resolve(here, "../../cli/commands/controlplane.js");
  const main = join(fx.dir, "keel-main.mjs");
  writeFileSync(main, `import { Command } from ${JSON.stringify(import.meta.resolve("commander"))};\nimport { register } from ${JSON.stringify(mod)};\nconst p = new Command(); register(p); await p.parseAsync(process.argv);\n`);
  const run = (...args: string[]) => {
    const ch = spawn(process.execPath, [main, ...args, "--kubeconfig", fx!.server.kubeconfigPath], { stdio: ["ignore", "ignore", "pipe"], cwd: resolve(here, "../../..") });
    let err = "";
    ch.stderr!.on("data", (d) => { err += d; });
    children.push(ch);
    return { ch, err: () => err };
  };
  const sim = run("sim-nodes", "--count", "2", "--prefix", "keel-cli", "--delete-on-exit");
  const sched = run("scheduler", "--leader-elect");
  const cm = run("controller-manager", "--leader-elect");
  await fx.client.create(R.replicasets, "default", {
    metadata: { name: "cli-rs", namespace: "default" },
    spec: { replicas: 3, selector: { matchLabels: { app: "cli-rs" } }, template: { metadata: { labels: { app: "cli-rs" } }, spec: { containers: [{ name: "c", image: "busybox" }] } } },
  });
  await waitFor("3 ready pods", async () => {
    const dead = [sim, sched, cm].find((p) => p.ch.exitCode !== null);
    if (dead) throw new Error(`a daemon exited: ${dead.err()}`);
    return (await fx!.client.list<Pod>(R.pods, "default", { labelSelector: "app=cli-rs" })).items.filter(isPodReady).length === 3;
  }, 60_000, 200)
    .catch((e) => { throw new Error(`${(e as Error).message}\nsim: ${sim.err()}\nsched: ${sched.err()}\ncm: ${cm.err()}`); });
  for (const p of [cm, sched, sim]) {
    const code = await new Promise<number | null>((res) => { p.ch.once("exit", (c) => res(c)); p.ch.kill("SIGTERM"); });
    assert.equal(code, 0, p.err());
  }
  await waitFor("sim nodes deleted", async () => (await fx!.client.list(R.nodes)).items.length === 0);
});
