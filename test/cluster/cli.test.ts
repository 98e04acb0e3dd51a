// `keel cluster up -d | status | down` through the CLI module, in other processes than the one
// running the cluster: down stops a running cluster gracefully, and cleans up after one that was
// killed (its pods re-adopted and stopped, its namespaces removed).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { clusterNames, processAlive, readState, stateFile } from "../../cluster/index.js";
import { KUBECTL, runKubectl } from "./fixtures.js";

const TAG = `c${process.pid % 100000}`;
const here = dirname(fileURLToPath(import.meta.url));

describe("keel cluster CLI: up -d, status, down", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, () => {
  let dir = "";
  let harness = "";

  // The `keel` program with only the cluster group registered (cli/keel.ts is the lead's to wire).
  const keel = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [harness, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
  const kubectl = (args: string[], dataDir: string, input?: string) => runKubectl(dir, join(dataDir, "admin.kubeconfig"), args, input);
  const ourNetns = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(`-${TAG}`));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "keel-cluster-cli-"));
    harness = join(dir, "keel.mjs");
    const commander = pathToFileURL(createRequire(import.meta.url).resolve("commander")).href;
    const cluster = pathToFileURL(join(here, "..", "..", "cli", "commands", "cluster.js")).href;
    writeFileSync(harness, `import { Command } from ${JSON.stringify(commander)};\nimport { register } from ${JSON.stringify(cluster)};\n`
      + `const p = new Command("keel"); register(p);\nawait p.parseAsync(process.argv.slice(2), { from: "user" });\n`);
  });
  after(async () => {
    // whatever a failed test left running
    for (const sub of ["a", "b"]) {
      const d = join(dir, sub);
      if (readState(d)) await keel(["cluster", "down", "--data-dir", d]);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("has --help for each verb", async () => {
    for (const verb of ["up", "down", "status"]) {
      const r = await keel(["cluster", verb, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /--data-dir/);
    }
  });

  it("up -d returns with the nodes Ready; status shows them; down stops it and removes its namespaces", async () => {
    const d = join(dir, "a");
    const up = await keel(["cluster", "up", "-d", "--nodes", "2", "--data-dir", d, "--listen", "127.0.0.1:0", "--name", `${TAG}a`, "-q"]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /KUBECONFIG=.*admin\.kubeconfig/);
    const pid = readState(d)!.pid;
    assert.ok(processAlive(pid));
    const st = await keel(["cluster", "status", "--data-dir", d]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const names = clusterNames(`${TAG}a`);
    for (const n of [names.node(1), names.node(2)]) assert.match(st.stdout, new RegExp(`${n}\\s+True`));
    const json = JSON.parse((await keel(["cluster", "status", "--data-dir", d, "--json"])).stdout) as { nodes: { ready: boolean }[] };
    assert.deepEqual(json.nodes.map((n) => n.ready), [true, true]);

    const down = await keel(["cluster", "down", "--data-dir", d]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(processAlive(pid), false);
    assert.equal(existsSync(stateFile(d)), false);
    assert.deepEqual(ourNetns(), []);
    const gone = await keel(["cluster", "status", "--data-dir", d]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /no cluster state/);
  });

  it("down cleans up after a cluster whose process was killed: its pods and namespaces", async () => {
    const d = join(dir, "b");
    const up = await keel(["cluster", "up", "-d", "--nodes", "1", "--data-dir", d, "--listen", "127.0.0.1:0", "--name", `${TAG}b`, "-q"]);
    assert.equal(up.code, 0, up.stderr);
    const state = readState(d)!;
    await kubectl(["apply", "-f", "-"], d, JSON.stringify({
      apiVersion: "v1", kind: "Pod", metadata: { name: "left", namespace: "default" },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] },
    }), );
    const deadline = Date.now() + 60_000;
    while ((await kubectl(["get", "pod", "left", "-o", "jsonpath={.status.phase}"], d)) !== "Running") {
      assert.ok(Date.now() < deadline, "pod never Running");
      await new Promise((r) => setTimeout(r, 300));
    }
    process.kill(state.pid, "SIGKILL");
    while (processAlive(state.pid)) await new Promise((r) => setTimeout(r, 50));
    assert.equal(ourNetns().length, 2, "the killed cluster's namespaces are still there");

    const down = await keel(["cluster", "down", "--data-dir", d]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(ourNetns(), []);
    assert.equal(existsSync(stateFile(d)), false);
    // the pod's container is stopped: no process of ours left in another pid namespace
    const leftovers = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(join(d, "nodes")));
    assert.deepEqual(leftovers, []);
  });
});
