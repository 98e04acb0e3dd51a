// v1 pids: pids.max.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import { pidsMaxValue } from "../shared.js";
import type { V1Controller } from "./controller.js";

export const pids: V1Controller = {
  name: "pids",
  field: "linux.resources.pids",
  wants: (r: LinuxResources) => r.pids?.limit !== undefined,
  apply: (dir, r) => r.pids && dir.write("pids.max", pidsMaxValue(r.pids.limit)),
};
