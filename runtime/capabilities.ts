// Linux capability names (as OCI writes them) ↔ bit numbers (linux/capability.h).
import { readFileSync } from "node:fs";

export const CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
  "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
  "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
  "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

export type CapabilityName = (typeof CAPABILITIES)[number];

/** podman's default capability set (containers.conf default_capabilities). */
export const DEFAULT_CAPABILITIES: CapabilityName[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
  "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
];

export class UnknownCapabilityError extends Error {
  readonly code = "EUNKNOWNCAP";
  constructor(readonly field: string, readonly capability: string) {
    super(`${field}: unknown capability '${capability}'`);
    this.name = "UnknownCapabilityError";
  }
}

let lastCap: number | undefined;
/** The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap). */
export function capLast(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
    } catch {
      lastCap = CAPABILITIES.length - 1;
    }
  }
  return lastCap;
}

/**
 * Names → bit mask. Names this kernel does not know are skipped as runc does (an image built
 * for a newer kernel still runs); names keel has never heard of are an error.
 */
export function capabilityMask(names: readonly string[] | undefined, field: string): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const bit = CAPABILITIES.indexOf(name.toUpperCase() as CapabilityName);
    if (bit < 0) throw new UnknownCapabilityError(field, name);
    if (bit <= capLast()) mask |= 1n << BigInt(bit);
  }
  return mask;
}

export function hasCapability(names: readonly string[] | undefined, name: CapabilityName): boolean {
  return (names ?? []).some((n) => n.toUpperCase() === name);
}
