// podman's default seccomp profile, resolved for capability sets and compiled, decided by the
// BPF interpreter: allowed calls, the EPERM list, capability-gated calls, ENOSYS for the unknown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileSeccomp, instructionCount } from "../../runtime/seccomp/compile.js";
import { defaultSeccompProfile, UnsupportedSeccompArchError } from "../../runtime/seccomp/default-profile.js";
import { AUDIT_ARCH } from "../../runtime/seccomp/arch.js";
import { SYSCALLS_I386, SYSCALLS_X32, SYSCALLS_X86_64 } from "../../runtime/seccomp/syscalls-x86_64.js";
import { DEFAULT_CAPABILITIES } from "../../runtime/capabilities.js";
import { longestPath, runFilter, type SeccompData } from "./seccomp-bpf-interp.js";

const NR = SYSCALLS_X86_64 as Record<string, number>;
const EPERM = 1, EINVAL = 22, ENOSYS = 38;
const AF_INET = 2, AF_NETLINK = 16, SOCK_RAW = 3, NETLINK_AUDIT = 9, NETLINK_ROUTE = 0;

function decide(caps: readonly string[]) {
  const filter = compileSeccomp(defaultSeccompProfile({ capabilities: caps, arch: "x64" }));
  return (name: string, args: number[] = [], extra: Partial<SeccompData> = {}) => {
    const v = runFilter(filter, { nr: NR[name]!, args, ...extra });
    return v.action === "ERRNO" ? `ERRNO(${v.data})` : v.action;
  };
}

test("the profile's shape: ERRNO with ENOSYS by default, x86 architectures", () => {
  const p = defaultSeccompProfile({ capabilities: [], arch: "x64" });
  assert.equal(p.defaultAction, "SCMP_ACT_ERRNO");
  assert.equal(p.defaultErrnoRet, ENOSYS);
  assert.deepEqual(p.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  // A fresh copy each time: a caller may edit it.
  p.syscalls![1]!.names.push("kexec_load");
  assert.ok(!defaultSeccompProfile({ capabilities: [], arch: "x64" }).syscalls![1]!.names.includes("kexec_load"));
  assert.throws(() => defaultSeccompProfile({ capabilities: [], arch: "mips" }), UnsupportedSeccompArchError);
});

test("ordinary calls are allowed, the deny list gets EPERM, unknown calls ENOSYS", () => {
  const d = decide(DEFAULT_CAPABILITIES);
  for (const name of ["read", "write", "openat", "execve", "exit_group", "clone3", "rseq", "arch_prctl", "modify_ldt", "futex", "io_setup", "membarrier", "landlock_create_ruleset"])
    assert.equal(d(name), "ALLOW", name);
  for (const name of ["kexec_load", "kexec_file_load", "swapon", "userfaultfd", "vmsplice", "move_pages", "sysfs"])
    assert.equal(d(name), `ERRNO(${EPERM})`, name);
  // In the profile, not a filter decision: the kernel's own capability checks guard these.
  for (const name of ["mount", "umount2", "pivot_root", "unshare", "reboot", "ptrace", "process_vm_readv"]) assert.equal(d(name), "ALLOW", name);
  // Not in the profile at all: ENOSYS, so that programs fall back.
  for (const name of ["add_key", "request_key", "fchmodat2", "cachestat"]) assert.equal(d(name), `ERRNO(${ENOSYS})`, name);
  assert.equal(runFilter(compileSeccomp(defaultSeccompProfile({ capabilities: [], arch: "x64" })), { nr: 1000 }).data, ENOSYS);
});

test("capability-gated calls: allowed with the capability, EPERM without", () => {
  const none = decide([]);
  const admin = decide(["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_CHROOT", "CAP_SYS_MODULE", "CAP_SYS_TIME", "CAP_SYS_PACCT", "CAP_SYS_RAWIO", "CAP_SYS_TTY_CONFIG", "CAP_DAC_READ_SEARCH"]);
  const gated = ["bpf", "sethostname", "perf_event_open", "quotactl", "kcmp", "process_madvise", "chroot", "init_module", "settimeofday", "clock_settime", "acct", "ioperm", "vhangup", "open_by_handle_at"];
  for (const name of gated) {
    assert.equal(none(name), `ERRNO(${EPERM})`, `${name} without its capability`);
    assert.equal(admin(name), "ALLOW", `${name} with its capability`);
  }
  // setns is also on the plain allow list, which comes first: allowed either way.
  assert.equal(none("setns"), "ALLOW");
  // podman's default capabilities include CAP_SYS_CHROOT but not CAP_SYS_ADMIN.
  const podman = decide(DEFAULT_CAPABILITIES);
  assert.equal(podman("chroot"), "ALLOW");
  assert.equal(podman("sethostname"), `ERRNO(${EPERM})`);
});

test("personality: only the listed personas", () => {
  const d = decide([]);
  for (const persona of [0, 8, 0x20000, 0x20008, 0xffffffff]) assert.equal(d("personality", [persona]), "ALLOW", `0x${persona.toString(16)}`);
  assert.equal(d("personality", [0x0040000]), `ERRNO(${ENOSYS})`); // ADDR_NO_RANDOMIZE
});

test("socket: no audit netlink socket without CAP_AUDIT_WRITE", () => {
  const none = decide([]);
  assert.equal(none("socket", [AF_NETLINK, SOCK_RAW, NETLINK_AUDIT]), `ERRNO(${EINVAL})`);
  assert.equal(none("socket", [AF_NETLINK, SOCK_RAW, NETLINK_ROUTE]), "ALLOW");
  assert.equal(none("socket", [AF_INET, SOCK_RAW, NETLINK_AUDIT]), "ALLOW");
  assert.equal(decide(["CAP_AUDIT_WRITE"])("socket", [AF_NETLINK, SOCK_RAW, NETLINK_AUDIT]), "ALLOW");
});

test("32-bit and x32 processes get the same policy with their own numbers", () => {
  const filter = compileSeccomp(defaultSeccompProfile({ capabilities: [], arch: "x64" }));
  const i386 = (name: string) => runFilter(filter, { nr: SYSCALLS_I386[name]!, arch: AUDIT_ARCH.I386 });
  assert.equal(i386("read").action, "ALLOW");
  assert.equal(i386("_llseek").action, "ALLOW");
  assert.equal(i386("socketcall").action, "ALLOW");
  assert.equal(i386("kexec_load").data, EPERM);
  assert.equal(i386("bpf").data, EPERM);
  const x32 = (name: string) => runFilter(filter, { nr: SYSCALLS_X32[name]! });
  assert.equal(x32("read").action, "ALLOW");
  assert.equal(x32("kexec_load").data, EPERM);
  assert.equal(runFilter(filter, { nr: 0, arch: AUDIT_ARCH.AARCH64 }).action, "KILL_PROCESS");
});

test("size and cost of the compiled default profile", (t) => {
  const filter = compileSeccomp(defaultSeccompProfile({ capabilities: DEFAULT_CAPABILITIES, arch: "x64" }));
  const profile = defaultSeccompProfile({ capabilities: DEFAULT_CAPABILITIES, arch: "x64" });
  let worst = 0;
  let worstName = "";
  let allowed = 0;
  const allowedNames = new Set(profile.syscalls!.filter((s) => s.action === "SCMP_ACT_ALLOW").flatMap((s) => s.names));
  for (const name of allowedNames) {
    if (NR[name] === undefined) continue;
    const v = runFilter(filter, { nr: NR[name]!, args: [0, 0, 0, 0, 0, 0] });
    if (v.action !== "ALLOW") continue;
    allowed++;
    if (v.steps > worst) {
      worst = v.steps;
      worstName = name;
    }
  }
  const size = instructionCount(filter);
  t.diagnostic(`default profile: ${size} instructions; ${allowed} x86_64 calls allowed; worst allowed call ${worstName}: ${worst} instructions; longest path ${longestPath(filter)}`);
  assert.ok(size < 600, `${size} instructions`);
  assert.ok(worst <= 24, `worst allowed call costs ${worst}`);
});
