// The cgroup drivers' typed errors. Every failure names the cgroup directory, the file and the
// value involved, so a user can see exactly which limit the kernel refused and why.

/** A read or write of a cgroup file failed (or a wait on one timed out). */
export class CgroupError extends Error {
  /** The cgroup directory. */
  readonly path: string;
  /** The file inside it ("memory.max", "cgroup.procs"); "" for the directory itself. */
  readonly file: string;
  /** The value written, when the failure was a write. */
  readonly value?: string;
  /** Positive errno, when the kernel refused (EINVAL, EBUSY, ENOENT ...). */
  readonly errno?: number;
  /** Node's code for the errno ("EINVAL"), or keel's own code ("ETIMEDOUT", "EUNSUPPORTED"). */
  readonly code: string;

  constructor(
    message: string,
    props: { path: string; file: string; value?: string; errno?: number; code: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CgroupError";
    this.path = props.path;
    this.file = props.file;
    this.value = props.value;
    this.errno = props.errno;
    this.code = props.code;
  }
}

/**
 * A resource the spec asks for that this driver or machine cannot apply (no such controller
 * mounted, cgroup v2 device rules, realtime cpu on v2 ...). Raised before anything is written.
 */
export class CgroupUnsupportedError extends CgroupError {
  /** The OCI field ("linux.resources.cpu.realtimeRuntime"). */
  readonly field: string;
  constructor(field: string, reason: string, props: { path?: string; file?: string } = {}) {
    super(`${field}: ${reason}`, { path: props.path ?? "", file: props.file ?? "", code: "EUNSUPPORTED" });
    this.name = "CgroupUnsupportedError";
    this.field = field;
  }
}

/**
 * cgroup v2 cannot give keel's cgroups the controllers they need: the cgroup keel runs in has
 * processes of its own, so the kernel's "no internal processes" rule forbids enabling
 * controllers in its cgroup.subtree_control, and they are not enabled there already.
 */
export class CgroupDelegationError extends CgroupError {
  readonly missing: string[];
  constructor(path: string, missing: string[], cause?: unknown) {
    super(
      `cgroup v2: cannot enable controllers ${missing.join(", ")} in ${path}/cgroup.subtree_control: ` +
        `that cgroup has processes of its own (keel's among them) and the kernel's "no internal processes" ` +
        `rule forbids a cgroup with processes from handing controllers to its children. keel does not move ` +
        `processes out of the cgroup it was started in. Start keel in a cgroup whose parent delegates these ` +
        `controllers (e.g. systemd-run --scope -p Delegate=yes ..., or a container whose cgroup has them in ` +
        `cgroup.subtree_control with keel in a leaf), or give an absolute cgroupsPath under such a cgroup.`,
      { path, file: "cgroup.subtree_control", value: missing.map((c) => `+${c}`).join(" "), code: "EBUSY", errno: 16 },
      { cause },
    );
    this.name = "CgroupDelegationError";
    this.missing = missing;
  }
}

/** A cgroupsPath that keel will not use (empty, "..", or not a plain path). */
export class CgroupPathError extends CgroupError {
  constructor(cgroupsPath: string, reason: string) {
    super(`invalid cgroupsPath ${JSON.stringify(cgroupsPath)}: ${reason}`, { path: cgroupsPath, file: "", code: "EINVAL", errno: 22 });
    this.name = "CgroupPathError";
  }
}

/** Builds a CgroupError from a Node system error raised while touching a cgroup file. */
export function cgroupIoError(op: "read" | "write" | "mkdir" | "rmdir", path: string, file: string, err: unknown, value?: string): CgroupError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? "EIO";
  const errno = typeof e?.errno === "number" ? Math.abs(e.errno) : undefined;
  const where = file ? `${path}/${file}` : path;
  const what = op === "write" ? `cannot write ${JSON.stringify(value)} to ${where}` : `cannot ${op} ${where}`;
  return new CgroupError(`${what}: ${code}${hint(op, file, code)}`, { path, file, value, errno, code }, { cause: err });
}

function hint(op: string, file: string, code: string): string {
  if ((code === "EINVAL" || code === "ERANGE") && op === "write") return " (the kernel rejected the value: out of range or malformed)";
  if (code === "ENOENT" && op !== "mkdir") return file ? " (no such file: the controller is not enabled or not supported by this kernel)" : "";
  if (code === "EBUSY" && op === "rmdir") return " (processes or child cgroups are still in it)";
  if (code === "EOPNOTSUPP" || code === "ENOTSUP") return " (not supported by this kernel)";
  return "";
}
