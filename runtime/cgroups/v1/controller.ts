// What a v1 controller is: the hierarchy it lives in, whether a spec asks anything of it, and
// a stateless apply(directory, resources) (youki's v1 controllers). Stats live beside apply.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { CgroupDir } from "../files.js";

export interface V1Controller {
  /** The kernel's controller name, which names its hierarchy ("memory", "cpu"). */
  readonly name: string;
  /** The OCI field it serves, for errors ("linux.resources.memory"). */
  readonly field: string;
  /** Whether `r` sets anything this controller must write. */
  wants(r: LinuxResources): boolean;
  apply(dir: CgroupDir, r: LinuxResources): void;
}
