// podman with keel-runc as its OCI runtime (cgroupfs manager on this machine): the verbs people
// use every day, a terminal under tmux, and limits enforced.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runcJs = fileURLToPath(new URL("../../cli/keel-runc.bundle.js", import.meta.url));
const keelJs = fileURLToPath(new URL("../../bundle/keel.js", import.meta.url));
const havePodman = existsSync("/usr/bin/podman");
const skip = havePodman ? false : "podman is not installed (setup installs it from Debian's packages)";
let dir: string;
let base: string[];
const U = ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"];
const IMAGE = "localhost/busybox:latest";

function podman(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // From the test's own directory: conmon drops an "oom" marker in its working directory.
    execFile("podman", [...base, ...args], { timeout: 60000, cwd: dir }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

before(async () => {
  if (!havePodman) return;
  dir = mkdtempSync(join(tmpdir(), "keel-podman-"));
  // Its own root, runroot and tmpdir: podman serializes on state in its tmpdir (/run/libpod by
  // default), so another podman on the machine must not be able to stall these tests.
  base = ["--root", join(dir, "root"), "--runroot", join(dir, "run"), "--tmpdir", join(dir, "tmp"), "--cgroup-manager=cgroupfs", "--events-backend", "none", "--runtime", runcJs];
  execFileSync(process.execPath, [keelJs, "image", "export", "busybox", "-o", join(dir, "busybox.tar")]);
  execFileSync("podman", [...base, "load", "-i", join(dir, "busybox.tar")], { stdio: "ignore" });
});
after(async () => {
  if (!havePodman) return;
  await podman("rm", "-a", "-f");
  try {
    execFileSync("podman", [...base, "system", "reset", "--force"], { stdio: "ignore", timeout: 30000 });
  } catch { /* best effort */ }
  try {
    execFileSync("tmux", ["kill-session", "-t", `keel-podman-${process.pid}`], { stdio: "ignore" });
  } catch { /* not running */ }
  rmSync(dir, { recursive: true, force: true });
});

test("podman run --rm on keel-runc", { skip }, async () => {
  const r = await podman("run", "--rm", ...U, IMAGE, "echo", "hi");
  assert.equal(r.stdout, "hi\n", r.stderr);
  assert.equal(r.code, 0);
});

test("podman run -d, exec, logs, pause, unpause, stop, rm", { skip }, async () => {
  const run = await podman("run", "-d", "--name", "web", ...U, IMAGE, "sh", "-c", "echo started; while true; do sleep 0.2; done");
  assert.equal(run.code, 0, run.stderr);
  const ex = await podman("exec", "web", "sh", "-c", "echo exec-ok");
  assert.equal(ex.stdout, "exec-ok\n", ex.stderr);
  let logs = "";
  for (let i = 0; i < 50 && !logs.includes("started"); i++) {
    logs = (await podman("logs", "web")).stdout;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(logs, "started\n");
  assert.equal((await podman("pause", "web")).code, 0);
  assert.match((await podman("inspect", "--format", "{{.State.Status}}", "web")).stdout, /paused/);
  assert.equal((await podman("unpause", "web")).code, 0);
  assert.equal((await podman("stop", "-t", "1", "web")).code, 0);
  assert.equal((await podman("rm", "web")).code, 0);
});

test("podman --memory and --pids-limit are enforced", { skip }, async () => {
  const oom = await podman("run", "--rm", ...U, "-m", "32m", IMAGE, "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a)");
  assert.equal(oom.code, 137);
  const pids = await podman("run", "--rm", ...U, "--pids-limit", "8", IMAGE, "sh", "-c", "for i in $(seq 1 20); do sleep 1 & done 2>&1; wait");
  assert.match(pids.stdout + pids.stderr, /can't fork/);
});

test("podman run -it under tmux: type into the container, read the screen", { skip }, async () => {
  const session = `keel-podman-${process.pid}`;
  const cmd = ["podman", ...base, "run", "-it", "--rm", ...U, IMAGE, "sh"].map((a) => `'${a}'`).join(" ");
  execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", "120", "-y", "30", cmd]);
  const screen = () => execFileSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" });
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 100; i++) {
      if (re.test(screen())) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(screen(), re);
  };
  await waitFor(/^\/ #/m);
  execFileSync("tmux", ["send-keys", "-t", session, "echo typed-$((6*7)); tty", "Enter"]);
  await waitFor(/typed-42/);
  assert.match(screen(), /\/dev\/pts\/0/);
  execFileSync("tmux", ["send-keys", "-t", session, "exit", "Enter"]);
});
