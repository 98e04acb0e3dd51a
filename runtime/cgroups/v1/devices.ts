// v1 devices: the OCI device rules written in order to devices.allow / devices.deny. The usual
// spec starts with "deny all" (which the kernel implements as writing "a" to devices.deny:
// default deny, list cleared), then allows the standard devices.
import type { LinuxDeviceCgroup, LinuxResources } from "../../../oci/runtime-spec.js";
import { CgroupError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import type { V1Controller } from "./controller.js";

/** One rule as the devices controller spells it: "c 1:3 rwm", "a *:* rwm". */
export function deviceRuleLine(rule: LinuxDeviceCgroup): string {
  const type = rule.type ?? "a";
  const num = (n: number | null | undefined) => (n === undefined || n === null || n < 0 ? "*" : String(n));
  const access = rule.access ?? "rwm";
  if (!/^[rwm]{1,3}$/.test(access) || new Set(access).size !== access.length)
    throw new CgroupError(`linux.resources.devices: access ${JSON.stringify(access)} must be letters from "rwm"`, { path: "", file: "devices.allow", value: access, code: "EINVAL", errno: 22 });
  return `${type} ${num(rule.major)}:${num(rule.minor)} ${access}`;
}

export function applyDevices(dir: CgroupDir, rules: LinuxDeviceCgroup[]): void {
  for (const rule of rules) dir.write(rule.allow ? "devices.allow" : "devices.deny", deviceRuleLine(rule));
}

export const devices: V1Controller = {
  name: "devices",
  field: "linux.resources.devices",
  wants: (r: LinuxResources) => (r.devices?.length ?? 0) > 0,
  apply: (dir, r) => applyDevices(dir, r.devices ?? []),
};
