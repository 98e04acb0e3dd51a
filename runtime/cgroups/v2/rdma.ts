// v2 rdma: rdma.max, one device per write.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import { rdmaMaxLines } from "../shared.js";
import type { V2Controller } from "./controller.js";

export const rdma: V2Controller = {
  name: "rdma",
  field: "linux.resources.rdma",
  wants: (r: LinuxResources) => rdmaMaxLines(r.rdma ?? {}).length > 0,
  apply: (dir, r) => {
    for (const line of rdmaMaxLines(r.rdma ?? {})) dir.write("rdma.max", line);
  },
};
