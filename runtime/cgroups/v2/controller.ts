// What a v2 controller is: the controller it needs enabled in the parent's
// cgroup.subtree_control, whether a spec asks anything of it, and a stateless apply.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { CgroupDir } from "../files.js";

export interface V2Controller {
  /** The controller name in cgroup.controllers ("memory", "io"); "" for core files. */
  readonly name: string;
  readonly field: string;
  wants(r: LinuxResources): boolean;
  /** Throws CgroupUnsupportedError for what v2 cannot express, before anything is written. */
  check?(r: LinuxResources): void;
  apply(dir: CgroupDir, r: LinuxResources): void;
}
