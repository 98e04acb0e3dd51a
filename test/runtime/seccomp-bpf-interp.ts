// A classic-BPF interpreter for seccomp filters, strict like the kernel's checker: only the
// instructions a seccomp filter may use, aligned 32-bit loads inside struct seccomp_data, forward
// jumps that stay in the program, and a program that always ends in a return.
import { BPF, SOCK_FILTER_SIZE } from "../../runtime/seccomp/bpf.js";
import { SECCOMP_RET } from "../../runtime/seccomp/compile.js";
import { AUDIT_ARCH } from "../../runtime/seccomp/arch.js";

export interface SeccompData {
  nr: number;
  arch?: number;
  instructionPointer?: bigint;
  args?: (bigint | number)[];
}

export interface Verdict {
  /** The raw SECCOMP_RET_* value. */
  ret: number;
  action: "KILL_PROCESS" | "KILL_THREAD" | "TRAP" | "ERRNO" | "USER_NOTIF" | "TRACE" | "LOG" | "ALLOW";
  /** SECCOMP_RET_DATA: the errno of ERRNO, the message of TRACE. */
  data: number;
  /** Instructions executed. */
  steps: number;
}

const SECCOMP_DATA_SIZE = 64;

function seccompData(d: SeccompData): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  b.writeInt32LE(d.nr | 0, 0); // int nr: -1 is 0xffffffff to a BPF load
  b.writeUInt32LE((d.arch ?? AUDIT_ARCH.X86_64) >>> 0, 4);
  b.writeBigUInt64LE(d.instructionPointer ?? 0n, 8);
  (d.args ?? []).forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 16 + 8 * i));
  return b;
}

export function decode(ret: number, steps = 0): Verdict {
  const action = ret & 0xffff0000;
  const names: [number, Verdict["action"]][] = [
    [SECCOMP_RET.KILL_PROCESS, "KILL_PROCESS"], [SECCOMP_RET.KILL_THREAD, "KILL_THREAD"], [SECCOMP_RET.TRAP, "TRAP"],
    [SECCOMP_RET.ERRNO, "ERRNO"], [SECCOMP_RET.USER_NOTIF, "USER_NOTIF"], [SECCOMP_RET.TRACE, "TRACE"],
    [SECCOMP_RET.LOG, "LOG"], [SECCOMP_RET.ALLOW, "ALLOW"],
  ];
  const found = names.find(([v]) => (v & 0xffff0000) >>> 0 === action >>> 0);
  if (!found) throw new Error(`unknown seccomp return 0x${ret.toString(16)}`);
  return { ret, action: found[1], data: ret & 0xffff, steps };
}

/** Runs `filter` (struct sock_filter[]) over one system call. */
export function runFilter(filter: Buffer, d: SeccompData): Verdict {
  if (filter.length === 0 || filter.length % SOCK_FILTER_SIZE !== 0) throw new Error(`bad program length ${filter.length}`);
  const len = filter.length / SOCK_FILTER_SIZE;
  const data = seccompData(d);
  let a = 0;
  let steps = 0;
  for (let pc = 0; ; ) {
    if (pc >= len) throw new Error(`fell off the end of the program at ${pc}`);
    const o = pc * SOCK_FILTER_SIZE;
    const code = filter.readUInt16LE(o);
    const jt = filter.readUInt8(o + 2);
    const jf = filter.readUInt8(o + 3);
    const k = filter.readUInt32LE(o + 4);
    steps++;
    const jump = (cond: boolean) => {
      const to = pc + 1 + (cond ? jt : jf);
      if (to >= len) throw new Error(`jump out of the program at ${pc}`);
      pc = to;
    };
    switch (code) {
      case BPF.LD_W_ABS:
        if (k % 4 !== 0 || k + 4 > SECCOMP_DATA_SIZE) throw new Error(`bad load offset ${k} at ${pc}`);
        a = data.readUInt32LE(k);
        pc++;
        break;
      case BPF.ALU_AND_K:
        a = (a & k) >>> 0;
        pc++;
        break;
      case BPF.JMP_JA:
        if (pc + 1 + k >= len) throw new Error(`ja out of the program at ${pc}`);
        pc = pc + 1 + k;
        break;
      case BPF.JMP_JEQ_K:
        jump(a === k);
        break;
      case BPF.JMP_JGT_K:
        jump(a > k);
        break;
      case BPF.JMP_JGE_K:
        jump(a >= k);
        break;
      case BPF.JMP_JSET_K:
        jump((a & k) !== 0);
        break;
      case BPF.RET_K:
        return decode(k, steps);
      default:
        throw new Error(`instruction 0x${code.toString(16)} at ${pc} is not allowed in a seccomp filter`);
    }
  }
}

/** Every path ends in a return and stays in bounds: the longest path over all instructions. */
export function longestPath(filter: Buffer): number {
  const len = filter.length / SOCK_FILTER_SIZE;
  const memo = new Array<number>(len).fill(-1);
  // Jumps only go forward, so a reverse sweep computes each instruction's longest tail.
  for (let pc = len - 1; pc >= 0; pc--) {
    const o = pc * SOCK_FILTER_SIZE;
    const code = filter.readUInt16LE(o);
    const next = (to: number) => {
      if (to >= len) throw new Error(`jump out of the program at ${pc}`);
      return memo[to]!;
    };
    if (code === BPF.RET_K) memo[pc] = 1;
    else if (code === BPF.JMP_JA) memo[pc] = 1 + next(pc + 1 + filter.readUInt32LE(o + 4));
    else if ((code & 0x07) === 0x05) memo[pc] = 1 + Math.max(next(pc + 1 + filter.readUInt8(o + 2)), next(pc + 1 + filter.readUInt8(o + 3)));
    else memo[pc] = 1 + next(pc + 1);
  }
  return memo[0]!;
}
