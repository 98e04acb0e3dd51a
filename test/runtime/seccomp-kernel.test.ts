// Compiled filters loaded by the real kernel: a process spawned with one (no rootfs needed)
// sees the decisions the profile asks for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LinuxSeccomp } from "../../oci/runtime-spec.js";
import { native, type ExitStatus } from "../../native/index.js";
import { compileSeccompPlan } from "../../runtime/seccomp/compile.js";
import { defaultSeccompProfile } from "../../runtime/seccomp/default-profile.js";
import { DEFAULT_CAPABILITIES } from "../../runtime/capabilities.js";

const SIGSYS = 31;

async function run(profile: LinuxSeccomp, args: string[]): Promise<{ status: ExitStatus; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "keel-seccomp-"));
  const out = join(dir, "out");
  const fd = openSync(out, "w");
  try {
    const seccomp = compileSeccompPlan(profile);
    const child = await native.spawn({ cloneFlags: 0, args, env: ["PATH=/usr/bin:/bin", "LC_ALL=C"], seccomp, noNewPrivileges: true, stdio: [-1, fd, fd] });
    try {
      await child.exec;
      const status = await native.waitPidfd(child.pidfd);
      return { status, output: readFileSync(out, "utf8") };
    } finally {
      closeSync(child.pidfd);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

const denyWithEperm = (...names: string[]): LinuxSeccomp => ({
  defaultAction: "SCMP_ACT_ALLOW",
  syscalls: [{ names, action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
});

test("a blocked mkdir fails with 'Operation not permitted' while the rest works", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keel-seccomp-mkdir-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await run(denyWithEperm("mkdir", "mkdirat"), ["/bin/sh", "-c", `mkdir ${dir}/sub; echo "mkdir=$?"; echo ok > ${dir}/file && cat ${dir}/file`]);
  assert.deepEqual(r.status, { exitCode: 0, signal: null }, r.output);
  assert.match(r.output, /Operation not permitted/);
  assert.match(r.output, /mkdir=1/);
  assert.match(r.output, /^ok$/m);
});

test("a blocked uname: the uname command fails, echo still runs", async () => {
  const r = await run(denyWithEperm("uname"), ["/bin/sh", "-c", "uname -s; echo rc=$?"]);
  assert.match(r.output, /Operation not permitted/);
  assert.match(r.output, /rc=1/);
});

test("argument checks reach the kernel: only getcwd with a small buffer is refused", async () => {
  const profile: LinuxSeccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["getcwd"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, op: "SCMP_CMP_LT", value: 64 }] }],
  };
  const r = await run(profile, ["/usr/bin/perl", "-e", 'my $b = "\\0" x 4096; for my $n (16, 4096) { my $r = syscall(79, $b, $n); print "$n: ", ($r < 0 ? "$!" : "ok"), "\\n" }']);
  assert.match(r.output, /^16: Permission denied$/m);
  assert.match(r.output, /^4096: ok$/m);
});

test("64-bit argument values: the kernel's high and low halves are where the filter reads them", async () => {
  const profile: LinuxSeccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    syscalls: [{ names: ["lseek"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, op: "SCMP_CMP_EQ", value: 2 ** 32 + 5 }] }],
  };
  // lseek(fd, offset, SEEK_SET) = 8 on x86_64.
  const script = 'open(my $f, "<", "/bin/sh") or die; for my $o (5, 4294967301, 8589934597) { my $r = syscall(8, fileno($f), $o, 0); print "$o: ", ($r < 0 ? "$!" : $r), "\\n" }';
  const r = await run(profile, ["/usr/bin/perl", "-e", script]);
  assert.match(r.output, /^5: 5$/m);
  assert.match(r.output, /^4294967301: Permission denied$/m);
  assert.match(r.output, /^8589934597: 8589934597$/m);
});

test("a large filter with long jumps (trampolines) loads and decides right", async () => {
  const ioctls = Array.from({ length: 400 }, (_, i) => ({
    names: ["ioctl"],
    action: "SCMP_ACT_ERRNO" as const,
    args: [{ index: 1, op: "SCMP_CMP_EQ" as const, value: 2 ** 32 + i }],
  }));
  const profile: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [...ioctls, { names: ["uname"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
  assert.ok(compileSeccompPlan(profile).filter.length / 8 > 1000);
  const r = await run(profile, ["/bin/sh", "-c", "uname; echo rc=$?; ls -d /"]);
  assert.match(r.output, /Operation not permitted/);
  assert.match(r.output, /rc=1/);
  assert.match(r.output, /^\/$/m);
});

test("KILL_PROCESS ends the process with SIGSYS", async () => {
  const r = await run({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["uname"], action: "SCMP_ACT_KILL_PROCESS" }] }, ["/bin/uname"]);
  assert.deepEqual(r.status, { exitCode: null, signal: SIGSYS });
});

test("flags are accepted by seccomp(2)", async () => {
  const r = await run({ ...denyWithEperm("uname"), flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }, ["/bin/sh", "-c", "echo hi"]);
  assert.equal(r.output, "hi\n");
});

test("the default profile runs ordinary programs", async () => {
  const profile = defaultSeccompProfile({ capabilities: DEFAULT_CAPABILITIES });
  const ls = await run(profile, ["/bin/ls", "/"]);
  assert.deepEqual(ls.status, { exitCode: 0, signal: null }, ls.output);
  assert.match(ls.output, /^proc$/m);
  const sh = await run(profile, ["/bin/sh", "-c", "echo hi"]);
  assert.deepEqual(sh.status, { exitCode: 0, signal: null });
  assert.equal(sh.output, "hi\n");
});

test("the default profile: EPERM for the deny list and missing capabilities, ENOSYS for the unknown", async () => {
  const profile = defaultSeccompProfile({ capabilities: DEFAULT_CAPABILITIES });
  // 246 kexec_load (deny list), 170 sethostname (needs CAP_SYS_ADMIN), 1000 (no such call), 39 getpid.
  const script = 'for my $n (246, 170, 1000) { syscall($n, 0, 0, 0, 0); print "$n: $!\\n" } print "39: ", syscall(39) == $$ ? "ok" : "bad", "\\n"';
  const r = await run(profile, ["/usr/bin/perl", "-e", script]);
  assert.deepEqual(r.status, { exitCode: 0, signal: null }, r.output);
  assert.match(r.output, /^246: Operation not permitted$/m);
  assert.match(r.output, /^170: Operation not permitted$/m);
  assert.match(r.output, /^1000: Function not implemented$/m);
  assert.match(r.output, /^39: ok$/m);
});
