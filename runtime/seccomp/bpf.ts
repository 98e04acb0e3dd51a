// A small classic-BPF assembler for seccomp filters: symbolic forward labels, long conditional
// jumps relaxed through `ja` trampolines, encoding to struct sock_filter (linux/filter.h).
//
// Only the instructions a seccomp filter needs: load a 32-bit word of seccomp_data, AND with a
// constant, compare with a constant, jump, return.

/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k (host order; x86_64 is little-endian). */
export const SOCK_FILTER_SIZE = 8;
/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

export const BPF = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  ALU_AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  JMP_JA: 0x05, // BPF_JMP | BPF_JA
  JMP_JEQ_K: 0x15,
  JMP_JGT_K: 0x25,
  JMP_JGE_K: 0x35,
  JMP_JSET_K: 0x45,
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

/** offsetof(struct seccomp_data, ...). args are u64; x86_64 is little-endian: low half first. */
export const SECCOMP_DATA = {
  NR: 0,
  ARCH: 4,
  argLow: (i: number) => 16 + 8 * i,
  argHigh: (i: number) => 20 + 8 * i,
} as const;

export type Label = number & { readonly __label: unique symbol };
export type JumpOp = "jeq" | "jgt" | "jge" | "jset";

type Item =
  | { kind: "ld"; k: number }
  | { kind: "and"; k: number }
  | { kind: "ret"; k: number }
  | { kind: "ja"; target: Label }
  | { kind: "jmp"; op: JumpOp; k: number; jt: Label; jf: Label; farT: boolean; farF: boolean }
  | { kind: "label"; label: Label };

const JUMP_CODES: Record<JumpOp, number> = { jeq: BPF.JMP_JEQ_K, jgt: BPF.JMP_JGT_K, jge: BPF.JMP_JGE_K, jset: BPF.JMP_JSET_K };

export class BpfAssemblyError extends Error {
  readonly code = "EBPFASSEMBLY";
  constructor(message: string) {
    super(message);
    this.name = "BpfAssemblyError";
  }
}

/**
 * Builds a program front to back. Jumps go forward only (classic BPF has no backward jumps), so a
 * label must be placed after every jump to it. Conditional jumps whose target is more than 255
 * instructions ahead are rewritten as a short jump to an unconditional `ja` right after them.
 */
export class Assembler {
  private items: Item[] = [];
  private nextLabel = 0;

  label(): Label {
    return this.nextLabel++ as Label;
  }
  place(label: Label): void {
    this.items.push({ kind: "label", label });
  }
  /** A = 32-bit word of seccomp_data at `offset`. */
  ld(offset: number): void {
    this.items.push({ kind: "ld", k: offset });
  }
  and(k: number): void {
    this.items.push({ kind: "and", k: k >>> 0 });
  }
  ret(k: number): void {
    this.items.push({ kind: "ret", k: k >>> 0 });
  }
  ja(target: Label): void {
    this.items.push({ kind: "ja", target });
  }
  /** if (A op k) goto jt else goto jf; unsigned comparisons. */
  jmp(op: JumpOp, k: number, jt: Label, jf: Label): void {
    if (jt === jf) return this.ja(jt);
    this.items.push({ kind: "jmp", op, k: k >>> 0, jt, jf, farT: false, farF: false });
  }

  /** Lays the program out, relaxing long jumps until every offset fits, and encodes it. */
  assemble(): Buffer {
    for (;;) {
      const { at, labels, length } = this.layout();
      const where = (l: Label) => {
        const p = labels.get(l);
        if (p === undefined) throw new BpfAssemblyError(`label ${l} is never placed`);
        return p;
      };
      let grew = false;
      for (let i = 0; i < this.items.length; i++) {
        const it = this.items[i]!;
        if (it.kind !== "jmp") continue;
        const base = at[i]! + 1;
        if (!it.farT && where(it.jt) - base > 255) {
          it.farT = true;
          grew = true;
        }
        if (!it.farF && where(it.jf) - base > 255) {
          it.farF = true;
          grew = true;
        }
      }
      if (grew) continue;
      return this.encode(at, where, length);
    }
  }

  private layout(): { at: number[]; labels: Map<Label, number>; length: number } {
    const at: number[] = [];
    const labels = new Map<Label, number>();
    let pc = 0;
    for (const it of this.items) {
      at.push(pc);
      if (it.kind === "label") labels.set(it.label, pc);
      else if (it.kind === "jmp") pc += 1 + (it.farT ? 1 : 0) + (it.farF ? 1 : 0);
      else pc += 1;
    }
    return { at, labels, length: pc };
  }

  private encode(at: number[], where: (l: Label) => number, length: number): Buffer {
    const out = Buffer.alloc(length * SOCK_FILTER_SIZE);
    const put = (pc: number, code: number, jt: number, jf: number, k: number) => {
      const o = pc * SOCK_FILTER_SIZE;
      out.writeUInt16LE(code, o);
      out.writeUInt8(jt, o + 2);
      out.writeUInt8(jf, o + 3);
      out.writeUInt32LE(k >>> 0, o + 4);
    };
    const forward = (from: number, l: Label) => {
      const off = where(l) - (from + 1);
      if (off < 0) throw new BpfAssemblyError(`backward jump at ${from} to label ${l}`);
      return off;
    };
    this.items.forEach((it, i) => {
      const pc = at[i]!;
      switch (it.kind) {
        case "label":
          return;
        case "ld":
          return put(pc, BPF.LD_W_ABS, 0, 0, it.k);
        case "and":
          return put(pc, BPF.ALU_AND_K, 0, 0, it.k);
        case "ret":
          return put(pc, BPF.RET_K, 0, 0, it.k);
        case "ja":
          return put(pc, BPF.JMP_JA, 0, 0, forward(pc, it.target));
        case "jmp": {
          // Trampolines follow the jump: [jxx][ja T]?[ja F]?
          let next = pc + 1;
          const tPc = it.farT ? next++ : -1;
          const fPc = it.farF ? next++ : -1;
          const jt = it.farT ? tPc - (pc + 1) : forward(pc, it.jt);
          const jf = it.farF ? fPc - (pc + 1) : forward(pc, it.jf);
          if (jt > 255 || jf > 255) throw new BpfAssemblyError(`jump offset out of range at ${pc}`);
          put(pc, JUMP_CODES[it.op], jt, jf, it.k);
          if (it.farT) put(tPc, BPF.JMP_JA, 0, 0, forward(tPc, it.jt));
          if (it.farF) put(fPc, BPF.JMP_JA, 0, 0, forward(fPc, it.jf));
          return;
        }
      }
    });
    return out;
  }
}

/** One line per instruction, for debugging and test failure messages. */
export function disassemble(filter: Buffer): string {
  const names: Record<number, string> = {
    [BPF.LD_W_ABS]: "ld",
    [BPF.ALU_AND_K]: "and",
    [BPF.JMP_JA]: "ja",
    [BPF.JMP_JEQ_K]: "jeq",
    [BPF.JMP_JGT_K]: "jgt",
    [BPF.JMP_JGE_K]: "jge",
    [BPF.JMP_JSET_K]: "jset",
    [BPF.RET_K]: "ret",
  };
  const lines: string[] = [];
  for (let pc = 0; pc * SOCK_FILTER_SIZE < filter.length; pc++) {
    const o = pc * SOCK_FILTER_SIZE;
    const code = filter.readUInt16LE(o);
    const jt = filter.readUInt8(o + 2);
    const jf = filter.readUInt8(o + 3);
    const k = filter.readUInt32LE(o + 4);
    const name = names[code] ?? `op_0x${code.toString(16)}`;
    const hex = `0x${k.toString(16)}`;
    let text: string;
    if (code === BPF.JMP_JA) text = `ja ${pc + 1 + k}`;
    else if (name.startsWith("j")) text = `${name} ${hex} ? ${pc + 1 + jt} : ${pc + 1 + jf}`;
    else if (code === BPF.LD_W_ABS) text = `ld [${k}]`;
    else text = `${name} ${hex}`;
    lines.push(`${String(pc).padStart(4)}: ${text}`);
  }
  return lines.join("\n");
}
