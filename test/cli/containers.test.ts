// `keel run|ps|logs|exec|stop|rm` as a user types them, from the busybox image setup builds.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const keelJs = fileURLToPath(new URL("../../bundle/keel.js", import.meta.url));
let dir: string;
let env: NodeJS.ProcessEnv;

function keel(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [keelJs, ...args], { env, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "keel-cli-"));
  env = { ...process.env, KEEL_CONTAINERS_ROOT: join(dir, "containers"), KEEL_STATE_ROOT: join(dir, "state") };
});
after(async () => {
  const ids = (await keel("ps", "-a", "-q")).stdout.trim().split("\n").filter(Boolean);
  if (ids.length) await keel("rm", "-f", ...ids);
  rmSync(dir, { recursive: true, force: true });
});

test("run --rm prints the output and exits with the container's status", async () => {
  const r = await keel("run", "--rm", "busybox", "sh", "-c", "echo hello from keel; exit 3");
  assert.equal(r.stdout, "hello from keel\n");
  assert.equal(r.code, 3);
  assert.equal((await keel("ps", "-a", "-q")).stdout, "");
});

test("flags mean what they mean for podman: -e, -w, -u, --hostname, -v", async () => {
  const vol = mkdtempSync(join(dir, "vol-"));
  const r = await keel("run", "--rm", "-e", "A=1", "-w", "/tmp", "-u", "65534", "--hostname", "hn", "-v", `${vol}:/data:ro`, "busybox",
    "sh", "-c", "echo $A $(pwd) $(id -u) $(hostname); touch /data/x 2>&1 || echo ro");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1 \/tmp 65534 hn\n/);
  assert.match(r.stdout, /Read-only file system|ro/);
});

test("-d, ps, logs, exec, stop, rm", async () => {
  const run = await keel("run", "-d", "--name", "ticker", "busybox", "sh", "-c", "echo started; while true; do sleep 0.1; done");
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await keel("ps");
  assert.match(ps.stdout, /CONTAINER ID +IMAGE/);
  assert.match(ps.stdout, new RegExp(`${id.slice(0, 12)} .*Up .*ticker`));
  let logs = "";
  for (let i = 0; i < 50 && !logs.includes("started"); i++) {
    logs = (await keel("logs", "ticker")).stdout;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(logs, "started\n");
  const ex = await keel("exec", "ticker", "sh", "-c", "echo inside; exit 5");
  assert.equal(ex.stdout, "inside\n");
  assert.equal(ex.code, 5);
  assert.equal((await keel("stop", "-t", "1", "ticker")).code, 0);
  assert.match((await keel("ps", "-a")).stdout, /Exited \(137\)/);
  assert.equal((await keel("rm", "ticker")).code, 0);
  assert.equal((await keel("ps", "-a", "-q")).stdout, "");
});

test("limits: --memory OOM-kills and says so; --pids-limit caps forks", async () => {
  const oom = await keel("run", "--rm", "-m", "32m", "busybox", "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a)");
  assert.equal(oom.code, 137);
  assert.match(oom.stderr, /killed by the OOM killer/);
  const pids = await keel("run", "--rm", "--pids-limit", "8", "busybox", "sh", "-c", "for i in $(seq 1 20); do sleep 2 & done 2>&1; wait");
  assert.match(pids.stdout + pids.stderr, /can't fork|Resource temporarily unavailable/);
});

test("bad input gets a clear error and leaves nothing", async () => {
  const r = await keel("run", "--rm", "-m", "lots", "busybox", "true");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--memory: 'lots' is not a size/);
  assert.match((await keel("rm", "nonexistent")).stderr, /no container named or with id 'nonexistent'/);
  assert.equal((await keel("ps", "-a", "-q")).stdout, "");
});

test("image build runs RUN steps in a keel container; the result runs", async () => {
  const ctx = mkdtempSync(join(dir, "build-"));
  (await import("node:fs")).writeFileSync(join(ctx, "Containerfile"), 'FROM busybox\nWORKDIR /app\nRUN echo built-by-keel > /app/marker\nCMD ["cat", "/app/marker"]\n');
  const tag = `localhost/keel-test-build-${process.pid}:1`;
  const b = await keel("image", "build", "-t", tag, ctx);
  assert.equal(b.code, 0, b.stderr);
  const r = await keel("run", "--rm", tag);
  assert.equal(r.stdout, "built-by-keel\n");
  assert.equal((await keel("image", "rm", tag)).code, 0);
  const bad = join(dir, "bad-build");
  (await import("node:fs")).mkdirSync(bad);
  (await import("node:fs")).writeFileSync(join(bad, "Containerfile"), "FROM busybox\nRUN exit 3\n");
  const f = await keel("image", "build", "-t", `${tag}-bad`, bad);
  assert.notEqual(f.code, 0);
  assert.match(f.stderr, /exit|status|3/);
});

test("run -it: a terminal of its own on the user's (typed input, tty, window size and resize, exit status)", async (t) => {
  const session = `keel-run-tty-${process.pid}`;
  const envs = Object.entries({ KEEL_CONTAINERS_ROOT: env.KEEL_CONTAINERS_ROOT!, KEEL_STATE_ROOT: env.KEEL_STATE_ROOT! }).map(([k, v]) => `${k}='${v}'`).join(" ");
  const status = join(dir, "tty-status");
  execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", "100", "-y", "30", `${envs} '${process.execPath}' '${keelJs}' run -it --rm busybox sh; echo $? > '${status}'; sleep 60`]);
  t.after(() => {
    try { execFileSync("tmux", ["kill-session", "-t", session], { stdio: "ignore" }); } catch { /* gone */ }
  });
  const screen = () => execFileSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" });
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 150; i++) {
      if (re.test(screen())) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(screen(), re);
  };
  await waitFor(/^\/ #/m);
  execFileSync("tmux", ["send-keys", "-t", session, "echo typed-$((6*7)); tty; stty size", "Enter"]);
  await waitFor(/typed-42/);
  await waitFor(/^30 100$/m);
  assert.match(screen(), /\/dev\/pts\/0/);
  execFileSync("tmux", ["resize-window", "-t", session, "-x", "90", "-y", "25"]);
  await new Promise((r) => setTimeout(r, 300));
  execFileSync("tmux", ["send-keys", "-t", session, "clear; stty size", "Enter"]);
  await waitFor(/^25 90$/m);
  execFileSync("tmux", ["send-keys", "-t", session, "exit 3", "Enter"]);
  for (let i = 0; i < 100 && !(await import("node:fs")).existsSync(status); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await import("node:fs")).readFileSync(status, "utf8").trim(), "3");
  assert.equal((await keel("ps", "-a", "-q")).stdout, "", "the --rm container is gone");
});

test("exec -it: a terminal for a command in a detached container", async (t) => {
  const name = `tty-exec-${process.pid}`;
  assert.equal((await keel("run", "-d", "--name", name, "busybox", "sleep", "100")).code, 0);
  t.after(async () => { await keel("rm", "-f", name); });
  const session = `keel-exec-tty-${process.pid}`;
  const envs = `KEEL_CONTAINERS_ROOT='${env.KEEL_CONTAINERS_ROOT}' KEEL_STATE_ROOT='${env.KEEL_STATE_ROOT}'`;
  const status = join(dir, "exec-tty-status");
  execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", "80", "-y", "20", `${envs} '${process.execPath}' '${keelJs}' exec -it ${name} sh; echo $? > '${status}'; sleep 60`]);
  t.after(() => {
    try { execFileSync("tmux", ["kill-session", "-t", session], { stdio: "ignore" }); } catch { /* gone */ }
  });
  const screen = () => execFileSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" });
  for (let i = 0; i < 150 && !/^\/ #/m.test(screen()); i++) await new Promise((r) => setTimeout(r, 100));
  execFileSync("tmux", ["send-keys", "-t", session, "tty; stty size; exit 4", "Enter"]);
  const fs = await import("node:fs");
  for (let i = 0; i < 100 && !fs.existsSync(status); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(screen(), /\/dev\/pts\/\d+\n20 80/);
  assert.equal(fs.readFileSync(status, "utf8").trim(), "4");
});
