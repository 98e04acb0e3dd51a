// What every lifecycle verb works with: the state directory, the cgroup driver, the clone mode,
// and the processes this Node process itself started (their pidfds and exit promises).
import type { CloneMode, ExitStatus } from "../native/index.js";
import type { LinuxSeccomp } from "../oci/runtime-spec.js";
import type { CgroupDriver } from "./cgroups/index.js";
import type { StateDir } from "./state.js";

export interface LiveProcess {
  pid: number;
  pidfd: number;
  /** Settles when execve happened (or failed). */
  exec: Promise<void>;
  /** The exit status, reaped by us: the first process of a container we created. */
  exit: Promise<ExitStatus>;
}

export interface RuntimeContext {
  state: StateDir;
  cgroups: CgroupDriver;
  mode: CloneMode;
  compileSeccomp?: (profile: LinuxSeccomp) => { filter: Buffer; flags: number };
  live: Map<string, LiveProcess>;
}

/** The cgroupsPath a container gets when its spec names none: under the caller's cgroup. */
export function defaultCgroupPath(id: string): string {
  // Flat, not keel/<id>: nothing shared is left behind, and no delete races a create over a
  // common parent directory.
  return `keel-${id.replace(/^keel-/, "")}`;
}
