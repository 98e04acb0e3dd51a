// Architectures as OCI profiles name them (libseccomp's SCMP_ARCH_*) and as the kernel reports
// them in seccomp_data.arch (linux/audit.h AUDIT_ARCH_*), with the system call tables keel has.
import { SYSCALLS_I386, SYSCALLS_X32, SYSCALLS_X86_64 } from "./syscalls-x86_64.js";

export const AUDIT_ARCH = {
  X86_64: 0xc000003e,
  I386: 0x40000003,
  AARCH64: 0xc00000b7,
  ARM: 0x40000028,
  MIPS: 0x00000008,
  MIPSEL: 0x40000008,
  MIPS64: 0x80000008,
  MIPS64N32: 0xa0000008,
  MIPSEL64: 0xc0000008,
  MIPSEL64N32: 0xe0000008,
  PPC: 0x00000014,
  PPC64: 0x80000015,
  PPC64LE: 0xc0000015,
  S390: 0x00000016,
  S390X: 0x80000016,
  RISCV64: 0xc00000f3,
  LOONGARCH64: 0xc0000102,
  PARISC: 0x0000000f,
  PARISC64: 0x8000000f,
} as const;

/** x32 shares AUDIT_ARCH_X86_64 and marks its system call numbers with this bit. */
export const X32_SYSCALL_BIT = 0x40000000;

export interface ArchInfo {
  /** seccomp_data.arch of a process of this ABI. */
  audit: number;
  /** name → number, when keel can run processes of this ABI (x86_64 hosts only). */
  syscalls?: Readonly<Record<string, number>>;
  /** Arguments are 32 bits wide: only the low half of each seccomp_data.args[i] is compared. */
  bits: 32 | 64;
}

/** SCMP_ARCH_* → what the compiler needs. x32 is handled inside the x86_64 section. */
export const SCMP_ARCH: Readonly<Record<string, ArchInfo>> = {
  SCMP_ARCH_X86_64: { audit: AUDIT_ARCH.X86_64, syscalls: SYSCALLS_X86_64, bits: 64 },
  SCMP_ARCH_X86: { audit: AUDIT_ARCH.I386, syscalls: SYSCALLS_I386, bits: 32 },
  SCMP_ARCH_X32: { audit: AUDIT_ARCH.X86_64, syscalls: SYSCALLS_X32, bits: 64 },
  SCMP_ARCH_AARCH64: { audit: AUDIT_ARCH.AARCH64, bits: 64 },
  SCMP_ARCH_ARM: { audit: AUDIT_ARCH.ARM, bits: 32 },
  SCMP_ARCH_MIPS: { audit: AUDIT_ARCH.MIPS, bits: 32 },
  SCMP_ARCH_MIPSEL: { audit: AUDIT_ARCH.MIPSEL, bits: 32 },
  SCMP_ARCH_MIPS64: { audit: AUDIT_ARCH.MIPS64, bits: 64 },
  SCMP_ARCH_MIPS64N32: { audit: AUDIT_ARCH.MIPS64N32, bits: 32 },
  SCMP_ARCH_MIPSEL64: { audit: AUDIT_ARCH.MIPSEL64, bits: 64 },
  SCMP_ARCH_MIPSEL64N32: { audit: AUDIT_ARCH.MIPSEL64N32, bits: 32 },
  SCMP_ARCH_PPC: { audit: AUDIT_ARCH.PPC, bits: 32 },
  SCMP_ARCH_PPC64: { audit: AUDIT_ARCH.PPC64, bits: 64 },
  SCMP_ARCH_PPC64LE: { audit: AUDIT_ARCH.PPC64LE, bits: 64 },
  SCMP_ARCH_S390: { audit: AUDIT_ARCH.S390, bits: 32 },
  SCMP_ARCH_S390X: { audit: AUDIT_ARCH.S390X, bits: 64 },
  SCMP_ARCH_RISCV64: { audit: AUDIT_ARCH.RISCV64, bits: 64 },
  SCMP_ARCH_LOONGARCH64: { audit: AUDIT_ARCH.LOONGARCH64, bits: 64 },
  SCMP_ARCH_PARISC: { audit: AUDIT_ARCH.PARISC, bits: 32 },
  SCMP_ARCH_PARISC64: { audit: AUDIT_ARCH.PARISC64, bits: 64 },
};

/** The system call number of `name` in `table`, or undefined (never an Object.prototype key). */
export function syscallNumber(table: Readonly<Record<string, number>>, name: string): number | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
