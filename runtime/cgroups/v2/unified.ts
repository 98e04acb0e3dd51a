// v2 `unified`: cgroup file name → value, written verbatim after every other controller (so
// it can override them, as in runc). Names are checked to be plain files of this cgroup.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import { CgroupError } from "../errors.js";
import type { V2Controller } from "./controller.js";

export const unified: V2Controller = {
  name: "",
  field: "linux.resources.unified",
  wants: (r: LinuxResources) => Object.keys(r.unified ?? {}).length > 0,
  check: (r) => {
    for (const key of Object.keys(r.unified ?? {}))
      if (!/^[a-z0-9_]+\.[a-zA-Z0-9_.]+$/.test(key) || key.includes(".."))
        throw new CgroupError(`linux.resources.unified: ${JSON.stringify(key)} is not a cgroup file name (like "memory.high")`, { path: "", file: key, code: "EINVAL", errno: 22 });
  },
  apply: (dir, r) => {
    for (const [key, value] of Object.entries(r.unified ?? {})) dir.write(key, value);
  },
};

/** The controller a unified key belongs to ("memory.high" → "memory"; "cgroup.*" → none). */
export function unifiedKeyController(key: string): string | undefined {
  const c = key.slice(0, key.indexOf("."));
  return c === "cgroup" ? undefined : c;
}
