// OCI rlimit names → resource numbers (asm-generic/resource.h).
export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

/** RLIM_INFINITY is all ones; OCI writes it as 18446744073709551615 (a float in JSON). */
export function rlimitValue(v: number): bigint {
  if (!Number.isFinite(v) || v >= 2 ** 64 - 1 || v < 0) return 0xffffffffffffffffn;
  return BigInt(Math.floor(v));
}
