// What a user checks first about a container: it is isolated and confined by default.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BusyboxBundles } from "../../runtime/busybox-bundle.js";
import { runToExit, runtimeFixture, uniqueId } from "../fixtures/run-container.js";
import { capabilityMask, DEFAULT_CAPABILITIES } from "../../runtime/capabilities.js";

const fx = runtimeFixture();

const sh = (script: string, o = {}, patch?: Parameters<BusyboxBundles["bundle"]>[1]) =>
  runToExit(fx.env.rt, fx.bundles.bundle({ args: ["/bin/sh", "-c", script], ...o }, patch).dir);

test("the first process is pid 1 with its own hostname", async () => {
  const r = await sh("echo $$; hostname", { hostname: "box-1" });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, "1\nbox-1\n");
});

test("host processes are invisible", async () => {
  const r = await sh("ls /proc | grep -c '^[0-9]'");
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(Number(r.stdout) <= 3, `saw ${r.stdout.trim()} processes`);
});

test("/proc/sys is read-only", async () => {
  const r = await sh("echo 1 > /proc/sys/kernel/ns_last_pid");
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /Read-only file system/);
});

test("masked paths show nothing", async () => {
  const r = await sh("cat /proc/kcore | wc -c; cat /proc/keys | wc -c; ls /sys/firmware | wc -l");
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split(/\s+/), ["0", "0", "0"]);
});

test("capabilities are dropped to podman's default set: mount fails inside", async () => {
  const r = await sh("grep CapEff /proc/self/status; mount -t tmpfs none /tmp && echo mounted");
  assert.notEqual(r.exitCode, 0);
  assert.doesNotMatch(r.stdout, /mounted/);
  assert.match(r.stderr, /denied|not permitted/i);
  const eff = BigInt("0x" + r.stdout.match(/CapEff:\s+([0-9a-f]+)/)![1]);
  assert.equal(eff, capabilityMask(DEFAULT_CAPABILITIES, "test"));
});

test("no_new_privs is set by default", async () => {
  const r = await sh("grep NoNewPrivs /proc/self/status");
  assert.match(r.stdout, /NoNewPrivs:\s+1/);
});

test("env, cwd and user come from the spec", async () => {
  const r = await sh("echo $FOO; pwd; id -u; id -g", { env: ["PATH=/bin", "FOO=bar"], cwd: "/tmp", uid: 65534, gid: 65534 });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.stdout, "bar\n/tmp\n65534\n65534\n");
});

test("rlimits are applied", async () => {
  const r = await sh("ulimit -n; ulimit -Hn", {}, (s) => (s.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 512, hard: 1000 }]));
  assert.equal(r.stdout, "512\n1000\n");
});

test("a user namespace maps container root to an unprivileged host uid", async () => {
  const r = await sh("id -u; cat /proc/self/uid_map", {}, (s) => {
    s.linux!.namespaces!.push({ type: "user" });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
  });
  assert.equal(r.exitCode, 0, r.stderr);
  const [uid, map] = r.stdout.split("\n");
  assert.equal(uid, "0");
  assert.deepEqual(map!.trim().split(/\s+/), ["0", "200000", "65536"]);
});

test("exit codes and signals are reported", async () => {
  assert.equal((await sh("exit 3")).exitCode, 3);
  const { rt } = fx.env;
  // pid 1 gets only the signals it handles: a trap turns SIGTERM into an exit code...
  const id = uniqueId("sig");
  const c = await rt.run(id, fx.bundles.bundle({ args: ["/bin/sh", "-c", "trap 'exit 42' TERM; echo ready; sleep 30 & wait"] }).dir, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => c.stdout!.once("data", resolve));
  await rt.kill(id, "SIGTERM");
  assert.deepEqual(await rt.wait(id), { exitCode: 42, signal: null, oomKilled: false });
  await rt.delete(id);
  // ...and SIGKILL from outside always ends it.
  const id2 = uniqueId("sig");
  await rt.run(id2, fx.bundles.bundle({ args: ["/bin/sleep", "30"] }).dir, { stdio: "ignore" });
  await rt.kill(id2, 9);
  assert.equal((await rt.wait(id2)).signal, 9);
  await rt.delete(id2);
});

test("podman's seccomp profile is on by default; a profile rule blocks a syscall", async () => {
  const r = await sh("grep Seccomp: /proc/self/status; unshare -U true; echo unshare=$?");
  assert.match(r.stdout, /Seccomp:\s+2/);
  // A rule of our own: mkdir fails with EPERM, everything else works.
  const blocked = await sh("mkdir /tmp/x; echo mkdir=$?; echo still running", {}, (s) => {
    s.linux!.seccomp!.syscalls!.unshift({ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 });
  });
  assert.match(blocked.stderr, /Operation not permitted/);
  assert.match(blocked.stdout, /mkdir=1\nstill running/);
});
