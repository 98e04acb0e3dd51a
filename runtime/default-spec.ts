// A container spec with keel's defaults, which confine a container as podman does: its
// capability set, masked and read-only paths, no_new_privs, and its seccomp profile.
// Loosening is explicit (an option, or an edited config.json).
import { readFileSync } from "node:fs";
import type { Spec } from "../oci/runtime-spec.js";
import { DEFAULT_CAPABILITIES } from "./capabilities.js";
import { defaultSeccompProfile } from "./seccomp/index.js";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export const MASKED_PATHS = [
  "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
  "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block", "/proc/interrupts",
  "/sys/devices/virtual/powercap",
];

export const READONLY_PATHS = ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** The caller's hard RLIMIT_NOFILE: podman's 1048576 fails without CAP_SYS_RESOURCE above it. */
function nofileHard(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const hard = line?.trim().split(/\s+/)[4];
    return hard === "unlimited" ? 1048576 : Math.min(1048576, Number(hard) || 1024);
  } catch {
    return 1024;
  }
}
let nofile: number | undefined;

export interface DefaultSpecOptions {
  args?: string[];
  env?: string[];
  cwd?: string;
  hostname?: string;
  /** Create a network namespace (default true); false shares the host's network. */
  network?: boolean;
  /** A private cgroup namespace (default: on cgroup v2 only, as podman does). */
  cgroupns?: boolean;
  rootfs?: string;
  readonlyRootfs?: boolean;
  terminal?: boolean;
  uid?: number;
  gid?: number;
  /** podman's default seccomp profile (default true); false runs without a filter. */
  seccomp?: boolean;
}

export function defaultSpec(o: DefaultSpecOptions = {}): Spec {
  nofile ??= nofileHard();
  const caps = [...DEFAULT_CAPABILITIES];
  const namespaces: NonNullable<Spec["linux"]>["namespaces"] = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (o.network !== false) namespaces.push({ type: "network" });
  if (o.cgroupns) namespaces.push({ type: "cgroup" });
  return {
    // 1.0.2 (what `runc spec` writes) so that the same bundle also runs under runc and crun 1.8,
    // which refuse versions they do not know; keel reads every 1.x.
    ociVersion: "1.0.2",
    process: {
      terminal: o.terminal ?? false,
      user: { uid: o.uid ?? 0, gid: o.gid ?? 0 },
      args: o.args ?? ["sh"],
      env: o.env ?? [`PATH=${DEFAULT_PATH}`, ...(o.terminal ? ["TERM=xterm"] : [])],
      cwd: o.cwd ?? "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: nofile, soft: nofile }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs ?? "rootfs", readonly: o.readonlyRootfs ?? false },
    hostname: o.hostname ?? "keel",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      namespaces,
      seccomp: o.seccomp === false ? undefined : defaultSeccompProfile({ capabilities: caps }),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}
