// v2 cpuset: cpuset.cpus and cpuset.mems. Unlike v1, an empty value inherits the parent's
// effective set, so new cgroups need no seeding.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { V2Controller } from "./controller.js";

export const cpuset: V2Controller = {
  name: "cpuset",
  field: "linux.resources.cpu.cpus/mems",
  wants: (r: LinuxResources) => !!(r.cpu?.cpus || r.cpu?.mems),
  apply: (dir, r) => {
    if (r.cpu?.cpus) dir.write("cpuset.cpus", r.cpu.cpus);
    if (r.cpu?.mems) dir.write("cpuset.mems", r.cpu.mems);
  },
};
