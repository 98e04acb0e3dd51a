// The lifecycle a runc user knows: create, start, state, kill, delete, pause, resume, exec.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { collect, runtimeFixture, uniqueId } from "../fixtures/run-container.js";
import { Runtime } from "../../runtime/runtime.js";
import { SpecValidationError } from "../../oci/validate.js";
import { ContainerExistsError, InvalidStateError } from "../../runtime/errors.js";

const fx = runtimeFixture();

test("create, start, state, kill, delete", async () => {
  const { rt } = fx.env;
  const id = uniqueId("life");
  const b = fx.bundles.bundle({ args: ["/bin/sleep", "30"] });
  await rt.create(id, b.dir, { stdio: "ignore" });
  assert.equal(rt.state(id).status, "created");
  assert.ok(rt.state(id).pid! > 0);
  await rt.start(id);
  assert.equal(rt.state(id).status, "running");
  assert.ok(rt.list().some((c) => c.id === id));
  await rt.kill(id, "SIGKILL");
  const st = await rt.wait(id);
  assert.equal(st.signal, 9);
  assert.equal(rt.state(id).status, "stopped");
  await rt.delete(id);
  assert.ok(!rt.list().some((c) => c.id === id));
  assert.ok(!existsSync(join(fx.env.root, id)));
});

test("a second create of the same id fails and leaves the first alone", async () => {
  const { rt } = fx.env;
  const id = uniqueId("dup");
  const b = fx.bundles.bundle({ args: ["/bin/sleep", "30"] });
  await rt.create(id, b.dir, { stdio: "ignore" });
  await assert.rejects(rt.create(id, b.dir, { stdio: "ignore" }), ContainerExistsError);
  assert.equal(rt.state(id).status, "created");
  await rt.delete(id);
});

test("an invalid config.json names the field and creates nothing", async () => {
  const { rt } = fx.env;
  const id = uniqueId("bad");
  const b = fx.bundles.bundle();
  b.spec.process!.cwd = "relative/dir";
  (b.spec.linux!.namespaces as unknown[]).push({ type: "bogus" });
  b.write();
  await assert.rejects(rt.create(id, b.dir), (e: unknown) => {
    assert.ok(e instanceof SpecValidationError);
    assert.match(e.message, /process\.cwd: must be an absolute path/);
    assert.match(e.message, /linux\.namespaces\[\d\]\.type/);
    return true;
  });
  assert.ok(!existsSync(join(fx.env.root, id)));
  writeFileSync(join(b.dir, "config.json"), "{ not json");
  await assert.rejects(rt.create(id, b.dir), /not valid JSON/);
  assert.ok(!existsSync(join(fx.env.root, id)));
});

test("a missing executable fails create with the path, and leaves nothing", async () => {
  const { rt } = fx.env;
  const id = uniqueId("noexe");
  const b = fx.bundles.bundle({ args: ["/bin/no-such-program"] });
  await assert.rejects(rt.create(id, b.dir, { stdio: "ignore" }), /ENOENT.*no-such-program/);
  assert.ok(!existsSync(join(fx.env.root, id)));
});

test("delete refuses a running container without force; force kills it", async () => {
  const { rt } = fx.env;
  const id = uniqueId("force");
  await rt.run(id, fx.bundles.bundle({ args: ["/bin/sleep", "30"] }).dir, { stdio: "ignore" });
  await assert.rejects(rt.delete(id), InvalidStateError);
  await rt.delete(id, { force: true });
  assert.ok(!rt.list().some((c) => c.id === id));
});

test("another Runtime on the same root sees, starts, kills and deletes the container", async () => {
  const id = uniqueId("other");
  await fx.env.rt.create(id, fx.bundles.bundle({ args: ["/bin/sleep", "30"] }).dir, { stdio: "ignore" });
  const other = new Runtime({ root: fx.env.root });
  assert.equal(other.state(id).status, "created");
  await other.start(id);
  assert.equal(other.state(id).status, "running");
  await other.kill(id, "KILL");
  await fx.env.rt.wait(id);
  assert.equal(other.state(id).status, "stopped");
  await other.delete(id);
});

test("stdio as streams: stdin in, stdout and stderr out", async () => {
  const { rt } = fx.env;
  const id = uniqueId("io");
  const c = await rt.run(id, fx.bundles.bundle({ args: ["/bin/sh", "-c", "read x; echo out:$x; echo err >&2"] }).dir, { stdio: "pipe" });
  c.stdin!.end("hello\n");
  const [out, err] = await Promise.all([collect(c.stdout), collect(c.stderr)]);
  assert.equal(out, "out:hello\n");
  assert.equal(err, "err\n");
  assert.equal((await rt.wait(id)).exitCode, 0);
  await rt.delete(id);
});

test("pause and resume", async () => {
  const { rt } = fx.env;
  const id = uniqueId("pause");
  await rt.run(id, fx.bundles.bundle({ args: ["/bin/sleep", "30"] }).dir, { stdio: "ignore" });
  await rt.pause(id);
  assert.equal(rt.state(id).status, "paused");
  await rt.resume(id);
  assert.equal(rt.state(id).status, "running");
  await rt.delete(id, { force: true });
});

test("exec runs in the container's namespaces and reports its exit code", async () => {
  const { rt } = fx.env;
  const id = uniqueId("exec");
  await rt.run(id, fx.bundles.bundle({ args: ["/bin/sleep", "30"], hostname: "exec-box" }).dir, { stdio: "ignore" });
  const p = await rt.exec(id, { args: ["/bin/sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 4"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] }, { stdio: ["ignore", "pipe", "inherit"] });
  const [out, st] = await Promise.all([collect(p.stdout), p.wait()]);
  assert.equal(out, "exec-box\n/bin/sleep 30 \n");
  assert.equal(st.exitCode, 4);
  await rt.delete(id, { force: true });
});

test("hooks run with the state on stdin, in order", async () => {
  const { rt } = fx.env;
  const id = uniqueId("hooks");
  const dir = join(fx.bundles.dir, `hooks-${id}`);
  mkdirSync(dir);
  const log = join(dir, "log");
  const hook = join(dir, "hook.sh");
  writeFileSync(hook, `#!/bin/sh\nread state\necho "$1 $(echo "$state" | grep -o '"status":"[a-z]*"')" >> ${log}\n`);
  chmodSync(hook, 0o755);
  const h = (kind: string) => [{ path: hook, args: [hook, kind] }];
  const b = fx.bundles.bundle({ args: ["/bin/true"] }, (s) => (s.hooks = { prestart: h("prestart"), createRuntime: h("createRuntime"), createContainer: h("createContainer"), poststart: h("poststart"), poststop: h("poststop") }));
  await rt.run(id, b.dir, { stdio: "ignore" });
  await rt.wait(id);
  await rt.delete(id);
  assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), [
    'prestart "status":"created"', 'createRuntime "status":"created"', 'createContainer "status":"created"',
    'poststart "status":"running"', 'poststop "status":"stopped"',
  ]);
});

test("a failing createRuntime hook fails create and leaves nothing", async () => {
  const { rt } = fx.env;
  const id = uniqueId("badhook");
  const b = fx.bundles.bundle({ args: ["/bin/true"] }, (s) => (s.hooks = { createRuntime: [{ path: "/bin/false" }] }));
  await assert.rejects(rt.create(id, b.dir, { stdio: "ignore" }), /createRuntime hook \/bin\/false failed/);
  assert.ok(!existsSync(join(fx.env.root, id)));
});

test("--no-pivot uses chroot and still gives the container its own root", async () => {
  const { rt } = fx.env;
  const id = uniqueId("nopivot");
  const c = await rt.run(id, fx.bundles.bundle({ args: ["/bin/sh", "-c", "ls /; cat /proc/1/mountinfo | wc -l"] }).dir, { stdio: ["ignore", "pipe", "inherit"], noPivot: true });
  const [out, st] = await Promise.all([collect(c.stdout), rt.wait(id)]);
  assert.equal(st.exitCode, 0);
  assert.match(out, /^bin\ndev\netc\n/);
  await rt.delete(id);
});

test("sysctls are set in the container's own namespaces", async () => {
  const { rt } = fx.env;
  const id = uniqueId("sysctl");
  const b = fx.bundles.bundle({ args: ["/bin/sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"] }, (s) => {
    s.linux!.sysctl = { "net.ipv4.ip_forward": "1", "kernel.shmmni": "1234" };
    s.linux!.readonlyPaths = s.linux!.readonlyPaths!.filter((p) => p !== "/proc/sys");
  });
  const c = await rt.run(id, b.dir, { stdio: ["ignore", "pipe", "inherit"] });
  const [out] = await Promise.all([collect(c.stdout), rt.wait(id)]);
  assert.equal(out, "1\n1234\n");
  await rt.delete(id);
  assert.equal(readFileSync("/proc/sys/kernel/shmmni", "utf8").trim() === "1234", false, "the host's value is untouched");
});

test("delete --force cleans up after a keel that died halfway through create", async () => {
  // A child process creates a container and is SIGKILLed before it can start or delete it.
  const id = uniqueId("crash");
  const b = fx.bundles.bundle({ args: ["/bin/sleep", "30"] });
  const script = `import { Runtime } from ${JSON.stringify(new URL("../../runtime/runtime.js", import.meta.url).href)};
    const rt = new Runtime({ root: ${JSON.stringify(fx.env.root)} });
    await rt.create(${JSON.stringify(id)}, ${JSON.stringify(b.dir)}, { stdio: "ignore", detach: true });
    process.stdout.write("created\\n");
    setInterval(() => {}, 1000);`;
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  const other = new Runtime({ root: fx.env.root });
  assert.equal(other.state(id).status, "created");
  const cgroupDirs = () => readFileSync("/proc/self/cgroup", "utf8") && existsSync(`/sys/fs/cgroup/pids/keel-${id.replace(/^keel-/, "")}`);
  await other.delete(id, { force: true });
  assert.ok(!existsSync(join(fx.env.root, id)));
  assert.equal(cgroupDirs(), false);
});
