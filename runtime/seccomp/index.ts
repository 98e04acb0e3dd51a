// OCI seccomp profiles → classic-BPF filters for the spawn plan, and podman's default profile.
export { compileSeccomp, compileSeccompPlan, seccompFlags, instructionCount, unknownSyscallNames, SECCOMP_RET, SECCOMP_FILTER_FLAG, type CompiledSeccomp } from "./compile.js";
export { defaultSeccompProfile, PODMAN_SECCOMP_SYSCALLS, UnsupportedSeccompArchError, type DefaultProfileOptions } from "./default-profile.js";
export { SeccompProfileError, SeccompTooLargeError, SeccompUnsupportedError } from "./errors.js";
export { AUDIT_ARCH, SCMP_ARCH, X32_SYSCALL_BIT } from "./arch.js";
export { disassemble } from "./bpf.js";
