// v1 net_cls and net_prio: the OCI linux.resources.network class id and interface priorities.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { V1Controller } from "./controller.js";

export const netCls: V1Controller = {
  name: "net_cls",
  field: "linux.resources.network.classID",
  wants: (r: LinuxResources) => r.network?.classID !== undefined,
  apply: (dir, r) => r.network?.classID !== undefined && dir.write("net_cls.classid", r.network.classID),
};

export const netPrio: V1Controller = {
  name: "net_prio",
  field: "linux.resources.network.priorities",
  wants: (r: LinuxResources) => (r.network?.priorities?.length ?? 0) > 0,
  apply: (dir, r) => {
    for (const p of r.network?.priorities ?? []) dir.write("net_prio.ifpriomap", `${p.name} ${p.priority}`);
  },
};
