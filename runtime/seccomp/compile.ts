// Compiles an OCI seccomp profile (config.json linux.seccomp) to a classic-BPF program for
// seccomp(SECCOMP_SET_MODE_FILTER), as libseccomp does for runc and crun, without libseccomp.
//
// Shape of the program:
//   ld arch; jeq AUDIT_ARCH_X86_64 → x86_64 section; [jeq AUDIT_ARCH_I386 → i386 section];
//   [jeq <other listed arch> → default action]; ret KILL_PROCESS
//   section: ld nr; a balanced binary search over the system call numbers, where runs of
//   consecutive numbers with the same outcome are one range, ending in `ret ACTION` or in the
//   argument checks of that system call.
// podman's default profile (377 names) compiles to about 370 instructions, and an allowed call
// without argument checks runs 11 or 12 of them.
//
// Semantics, where the OCI spec leaves them open:
// - Rules are tried in profile order and the first whose argument checks all hold decides
//   (libseccomp's priorities cannot be expressed in the spec; profile order is what a reader sees).
//   A rule without args ends the list for its system calls: rules after it are dead. A rule whose
//   action is the default action is kept (it shadows later rules), where runc drops it because
//   libseccomp refuses such rules; trailing ones are pruned since they change nothing.
// - Several checks on one rule are AND-ed, also several on the same argument (crun, libseccomp ≥ 2.4;
//   runc OR-s checks that repeat an argument index).
// - System call names unknown on an architecture are skipped for it, as runc does.
// - x86_64 is always filtered (libseccomp's native architecture); SCMP_ARCH_X86 and SCMP_ARCH_X32
//   add their own sections; other listed architectures cannot run here and get the default
//   action; an architecture not listed is killed (KILL_PROCESS), and so is an x32 call
//   (nr ≥ 0x40000000) when SCMP_ARCH_X32 is not listed, except nr -1 (a tracer skipping a call).
// - ERRNO and TRACE without errnoRet use EPERM, as runc does.
// - System calls numbered above every one the profile names get ENOSYS when the default action
//   refuses (runc's patchbpf stub), so libc can fall back from calls the profile predates.
// - Arguments of 32-bit ABIs (i386) are compared on their low 32 bits only (the high half is 0).
// - MASKED_EQ: `value` is the mask and `valueTwo` the datum, (arg & value) == valueTwo, as in
//   libseccomp's SCMP_CMP_MASKED_EQ(mask, datum) to which runc passes (value, valueTwo).
import type { LinuxSeccomp, SeccompAction, SeccompOperator } from "../../oci/runtime-spec.js";
import { SCMP_ARCH, X32_SYSCALL_BIT, AUDIT_ARCH, syscallNumber, type ArchInfo } from "./arch.js";
import { Assembler, BPF_MAXINSNS, SECCOMP_DATA, SOCK_FILTER_SIZE, type Label } from "./bpf.js";
import { SeccompProfileError, SeccompTooLargeError, SeccompUnsupportedError } from "./errors.js";

/** linux/seccomp.h SECCOMP_RET_* (the action is the high 16 bits, data the low 16). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

/** linux/seccomp.h SECCOMP_FILTER_FLAG_*. */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

const OCI_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

const OPERATORS: ReadonlySet<string> = new Set<SeccompOperator>([
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
]);

const EPERM = 1;
/** Highest errno the kernel passes through (MAX_ERRNO); larger data is clamped to it. */
const MAX_ERRNO = 4095;
const U64_MAX = (1n << 64n) - 1n;
const U32 = 0xffffffff;
const ROOT = "linux.seccomp";
/** What an architecture the profile does not list gets. */
const BAD_ARCH = SECCOMP_RET.KILL_PROCESS;

interface Cond {
  index: number;
  op: SeccompOperator;
  value: bigint;
  valueTwo: bigint;
}
interface Rule {
  ret: number;
  conds: Cond[];
}

export interface CompiledSeccomp {
  /** struct sock_filter[], for the spawn plan's seccomp.filter. */
  filter: Buffer;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). */
  flags: number;
}

/** The BPF program for `profile` (x86_64 host). Throws SeccompProfileError naming the bad field. */
export function compileSeccomp(profile: LinuxSeccomp): Buffer {
  // The program dispatches on x86_64/i386/x32 numbers: on another host it would kill everything.
  if (process.arch !== "x64") throw new SeccompUnsupportedError(ROOT, `seccomp filters on a ${process.arch} host`);
  return new Compiler(profile).compile();
}

/** The seccomp(2) flags `profile.flags` asks for. */
export function seccompFlags(profile: LinuxSeccomp): number {
  if (profile.flags === undefined) return 0;
  if (!Array.isArray(profile.flags)) throw new SeccompProfileError(`${ROOT}.flags`, "must be an array of strings");
  let flags = 0;
  profile.flags.forEach((name, i) => {
    const bit = typeof name === "string" && Object.hasOwn(OCI_FLAGS, name) ? OCI_FLAGS[name]! : undefined;
    if (bit === undefined) throw new SeccompProfileError(`${ROOT}.flags[${i}]`, `unknown flag '${String(name)}' (known: ${Object.keys(OCI_FLAGS).join(", ")})`);
    flags |= bit;
  });
  // WAIT_KILLABLE_RECV only qualifies a notification listener (NEW_LISTENER), which keel does
  // not create (SCMP_ACT_NOTIFY is refused); alone it makes seccomp(2) fail with EINVAL.
  if (!(flags & SECCOMP_FILTER_FLAG.NEW_LISTENER)) flags &= ~SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
  return flags;
}

/** Filter and flags together, in the shape of the spawn plan's `seccomp`. */
export function compileSeccompPlan(profile: LinuxSeccomp): CompiledSeccomp {
  return { filter: compileSeccomp(profile), flags: seccompFlags(profile) };
}

/**
 * Names in `profile` that none of its ABIs (x86_64, plus i386/x32 when listed) knows. The
 * compiler skips them, as runc does; a caller may warn, since a typo there silently allows or
 * denies nothing.
 */
export function unknownSyscallNames(profile: LinuxSeccomp): string[] {
  const tables = [SCMP_ARCH.SCMP_ARCH_X86_64!, ...(profile.architectures ?? []).map((a) => (Object.hasOwn(SCMP_ARCH, a) ? SCMP_ARCH[a] : undefined))]
    .flatMap((a) => (a?.syscalls ? [a.syscalls] : []));
  const names = new Set((profile.syscalls ?? []).flatMap((s) => (Array.isArray(s.names) ? s.names : [])));
  return [...names].filter((n) => tables.every((t) => syscallNumber(t, n) === undefined));
}

/** The number of instructions of a compiled filter. */
export function instructionCount(filter: Buffer): number {
  return filter.length / SOCK_FILTER_SIZE;
}

function actionRet(action: unknown, errnoRet: unknown, field: string, errnoField: string): number {
  const errno = (): number => {
    if (errnoRet === undefined || errnoRet === null) return EPERM;
    if (typeof errnoRet !== "number" || !Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > MAX_ERRNO)
      throw new SeccompProfileError(errnoField, `must be an errno number 0..${MAX_ERRNO}`);
    return errnoRet;
  };
  switch (action as SeccompAction) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
      return SECCOMP_RET.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS":
      return SECCOMP_RET.KILL_PROCESS;
    case "SCMP_ACT_TRAP":
      return SECCOMP_RET.TRAP;
    case "SCMP_ACT_ERRNO":
      return (SECCOMP_RET.ERRNO | errno()) >>> 0;
    case "SCMP_ACT_TRACE":
      return (SECCOMP_RET.TRACE | errno()) >>> 0;
    case "SCMP_ACT_ALLOW":
      return SECCOMP_RET.ALLOW;
    case "SCMP_ACT_LOG":
      return SECCOMP_RET.LOG;
    case "SCMP_ACT_NOTIFY":
      throw new SeccompUnsupportedError(field, "SCMP_ACT_NOTIFY (a user-space notification listener)");
    default:
      throw new SeccompProfileError(field, `unknown action '${String(action)}'`);
  }
}

function u64(v: unknown, field: string): bigint {
  if (typeof v === "bigint") {
    if (v < 0n || v > U64_MAX) throw new SeccompProfileError(field, "must be 0..2^64-1");
    return v;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new SeccompProfileError(field, "must be a non-negative integer");
  // JSON numbers past 2^53 have already lost digits when JavaScript parsed them.
  if (!Number.isSafeInteger(v)) throw new SeccompProfileError(field, `${v} is above 2^53 and not exact as a JavaScript number: pass a bigint`);
  return BigInt(v);
}

function parseRules(profile: LinuxSeccomp): { names: string[]; rule: Rule }[] {
  const syscalls = profile.syscalls ?? [];
  if (!Array.isArray(syscalls)) throw new SeccompProfileError(`${ROOT}.syscalls`, "must be an array");
  return syscalls.map((s, i) => {
    const f = `${ROOT}.syscalls[${i}]`;
    if (typeof s !== "object" || s === null) throw new SeccompProfileError(f, "must be an object");
    if (!Array.isArray(s.names) || s.names.some((n) => typeof n !== "string")) throw new SeccompProfileError(`${f}.names`, "must be an array of system call names");
    const ret = actionRet(s.action, s.errnoRet, `${f}.action`, `${f}.errnoRet`);
    const args = s.args ?? [];
    if (!Array.isArray(args)) throw new SeccompProfileError(`${f}.args`, "must be an array");
    const conds = args.map((a, j): Cond => {
      const af = `${f}.args[${j}]`;
      if (typeof a !== "object" || a === null) throw new SeccompProfileError(af, "must be an object");
      if (typeof a.index !== "number" || !Number.isInteger(a.index) || a.index < 0 || a.index > 5)
        throw new SeccompProfileError(`${af}.index`, "must be an argument index 0..5");
      if (typeof a.op !== "string" || !OPERATORS.has(a.op)) throw new SeccompProfileError(`${af}.op`, `unknown operator '${String(a.op)}'`);
      const value = u64(a.value, `${af}.value`);
      const valueTwo = a.valueTwo === undefined || a.valueTwo === null ? 0n : u64(a.valueTwo, `${af}.valueTwo`);
      return { index: a.index, op: a.op, value, valueTwo };
    });
    return { names: s.names, rule: { ret, conds } };
  });
}

/** What a system call number leads to: the default action, a kill, or its own rule list. */
type Outcome = { kind: "ret"; ret: number } | { kind: "rules"; rules: Rule[]; key: string };

/** Rule lists are shared per argument width: the same rules compile differently for i386. */
const useKey = (bits: 32 | 64, key: string) => `${bits}:${key}`;

interface Section {
  audit: number;
  bits: 32 | 64;
  /** Ranges [lo, next lo) over the u32 number space, ascending from 0, merged. */
  ranges: { lo: number; outcome: Outcome }[];
}

class Compiler {
  private readonly defaultRet: number;
  private readonly asm = new Assembler();
  /** Rule lists used by more than one range, emitted once after the sections. */
  private readonly shared = new Map<string, Label>();
  private readonly sharedRules = new Map<string, { rules: Rule[]; bits: 32 | 64 }>();
  private readonly uses = new Map<string, number>();

  constructor(private readonly profile: LinuxSeccomp) {
    if (typeof profile !== "object" || profile === null) throw new SeccompProfileError(ROOT, "must be an object");
    this.defaultRet = actionRet(profile.defaultAction, profile.defaultErrnoRet, `${ROOT}.defaultAction`, `${ROOT}.defaultErrnoRet`);
  }

  compile(): Buffer {
    const entries = parseRules(this.profile);
    seccompFlags(this.profile); // validates the flags with the rest of the profile
    const archs = this.architectures();
    const x32 = archs.includes(SCMP_ARCH.SCMP_ARCH_X32!);
    const sections: Section[] = [];

    // AUDIT_ARCH_X86_64 carries both x86_64 numbers and x32 ones (with X32_SYSCALL_BIT).
    const native = this.outcomes(entries, SCMP_ARCH.SCMP_ARCH_X86_64!, x32 ? SCMP_ARCH.SCMP_ARCH_X32! : undefined);
    // runc's rule (libcontainer/seccomp/patchbpf): a profile has no opinion on system calls newer
    // than every one it names, so those get ENOSYS and libc falls back (clone3 → clone, ...)
    // instead of failing with the profile's default errno.
    const x64 = SCMP_ARCH.SCMP_ARCH_X86_64!.syscalls!;
    const named = entries.flatMap((e) => e.names).map((n) => syscallNumber(x64, n)).filter((nr): nr is number => nr !== undefined);
    const newest = Math.max(-1, ...named);
    const enosys = (SECCOMP_RET.ERRNO | 38) >>> 0;
    const refuses = this.defaultRet !== SECCOMP_RET.ALLOW && this.defaultRet !== SECCOMP_RET.LOG && this.defaultRet !== enosys;
    const newer = refuses && newest >= 0 ? [{ lo: newest + 1, outcome: this.ret(enosys) }] : [];
    const nativeBase = x32
      ? [{ lo: 0, outcome: this.ret(this.defaultRet) }, ...newer, { lo: X32_SYSCALL_BIT, outcome: this.ret(this.defaultRet) }]
      : [
          { lo: 0, outcome: this.ret(this.defaultRet) },
          ...newer,
          { lo: X32_SYSCALL_BIT, outcome: this.ret(BAD_ARCH) },
          { lo: U32, outcome: this.ret(this.defaultRet) },
        ];
    sections.push({ audit: AUDIT_ARCH.X86_64, bits: 64, ranges: this.ranges(nativeBase, native) });
    const i386 = SCMP_ARCH.SCMP_ARCH_X86!;
    if (archs.includes(i386)) {
      sections.push({ audit: i386.audit, bits: 32, ranges: this.ranges([{ lo: 0, outcome: this.ret(this.defaultRet) }], this.outcomes(entries, i386)) });
    }
    // Listed architectures keel has no table for: a process of that ABI cannot run on this
    // kernel, but if one does it gets the default action rather than a kill.
    const foreign = [...new Set(archs.filter((a) => !a.syscalls).map((a) => a.audit))];

    for (const s of sections) {
      for (const r of s.ranges) {
        if (r.outcome.kind !== "rules") continue;
        const key = useKey(s.bits, r.outcome.key);
        this.uses.set(key, (this.uses.get(key) ?? 0) + 1);
      }
    }

    const a = this.asm;
    const labels = sections.map(() => a.label());
    const defaultLabel = a.label();
    a.ld(SECCOMP_DATA.ARCH);
    sections.forEach((s, i) => {
      const next = a.label();
      a.jmp("jeq", s.audit, labels[i]!, next);
      a.place(next);
    });
    for (const audit of foreign) {
      const next = a.label();
      a.jmp("jeq", audit, defaultLabel, next);
      a.place(next);
    }
    a.ret(BAD_ARCH);
    sections.forEach((s, i) => {
      a.place(labels[i]!);
      a.ld(SECCOMP_DATA.NR);
      const rets = new Map<number, Label>();
      this.tree(s, 0, s.ranges.length - 1, rets);
      for (const [ret, label] of rets) {
        a.place(label);
        a.ret(ret);
      }
    });
    if (foreign.length > 0) {
      a.place(defaultLabel);
      a.ret(this.defaultRet);
    }
    for (const [key, label] of this.shared) {
      a.place(label);
      const { rules, bits } = this.sharedRules.get(key)!;
      this.rules(rules, bits);
    }
    const filter = a.assemble();
    const n = instructionCount(filter);
    if (n > BPF_MAXINSNS) throw new SeccompTooLargeError(n, BPF_MAXINSNS);
    return filter;
  }

  private architectures(): ArchInfo[] {
    const list = this.profile.architectures ?? [];
    if (!Array.isArray(list)) throw new SeccompProfileError(`${ROOT}.architectures`, "must be an array of SCMP_ARCH_* names");
    return list.map((name, i) => {
      const arch = typeof name === "string" && Object.hasOwn(SCMP_ARCH, name) ? SCMP_ARCH[name] : undefined;
      if (!arch) throw new SeccompProfileError(`${ROOT}.architectures[${i}]`, `unknown architecture '${String(name)}'`);
      return arch;
    });
  }

  private ret(ret: number): Outcome {
    return { kind: "ret", ret };
  }

  /** System call number → outcome for one section, from the rules in profile order. */
  private outcomes(entries: { names: string[]; rule: Rule }[], ...tables: (ArchInfo | undefined)[]): Map<number, Outcome> {
    const byNr = new Map<number, Rule[]>();
    for (const { names, rule } of entries) {
      for (const name of new Set(names)) {
        for (const t of tables) {
          const nr = t?.syscalls && syscallNumber(t.syscalls, name);
          if (nr === undefined) continue; // not a system call of this ABI: skipped, as runc does
          const list = byNr.get(nr) ?? [];
          list.push(rule);
          byNr.set(nr, list);
        }
      }
    }
    const out = new Map<number, Outcome>();
    for (const [nr, list] of byNr) {
      // First match wins: nothing after an unconditional rule is reachable...
      const cut = list.findIndex((r) => r.conds.length === 0);
      const live = cut < 0 ? list.slice() : list.slice(0, cut + 1);
      // ...and trailing rules that end in the default action change nothing.
      while (live.length > 0 && live[live.length - 1]!.ret === this.defaultRet) live.pop();
      if (live.length === 0) continue;
      if (live.length === 1 && live[0]!.conds.length === 0) out.set(nr, this.ret(live[0]!.ret));
      else out.set(nr, { kind: "rules", rules: live, key: JSON.stringify(live, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) });
    }
    return out;
  }

  /** Merges a base partition and single numbers into ascending ranges of equal outcome. */
  private ranges(base: { lo: number; outcome: Outcome }[], points: Map<number, Outcome>): Section["ranges"] {
    const bounds = new Set<number>(base.map((b) => b.lo));
    for (const nr of points.keys()) {
      bounds.add(nr);
      if (nr < U32) bounds.add(nr + 1);
    }
    const baseAt = (lo: number) => {
      let o = base[0]!.outcome;
      for (const b of base) if (b.lo <= lo) o = b.outcome;
      return o;
    };
    const same = (a: Outcome, b: Outcome) => (a.kind === "ret" && b.kind === "ret" ? a.ret === b.ret : a.kind === "rules" && b.kind === "rules" && a.key === b.key);
    const out: Section["ranges"] = [];
    for (const lo of [...bounds].sort((a, b) => a - b)) {
      const outcome = points.get(lo) ?? baseAt(lo);
      const last = out[out.length - 1];
      if (last && same(last.outcome, outcome)) continue;
      out.push({ lo, outcome });
    }
    return out;
  }

  /**
   * Binary search over ranges[i..j] on A = nr. A child that is a plain return is not emitted in
   * the tree: the comparison jumps straight to the section's one `ret` of that value, which
   * roughly halves the program (long jumps there are relaxed by the assembler).
   */
  private tree(s: Section, i: number, j: number, rets: Map<number, Label>): void {
    const a = this.asm;
    if (i === j) {
      const o = s.ranges[i]!.outcome;
      return o.kind === "ret" ? a.ret(o.ret) : this.leaf(o, s.bits);
    }
    const mid = (i + j + 1) >> 1;
    const left = this.target(s, i, mid - 1, rets);
    const right = this.target(s, mid, j, rets);
    a.jmp("jge", s.ranges[mid]!.lo, right.label, left.label);
    if (left.inline) {
      a.place(left.label);
      this.tree(s, i, mid - 1, rets);
    }
    if (right.inline) {
      a.place(right.label);
      this.tree(s, mid, j, rets);
    }
  }

  /** Where a jump to the subtree ranges[i..j] goes: a shared label, or one placed inline. */
  private target(s: Section, i: number, j: number, rets: Map<number, Label>): { label: Label; inline: boolean } {
    if (i === j) {
      const o = s.ranges[i]!.outcome;
      if (o.kind === "ret") {
        let label = rets.get(o.ret);
        if (label === undefined) rets.set(o.ret, (label = this.asm.label()));
        return { label, inline: false };
      }
      const shared = this.sharedLabel(o, s.bits);
      if (shared) return { label: shared, inline: false };
    }
    return { label: this.asm.label(), inline: true };
  }

  /** A rule list used by several ranges is emitted once, after the sections; undefined if used once. */
  private sharedLabel(o: Outcome & { kind: "rules" }, bits: 32 | 64): Label | undefined {
    const key = useKey(bits, o.key);
    if ((this.uses.get(key) ?? 0) <= 1) return undefined;
    let label = this.shared.get(key);
    if (label === undefined) {
      label = this.asm.label();
      this.shared.set(key, label);
      this.sharedRules.set(key, { rules: o.rules, bits });
    }
    return label;
  }

  private leaf(o: Outcome & { kind: "rules" }, bits: 32 | 64): void {
    const shared = this.sharedLabel(o, bits);
    if (shared) this.asm.ja(shared);
    else this.rules(o.rules, bits);
  }

  /** The rules of one system call in order; none matching → the default action. */
  private rules(rules: Rule[], bits: 32 | 64): void {
    const a = this.asm;
    for (const rule of rules) {
      const next = a.label();
      for (const c of rule.conds) this.cond(c, bits, next);
      a.ret(rule.ret);
      a.place(next);
      if (rule.conds.length === 0) return; // unconditional: nothing after it runs
    }
    a.ret(this.defaultRet);
  }

  /** Falls through when `c` holds for the current call, jumps to `fail` when it does not. */
  private cond(c: Cond, bits: 32 | 64, fail: Label): void {
    const a = this.asm;
    const pass = a.label();
    const hi = Number(c.value >> 32n);
    const lo = Number(c.value & 0xffffffffn);
    const hiOff = SECCOMP_DATA.argHigh(c.index);
    const loOff = SECCOMP_DATA.argLow(c.index);

    if (c.op === "SCMP_CMP_MASKED_EQ") {
      const mh = hi, ml = lo;
      const dh = Number(c.valueTwo >> 32n), dl = Number(c.valueTwo & 0xffffffffn);
      // High half: (x.hi & mh) == dh. A 32-bit ABI's x.hi is 0, and so is x.hi & 0.
      if (bits === 32 || mh === 0) {
        if (dh !== 0) return a.ja(fail);
      } else {
        const cont = a.label();
        a.ld(hiOff);
        if (mh !== U32) a.and(mh);
        a.jmp("jeq", dh, cont, fail);
        a.place(cont);
      }
      if (ml === 0) {
        if (dl !== 0) a.ja(fail);
      } else {
        a.ld(loOff);
        if (ml !== U32) a.and(ml);
        a.jmp("jeq", dl, pass, fail);
      }
      a.place(pass);
      return;
    }

    // High half decides unless equal: then the low half does.
    const onGreater = { SCMP_CMP_EQ: fail, SCMP_CMP_NE: pass, SCMP_CMP_GT: pass, SCMP_CMP_GE: pass, SCMP_CMP_LT: fail, SCMP_CMP_LE: fail }[c.op];
    const onLess = { SCMP_CMP_EQ: fail, SCMP_CMP_NE: pass, SCMP_CMP_GT: fail, SCMP_CMP_GE: fail, SCMP_CMP_LT: pass, SCMP_CMP_LE: pass }[c.op];
    if (bits === 32) {
      // x.hi is 0: less when hi > 0, else equal.
      if (hi > 0) {
        if (onLess === fail) return a.ja(fail);
        return a.place(pass);
      }
    } else {
      const cont = a.label();
      a.ld(hiOff);
      if (onGreater === onLess) {
        a.jmp("jeq", hi, cont, onGreater);
      } else if (hi === 0) {
        a.jmp("jgt", 0, onGreater, cont); // x.hi < 0 cannot be
      } else if (hi === U32) {
        a.jmp("jeq", U32, cont, onLess); // x.hi > 0xffffffff cannot be
      } else {
        const notGreater = a.label();
        a.jmp("jgt", hi, onGreater, notGreater);
        a.place(notGreater);
        a.jmp("jeq", hi, cont, onLess);
      }
      a.place(cont);
    }
    a.ld(loOff);
    switch (c.op) {
      case "SCMP_CMP_EQ": a.jmp("jeq", lo, pass, fail); break;
      case "SCMP_CMP_NE": a.jmp("jeq", lo, fail, pass); break;
      case "SCMP_CMP_GT": a.jmp("jgt", lo, pass, fail); break;
      case "SCMP_CMP_GE": a.jmp("jge", lo, pass, fail); break;
      case "SCMP_CMP_LT": a.jmp("jge", lo, fail, pass); break;
      case "SCMP_CMP_LE": a.jmp("jgt", lo, fail, pass); break;
    }
    a.place(pass);
  }
}
