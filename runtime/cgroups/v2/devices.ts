// v2 devices. cgroup v2 has no devices files: rules are an eBPF program (BPF_CGROUP_DEVICE)
// attached to the cgroup, which keel does not load yet. A container is still confined to the
// device nodes the runtime creates in its /dev (no CAP_MKNOD by default), so the usual rules —
// deny everything, allow the standard nodes — are accepted; a spec whose rules say anything
// else is refused with a clear error instead of being silently unenforced.
import type { LinuxDeviceCgroup, LinuxResources } from "../../../oci/runtime-spec.js";
import { CgroupUnsupportedError } from "../errors.js";
import type { V2Controller } from "./controller.js";

/** The devices every runtime allows (runc's AllowedDevices, libcontainer/specconv). */
const STANDARD: { type: "c" | "b" | "a"; major: number | null; minor: number | null }[] = [
  { type: "c", major: null, minor: null }, // mknod of any char device ("m" only)
  { type: "b", major: null, minor: null }, // mknod of any block device ("m" only)
  { type: "c", major: 1, minor: 3 }, // null
  { type: "c", major: 1, minor: 5 }, // zero
  { type: "c", major: 1, minor: 7 }, // full
  { type: "c", major: 1, minor: 8 }, // random
  { type: "c", major: 1, minor: 9 }, // urandom
  { type: "c", major: 5, minor: 0 }, // tty
  { type: "c", major: 5, minor: 1 }, // console
  { type: "c", major: 5, minor: 2 }, // ptmx
  { type: "c", major: 136, minor: null }, // pts
  { type: "c", major: 10, minor: 200 }, // tun
];

const norm = (n: number | null | undefined) => (n === undefined || n === null || n < 0 ? null : n);

function isDenyAll(r: LinuxDeviceCgroup): boolean {
  return !r.allow && (r.type ?? "a") === "a" && norm(r.major) === null && norm(r.minor) === null;
}

function isStandardAllow(r: LinuxDeviceCgroup): boolean {
  if (!r.allow) return false;
  const wild = norm(r.major) === null && norm(r.minor) === null;
  if (wild && (r.access ?? "rwm") !== "m") return false; // "c *:* rwm" would open every device
  return STANDARD.some((s) => s.type === r.type && s.major === norm(r.major) && s.minor === norm(r.minor));
}

/** Whether the rules are the usual default (nothing, or deny-all plus standard allows). */
export function isDefaultDeviceRules(rules: LinuxDeviceCgroup[] | undefined): boolean {
  if (!rules || rules.length === 0) return true;
  return rules.every((r) => isDenyAll(r) || isStandardAllow(r)) && (rules.some(isDenyAll) ? isDenyAll(rules[0]) : true);
}

export const devices: V2Controller = {
  name: "",
  field: "linux.resources.devices",
  wants: () => false,
  check: (r: LinuxResources) => {
    if (!isDefaultDeviceRules(r.devices))
      throw new CgroupUnsupportedError("linux.resources.devices", "device rules other than the default (deny all, allow the standard nodes) need a cgroup v2 eBPF device program, which keel does not load yet");
  },
  apply: () => {},
};
