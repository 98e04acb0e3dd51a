// Errors of the seccomp compiler. Each names the profile field that caused it, as a JSON path
// under linux.seccomp, so a user knows which line of config.json to fix.

/** The profile is malformed: an unknown action, operator or architecture, a bad value. */
export class SeccompProfileError extends Error {
  readonly code = "ESECCOMPPROFILE";
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = "SeccompProfileError";
  }
}

/** The profile is well formed but asks for something keel does not do (SCMP_ACT_NOTIFY). */
export class SeccompUnsupportedError extends Error {
  readonly code = "ESECCOMPUNSUPPORTED";
  constructor(readonly field: string, readonly feature: string) {
    super(`${field}: ${feature} is not supported by keel`);
    this.name = "SeccompUnsupportedError";
  }
}

/** The compiled program exceeds the kernel's limit (BPF_MAXINSNS). */
export class SeccompTooLargeError extends Error {
  readonly code = "ESECCOMPTOOLARGE";
  constructor(readonly instructions: number, readonly limit: number) {
    super(`linux.seccomp: the compiled filter has ${instructions} instructions, more than the kernel's limit of ${limit}`);
    this.name = "SeccompTooLargeError";
  }
}
