// The seccomp compiler, run through a strict classic-BPF interpreter: operators over 64-bit
// values, rule order, architectures, x32, actions, flags, and the typed errors of a bad profile.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompOperator } from "../../oci/runtime-spec.js";
import { compileSeccomp, compileSeccompPlan, instructionCount, seccompFlags, unknownSyscallNames, SECCOMP_RET } from "../../runtime/seccomp/compile.js";
import { AUDIT_ARCH, X32_SYSCALL_BIT } from "../../runtime/seccomp/arch.js";
import { SYSCALLS_I386, SYSCALLS_X32, SYSCALLS_X86_64 } from "../../runtime/seccomp/syscalls-x86_64.js";
import { SeccompProfileError, SeccompTooLargeError, SeccompUnsupportedError } from "../../runtime/seccomp/errors.js";
import { disassemble } from "../../runtime/seccomp/bpf.js";
import { longestPath, runFilter, type SeccompData, type Verdict } from "./seccomp-bpf-interp.js";

const NR = SYSCALLS_X86_64 as Record<string, number>;
const EPERM = 1;

function verdict(profile: LinuxSeccomp, d: SeccompData): Verdict {
  const filter = compileSeccomp(profile);
  longestPath(filter); // every path in bounds
  return runFilter(filter, d);
}
const short = (v: Verdict) => (v.action === "ERRNO" || v.action === "TRACE" ? `${v.action}(${v.data})` : v.action);

/** One rule on `uname` with one argument check; default ALLOW, the rule ERRNO(EPERM). */
function oneCheck(arg: LinuxSeccompArg): LinuxSeccomp {
  return { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["uname"], action: "SCMP_ACT_ERRNO", args: [arg] }] };
}

const HI = 0x1_0000_0000; // 2^32: values with a high half

test("every operator over 64-bit values, high and low halves", () => {
  const cases: [SeccompOperator, number, number, boolean][] = [
    // op, rule value, the call's argument, matches?
    ["SCMP_CMP_EQ", 5, 5, true],
    ["SCMP_CMP_EQ", 5, 6, false],
    ["SCMP_CMP_EQ", 5, HI + 5, false],
    ["SCMP_CMP_EQ", HI + 5, HI + 5, true],
    ["SCMP_CMP_EQ", HI + 5, 5, false],
    ["SCMP_CMP_NE", 5, 5, false],
    ["SCMP_CMP_NE", 5, HI + 5, true],
    ["SCMP_CMP_NE", 5, 4, true],
    ["SCMP_CMP_GT", 5, 6, true],
    ["SCMP_CMP_GT", 5, 5, false],
    ["SCMP_CMP_GT", 5, HI, true],
    ["SCMP_CMP_GT", HI + 5, 0xffffffff, false],
    ["SCMP_CMP_GT", HI + 5, HI + 6, true],
    ["SCMP_CMP_GT", HI + 5, 2 * HI, true],
    ["SCMP_CMP_GE", 5, 5, true],
    ["SCMP_CMP_GE", 5, 4, false],
    ["SCMP_CMP_GE", HI, HI, true],
    ["SCMP_CMP_GE", HI, 0xffffffff, false],
    ["SCMP_CMP_LT", 5, 4, true],
    ["SCMP_CMP_LT", 5, 5, false],
    ["SCMP_CMP_LT", 5, HI + 1, false],
    ["SCMP_CMP_LT", HI + 5, 0xffffffff, true],
    ["SCMP_CMP_LT", HI + 5, HI + 4, true],
    ["SCMP_CMP_LT", HI + 5, 2 * HI, false],
    ["SCMP_CMP_LE", 5, 5, true],
    ["SCMP_CMP_LE", 5, 6, false],
    ["SCMP_CMP_LE", HI, HI, true],
    ["SCMP_CMP_LE", HI, HI + 1, false],
    ["SCMP_CMP_LE", 0, 0, true],
  ];
  for (const [op, value, arg, matches] of cases) {
    const v = verdict(oneCheck({ index: 2, op, value }), { nr: NR.uname!, args: [0, 0, arg] });
    assert.equal(short(v), matches ? `ERRNO(${EPERM})` : "ALLOW", `${op} ${value} against ${arg}`);
  }
});

test("MASKED_EQ: value is the mask, valueTwo the datum, on both halves", () => {
  const cases: [bigint, bigint, bigint, boolean][] = [
    // mask, datum, argument, matches?
    [0o700n, 0o700n, 0o755n, true],
    [0o700n, 0o700n, 0o655n, false],
    [0xffn, 0n, 0x100n, true],
    [0xffn, 0n, 0x101n, false],
    [0xffff_0000_0000_0000n, 0x1234_0000_0000_0000n, 0x1234_5678_9abc_def0n, true],
    [0xffff_0000_0000_0000n, 0x1234_0000_0000_0000n, 0x1235_5678_9abc_def0n, false],
    [0xffff_ffff_ffff_ffffn, 0x1_0000_0001n, 0x1_0000_0001n, true],
    [0xffff_ffff_ffff_ffffn, 0x1_0000_0001n, 0x1n, false],
    [0n, 0n, 0xdead_beefn, true], // an empty mask matches anything when the datum is 0
    [0n, 1n, 0xdead_beefn, false],
  ];
  for (const [mask, datum, arg, matches] of cases) {
    const arg0 = { index: 1, op: "SCMP_CMP_MASKED_EQ", value: mask as unknown as number, valueTwo: datum as unknown as number } as LinuxSeccompArg;
    const v = verdict(oneCheck(arg0), { nr: NR.uname!, args: [0, arg] });
    assert.equal(short(v), matches ? `ERRNO(${EPERM})` : "ALLOW", `(0x${arg.toString(16)} & 0x${mask.toString(16)}) == 0x${datum.toString(16)}`);
  }
});

test("bigint values reach the full 64 bits", () => {
  const max = 0xffff_ffff_ffff_ffffn;
  const p = oneCheck({ index: 0, op: "SCMP_CMP_EQ", value: max as unknown as number });
  assert.equal(short(verdict(p, { nr: NR.uname!, args: [max] })), "ERRNO(1)");
  assert.equal(short(verdict(p, { nr: NR.uname!, args: [max - 1n] })), "ALLOW");
});

test("several rules for one call: profile order, first match wins; checks in a rule are AND-ed", () => {
  const p: LinuxSeccomp = {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    syscalls: [
      { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, op: "SCMP_CMP_EQ", value: 9 }, { index: 0, op: "SCMP_CMP_LE", value: 1 }] },
      { names: ["kill"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, op: "SCMP_CMP_EQ", value: 9 }] },
      { names: ["kill"], action: "SCMP_ACT_LOG", args: [{ index: 1, op: "SCMP_CMP_GE", value: 10 }, { index: 1, op: "SCMP_CMP_LE", value: 20 }] },
      { names: ["kill", "tkill"], action: "SCMP_ACT_TRAP" },
      { names: ["kill"], action: "SCMP_ACT_ALLOW" }, // dead: after an unconditional rule
    ],
  };
  const kill = (pid: number, sig: number) => short(verdict(p, { nr: NR.kill!, args: [pid, sig] }));
  assert.equal(kill(1, 9), "ERRNO(13)");
  assert.equal(kill(0, 9), "ERRNO(13)");
  assert.equal(kill(2, 9), "ALLOW");
  assert.equal(kill(2, 15), "LOG");
  assert.equal(kill(2, 10), "LOG");
  assert.equal(kill(2, 21), "TRAP");
  assert.equal(kill(2, 2), "TRAP");
  assert.equal(short(verdict(p, { nr: NR.tkill!, args: [1, 9] })), "TRAP");
  assert.equal(short(verdict(p, { nr: NR.getpid! })), "ERRNO(38)");
});

test("every action and its return value; errnoRet and defaultErrnoRet default to EPERM", () => {
  const cases: [Partial<LinuxSyscall>, number][] = [
    [{ action: "SCMP_ACT_KILL" }, SECCOMP_RET.KILL_THREAD],
    [{ action: "SCMP_ACT_KILL_THREAD" }, SECCOMP_RET.KILL_THREAD],
    [{ action: "SCMP_ACT_KILL_PROCESS" }, SECCOMP_RET.KILL_PROCESS],
    [{ action: "SCMP_ACT_TRAP" }, SECCOMP_RET.TRAP],
    [{ action: "SCMP_ACT_ERRNO" }, SECCOMP_RET.ERRNO | EPERM],
    [{ action: "SCMP_ACT_ERRNO", errnoRet: 0 }, SECCOMP_RET.ERRNO],
    [{ action: "SCMP_ACT_ERRNO", errnoRet: 95 }, SECCOMP_RET.ERRNO | 95],
    [{ action: "SCMP_ACT_TRACE" }, SECCOMP_RET.TRACE | EPERM],
    [{ action: "SCMP_ACT_TRACE", errnoRet: 7 }, SECCOMP_RET.TRACE | 7],
    [{ action: "SCMP_ACT_LOG" }, SECCOMP_RET.LOG],
    [{ action: "SCMP_ACT_ALLOW" }, SECCOMP_RET.ALLOW],
  ];
  for (const [rule, ret] of cases) {
    const p: LinuxSeccomp = { defaultAction: "SCMP_ACT_KILL_PROCESS", syscalls: [{ names: ["getpid"], action: rule.action!, errnoRet: rule.errnoRet }] };
    assert.equal(verdict(p, { nr: NR.getpid! }).ret >>> 0, ret >>> 0, JSON.stringify(rule));
  }
  assert.equal(verdict({ defaultAction: "SCMP_ACT_ERRNO" }, { nr: NR.getpid! }).ret, (SECCOMP_RET.ERRNO | EPERM) >>> 0);
  assert.equal(verdict({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38 }, { nr: NR.getpid! }).ret, (SECCOMP_RET.ERRNO | 38) >>> 0);
  assert.equal(verdict({ defaultAction: "SCMP_ACT_LOG" }, { nr: NR.getpid! }).ret, SECCOMP_RET.LOG);
});

test("architectures: native x86_64 always, i386 with its own numbers, foreign ones the default, others killed", () => {
  const rules = { defaultAction: "SCMP_ACT_ERRNO" as const, syscalls: [{ names: ["getpid", "_llseek"], action: "SCMP_ACT_ALLOW" as const }] };
  const native = compileSeccomp(rules);
  assert.equal(runFilter(native, { nr: NR.getpid! }).action, "ALLOW");
  assert.equal(runFilter(native, { nr: SYSCALLS_I386.getpid!, arch: AUDIT_ARCH.I386 }).action, "KILL_PROCESS");
  assert.equal(runFilter(native, { nr: 0, arch: AUDIT_ARCH.AARCH64 }).action, "KILL_PROCESS");

  const multi = compileSeccomp({ ...rules, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"] });
  assert.equal(runFilter(multi, { nr: SYSCALLS_I386.getpid!, arch: AUDIT_ARCH.I386 }).action, "ALLOW");
  // _llseek exists on i386 only: skipped on x86_64, where its i386 number is another call.
  assert.equal(runFilter(multi, { nr: SYSCALLS_I386._llseek!, arch: AUDIT_ARCH.I386 }).action, "ALLOW");
  assert.equal(SYSCALLS_X86_64._llseek, undefined);
  assert.equal(runFilter(multi, { nr: SYSCALLS_I386.getpid!, arch: AUDIT_ARCH.X86_64 }).action, "ERRNO");
  assert.equal(runFilter(multi, { nr: NR.getpid!, arch: AUDIT_ARCH.I386 }).action, "ERRNO");
  assert.equal(runFilter(multi, { nr: 0, arch: AUDIT_ARCH.AARCH64 }).action, "ERRNO");
  assert.equal(runFilter(multi, { nr: 0, arch: AUDIT_ARCH.S390X }).action, "KILL_PROCESS");
});

test("32-bit ABIs compare the low half only", () => {
  const p: LinuxSeccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86"],
    syscalls: [
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, op: "SCMP_CMP_EQ", value: 7 }] },
      { names: ["getppid"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, op: "SCMP_CMP_GT", value: HI }] },
      { names: ["getppid"], action: "SCMP_ACT_TRAP", args: [{ index: 0, op: "SCMP_CMP_LT", value: HI }] },
    ],
  };
  const f = compileSeccomp(p);
  assert.equal(runFilter(f, { nr: SYSCALLS_I386.getpid!, arch: AUDIT_ARCH.I386, args: [7] }).action, "ERRNO");
  assert.equal(runFilter(f, { nr: SYSCALLS_I386.getpid!, arch: AUDIT_ARCH.I386, args: [8] }).action, "ALLOW");
  // A 32-bit argument is never above 2^32, always below it.
  assert.equal(runFilter(f, { nr: SYSCALLS_I386.getppid!, arch: AUDIT_ARCH.I386, args: [0xffffffff] }).action, "TRAP");
});

test("x32 calls are killed unless SCMP_ARCH_X32 is listed; nr -1 is not x32", () => {
  const p: LinuxSeccomp = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] };
  const f = compileSeccomp(p);
  assert.equal(runFilter(f, { nr: SYSCALLS_X32.getpid! }).action, "KILL_PROCESS");
  assert.equal(runFilter(f, { nr: X32_SYSCALL_BIT }).action, "KILL_PROCESS");
  assert.equal(runFilter(f, { nr: 0x7fffffff }).action, "KILL_PROCESS");
  assert.equal(short(runFilter(f, { nr: -1 })), "ERRNO(1)");
  assert.equal(runFilter(f, { nr: NR.getpid! }).action, "ALLOW");

  const withX32 = compileSeccomp({ ...p, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] });
  assert.equal(runFilter(withX32, { nr: SYSCALLS_X32.getpid! }).action, "ALLOW");
  assert.equal(runFilter(withX32, { nr: SYSCALLS_X32.getppid! }).action, "ERRNO");
  assert.equal(runFilter(withX32, { nr: NR.getpid! }).action, "ALLOW");
});

test("unknown system call names are skipped, and can be listed for a warning", () => {
  const p: LinuxSeccomp = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["no_such_call", "getpid", "toString", "__proto__", "_llseek"], action: "SCMP_ACT_ALLOW" }] };
  assert.equal(verdict(p, { nr: NR.getpid! }).action, "ALLOW");
  assert.deepEqual(unknownSyscallNames(p), ["no_such_call", "toString", "__proto__", "_llseek"]);
  // _llseek is an i386 call: known once SCMP_ARCH_X86 is filtered too.
  assert.deepEqual(unknownSyscallNames({ ...p, architectures: ["SCMP_ARCH_X86"] }), ["no_such_call", "toString", "__proto__"]);
});

test("flags map to seccomp(2) flags; WAIT_KILLABLE_RECV needs a listener keel never makes", () => {
  assert.equal(seccompFlags({ defaultAction: "SCMP_ACT_ALLOW" }), 0);
  assert.equal(seccompFlags({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }), 2 | 4);
  assert.equal(seccompFlags({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_TSYNC"] }), 1);
  assert.equal(seccompFlags({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }), 0);
  const plan = compileSeccompPlan({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG"] });
  assert.equal(plan.flags, 2);
  assert.ok(Buffer.isBuffer(plan.filter));
});

test("a malformed profile is a typed error naming the field", () => {
  const bad = (p: unknown, field: string, cls: new (...a: never[]) => Error = SeccompProfileError) =>
    assert.throws(() => compileSeccomp(p as LinuxSeccomp), (e: unknown) => {
      assert.ok(e instanceof cls, `${String(e)} is a ${cls.name}`);
      assert.equal((e as unknown as { field: string }).field, field);
      assert.match((e as Error).message, new RegExp(field.replace(/[[\].]/g, "\\$&")));
      return true;
    });
  const call = (extra: object) => ({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW" }, { names: ["b"], action: "SCMP_ACT_ERRNO", ...extra }] });
  bad({ defaultAction: "SCMP_ACT_NOPE" }, "linux.seccomp.defaultAction");
  bad({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: -1 }, "linux.seccomp.defaultErrnoRet");
  bad(call({ action: "ALLOW" }), "linux.seccomp.syscalls[1].action");
  bad(call({ errnoRet: 70000 }), "linux.seccomp.syscalls[1].errnoRet");
  bad(call({ names: "b" }), "linux.seccomp.syscalls[1].names");
  bad(call({ args: [{ index: 0, op: "SCMP_CMP_EQ", value: 1 }, { index: 6, op: "SCMP_CMP_EQ", value: 1 }] }), "linux.seccomp.syscalls[1].args[1].index");
  bad(call({ args: [{ index: 0, op: "SCMP_CMP_EQUAL", value: 1 }] }), "linux.seccomp.syscalls[1].args[0].op");
  bad(call({ args: [{ index: 0, op: "SCMP_CMP_EQ", value: -1 }] }), "linux.seccomp.syscalls[1].args[0].value");
  bad(call({ args: [{ index: 0, op: "SCMP_CMP_EQ", value: 2 ** 60 }] }), "linux.seccomp.syscalls[1].args[0].value");
  bad(call({ args: [{ index: 0, op: "SCMP_CMP_MASKED_EQ", value: 1, valueTwo: 1.5 }] }), "linux.seccomp.syscalls[1].args[0].valueTwo");
  bad({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80"] }, "linux.seccomp.architectures[0]");
  bad({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW_LISTENER"] }, "linux.seccomp.flags[1]");
  bad(call({ action: "SCMP_ACT_NOTIFY" }), "linux.seccomp.syscalls[1].action", SeccompUnsupportedError);
  bad({ defaultAction: "SCMP_ACT_NOTIFY" }, "linux.seccomp.defaultAction", SeccompUnsupportedError);
});

test("a program past the kernel's 4096 instructions fails clearly", () => {
  const syscalls = Array.from({ length: 1200 }, (_, i) => ({
    names: ["ioctl"],
    action: "SCMP_ACT_ERRNO" as const,
    args: [{ index: 1, op: "SCMP_CMP_EQ" as const, value: HI + i }],
  }));
  assert.throws(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls }), (e: unknown) => {
    assert.ok(e instanceof SeccompTooLargeError);
    assert.ok(e.instructions > 4096);
    assert.match(e.message, /4096/);
    return true;
  });
  // 600 of them fit, with long jumps relaxed through trampolines; the last one still matches.
  const f = compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls: syscalls.slice(0, 600) });
  assert.ok(instructionCount(f) <= 4096);
  // The search tree jumps over ~3000 instructions of ioctl checks: through `ja` trampolines.
  assert.match(disassemble(f), /^\s*\d+: jge .*\n\s*\d+: ja \d{4}$/m);
  assert.equal(runFilter(f, { nr: NR.ioctl!, args: [0, HI + 599] }).action, "ERRNO");
  assert.equal(runFilter(f, { nr: NR.ioctl!, args: [0, HI + 600] }).action, "ALLOW");
  assert.equal(runFilter(f, { nr: NR.read! }).action, "ALLOW");
});

// --- Random profiles against a direct reading of the semantics -------------------------------

/** The profile's decision for one call, read directly: first matching rule in order. */
function reference(p: LinuxSeccomp, name: string, args: bigint[]): string {
  const holds = (a: LinuxSeccompArg) => {
    const x = args[a.index]!;
    const v = BigInt(a.value);
    switch (a.op) {
      case "SCMP_CMP_EQ": return x === v;
      case "SCMP_CMP_NE": return x !== v;
      case "SCMP_CMP_LT": return x < v;
      case "SCMP_CMP_LE": return x <= v;
      case "SCMP_CMP_GT": return x > v;
      case "SCMP_CMP_GE": return x >= v;
      case "SCMP_CMP_MASKED_EQ": return (x & v) === BigInt(a.valueTwo ?? 0);
    }
  };
  const act = (action: string, errno: number | undefined) =>
    action === "SCMP_ACT_ERRNO" ? `ERRNO(${errno ?? 1})` : action.replace("SCMP_ACT_", "");
  for (const r of p.syscalls ?? []) if (r.names.includes(name) && (r.args ?? []).every(holds)) return act(r.action, r.errnoRet);
  return act(p.defaultAction, p.defaultErrnoRet);
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test("random profiles decide as the rules read, first match in order", () => {
  const rand = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const names = ["read", "write", "openat", "ioctl", "mmap", "kill", "socket", "clone", "uname", "futex"];
  const ops: SeccompOperator[] = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
  const values = [0n, 1n, 2n, 7n, 0xffn, 0xffff_ffffn, 0x1_0000_0000n, 0x1_0000_0007n, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n];
  const actions = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_TRAP", "SCMP_ACT_LOG"] as const;
  const abis = [
    { arch: AUDIT_ARCH.X86_64, table: NR, bits: 64 },
    { arch: AUDIT_ARCH.I386, table: SYSCALLS_I386, bits: 32 },
    { arch: AUDIT_ARCH.X86_64, table: SYSCALLS_X32, bits: 64 },
  ] as const;
  for (let round = 0; round < 60; round++) {
    const syscalls = Array.from({ length: 1 + Math.floor(rand() * 25) }, () => {
      const nargs = Math.floor(rand() * 3);
      return {
        names: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(names)),
        action: pick(actions),
        errnoRet: Math.floor(rand() * 5) + 1,
        args: Array.from({ length: nargs }, () => ({
          index: Math.floor(rand() * 3),
          op: pick(ops),
          value: pick(values) as unknown as number,
          valueTwo: pick(values) as unknown as number,
        })),
      };
    });
    const p: LinuxSeccomp = { defaultAction: pick(actions), defaultErrnoRet: 38, architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls };
    const f = compileSeccomp(p);
    longestPath(f);
    for (let q = 0; q < 80; q++) {
      const name = pick(names);
      const abi = pick(abis);
      // A 32-bit process's arguments are zero-extended 32-bit values.
      const args = [pick(values), pick(values), pick(values)].map((v) => (abi.bits === 32 ? v & 0xffff_ffffn : v));
      const got = short(runFilter(f, { nr: abi.table[name]!, arch: abi.arch, args }));
      // runc's stub: on x86_64, calls numbered above every call the profile names get ENOSYS
      // when the default action refuses (TRAP here; ERRNO(38) already is ENOSYS).
      const x64 = abis[0]!;
      const newest = Math.max(-1, ...syscalls.flatMap((r) => r.names).map((n) => x64.table[n]!).filter((nr) => nr !== undefined));
      const stubbed = abi === x64 && p.defaultAction === "SCMP_ACT_TRAP" && x64.table[name]! > newest;
      assert.equal(got, stubbed ? "ERRNO(38)" : reference(p, name, args), `round ${round}, ${abi.arch.toString(16)} ${name}(${args.join(", ")})\n${JSON.stringify(p, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v))}\n${disassemble(f)}`);
    }
  }
});
