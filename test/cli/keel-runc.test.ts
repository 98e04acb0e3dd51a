// keel-runc as podman and the OCI test suite drive it: runc's verbs, state JSON, errors, and a
// terminal handed over --console-socket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BusyboxBundles } from "../../runtime/busybox-bundle.js";

const runcJs = fileURLToPath(new URL("../../cli/keel-runc.js", import.meta.url));
let dir: string;
let bundles: BusyboxBundles;

// Like runc, `create` and `run --detach` hand their stdio to the container, which keeps the
// pipes open: wait for the command's exit, then briefly for what it wrote, not for EOF.
function runc(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [runcJs, "--root", join(dir, "state"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", code = -1, closed = false;
    p.stdout.on("data", (d: Buffer) => (stdout += d));
    p.stderr.on("data", (d: Buffer) => (stderr += d));
    const done = () => {
      p.stdout.destroy();
      p.stderr.destroy();
      resolve({ code, stdout, stderr });
    };
    p.on("close", () => {
      closed = true;
      done();
    });
    p.on("exit", (c, sig) => {
      code = c ?? 128;
      void sig;
      setTimeout(() => !closed && done(), 200);
    });
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "keel-runc-"));
  bundles = new BusyboxBundles(dir);
});
after(async () => {
  const ids = (await runc("list", "-q")).stdout.split("\n").filter(Boolean);
  for (const id of ids) await runc("delete", "--force", id);
  bundles.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test("create, state (runc's JSON), start, kill, delete", async () => {
  const b = bundles.bundle({ args: ["/bin/sleep", "30"] });
  const pidFile = join(dir, "pid");
  assert.equal((await runc("create", "--bundle", b.dir, "--pid-file", pidFile, "r1")).code, 0);
  const st = JSON.parse((await runc("state", "r1")).stdout);
  assert.deepEqual(Object.keys(st).sort(), ["bundle", "created", "id", "ociVersion", "owner", "pid", "rootfs", "status"]);
  assert.equal(st.status, "created");
  assert.ok(st.pid > 0);
  assert.equal((await runc("start", "r1")).code, 0);
  assert.equal(JSON.parse((await runc("state", "r1")).stdout).status, "running");
  const list = JSON.parse((await runc("list", "--format", "json")).stdout);
  assert.equal(list[0].id, "r1");
  assert.equal((await runc("kill", "r1", "KILL")).code, 0);
  for (let i = 0; i < 100 && JSON.parse((await runc("state", "r1")).stdout).status !== "stopped"; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await runc("delete", "r1")).code, 0);
  const gone = await runc("state", "r1");
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^ERRO\[0000\] container 'r1' does not exist/);
});

test("run in the foreground exits with the container's status; exec too", async () => {
  const r = await runc("run", "--bundle", bundles.bundle({ args: ["/bin/sh", "-c", "echo out; exit 4"] }).dir, "r2");
  assert.equal(r.code, 4);
  assert.equal(r.stdout, "out\n");
  assert.equal((await runc("run", "--detach", "--bundle", bundles.bundle({ args: ["/bin/sleep", "30"] }).dir, "r3")).code, 0);
  const ex = await runc("exec", "r3", "/bin/sh", "-c", "echo $$; exit 9");
  assert.equal(ex.code, 9);
  assert.notEqual(ex.stdout.trim(), "1");
  assert.match((await runc("ps", "--format", "json", "r3")).stdout, /^\[\d+(,\d+)*\]\n$/);
  assert.equal((await runc("delete", "--force", "r3")).code, 0);
});

test("a bad bundle is an ERRO line naming the field, exit 1, nothing left", async () => {
  const b = bundles.bundle({}, (s) => (s.process!.cwd = "relative"));
  const r = await runc("create", "--bundle", b.dir, "r4");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ERRO\[0000\] invalid config.json: process.cwd: must be an absolute path/);
  assert.equal((await runc("list", "-q")).stdout, "");
  assert.match((await runc("--systemd-cgroup", "list")).stderr, /systemd-cgroup is not supported/);
});

test("--console-socket receives the terminal's master; the shell runs on it", async () => {
  const sock = join(dir, "console.sock");
  const recv = join(dir, "recv.py");
  writeFileSync(recv, `import socket, array, os, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(1024, socket.CMSG_LEN(4))
m = array.array("i", anc[0][2][:4])[0]
os.write(m, b"tty; exit 3\\n")
out = b""; t = time.time()
while time.time() - t < 5:
    try:
        d = os.read(m, 4096)
        if not d: break
        out += d
    except OSError: break
sys.stdout.write(out.decode(errors="replace"))
`);
  const py = spawn("python3", [recv, sock], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  py.stdout.on("data", (d: Buffer) => (out += d));
  const pyDone = new Promise((r2) => py.once("close", r2));
  for (let i = 0; i < 100; i++) {
    try {
      (await import("node:fs")).statSync(sock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const r = await runc("run", "--console-socket", sock, "--bundle", bundles.bundle({ args: ["/bin/sh"], terminal: true }).dir, "r5");
  await pyDone;
  assert.equal(r.code, 3, r.stderr);
  assert.match(out, /\/dev\/pts\/0/);
});
