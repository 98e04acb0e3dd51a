// v1 cpuset: cpus and mems. A new v1 cpuset cgroup starts with both empty, and a process cannot
// join it until they are set, so every level keel makes is first given its parent's values.
import { posix } from "node:path";
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import { CgroupDir } from "../files.js";
import type { V1Controller } from "./controller.js";

/** Copies cpuset.cpus and cpuset.mems from the parent into each level that has none, top-down. */
export function seedCpusets(made: string[], journal?: CgroupDir["journal"]): void {
  for (const d of made) {
    const dir = new CgroupDir(d, journal);
    const parent = new CgroupDir(posix.dirname(d));
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if ((dir.tryRead(file) ?? "").trim() !== "") continue;
      const value = parent.read(file).trim();
      if (value !== "") dir.write(file, value);
    }
  }
}

export const cpuset: V1Controller = {
  name: "cpuset",
  field: "linux.resources.cpu.cpus/mems",
  wants: (r: LinuxResources) => !!(r.cpu?.cpus || r.cpu?.mems),
  apply: (dir, r) => {
    if (r.cpu?.cpus) dir.write("cpuset.cpus", r.cpu.cpus);
    if (r.cpu?.mems) dir.write("cpuset.mems", r.cpu.mems);
  },
};
