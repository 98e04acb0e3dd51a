// An OCI spec → the native spawn plan: every decision about what the child does is made here,
// in TypeScript, before the clone (DESIGN.md: policy in TypeScript, mechanism in C++).
import { statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { CLONE, MS, type PlanDevice, type PlanMount, type SpawnPlan, type CloneMode } from "../native/index.js";
import type { IDMapping, LinuxSeccomp, Mount, Process, Spec } from "../oci/runtime-spec.js";
import { SpecValidationError } from "../oci/validate.js";
import type { CgroupPlacement } from "./cgroups/index.js";
import { capabilityMask, capLast } from "./capabilities.js";
import { parseMountOptions, propagationFlag } from "./mount-options.js";
import { RLIMITS, rlimitValue } from "./rlimits.js";

/** Where the container's cgroup is, as the cgroup driver made it. */
export type PlanCgroup = CgroupPlacement;

export interface PlanContext {
  bundle: string;
  /** Exec FIFO the child waits on; absent: execute at once. */
  startFifo?: string;
  cgroup?: PlanCgroup;
  mode?: CloneMode;
  noPivot?: boolean;
  stdio?: [number, number, number];
  preserveFds?: number;
  /** runc's --console-socket, for a process with `terminal: true`. */
  consoleSocket?: string;
  /** Compiles linux.seccomp to BPF (runtime/seccomp); absent: a profile in the spec is an error. */
  compileSeccomp?: (profile: LinuxSeccomp) => { filter: Buffer; flags: number };
}

const NS_FLAGS: Record<string, number> = {
  pid: CLONE.NEWPID, network: CLONE.NEWNET, mount: CLONE.NEWNS, ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS, user: CLONE.NEWUSER, cgroup: CLONE.NEWCGROUP, time: CLONE.NEWTIME,
};

const S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;

/** The devices every container gets (runtime-spec config-linux.md, "Default Devices"). */
export const DEFAULT_DEVICES = [
  { path: "/dev/null", major: 1, minor: 3 },
  { path: "/dev/zero", major: 1, minor: 5 },
  { path: "/dev/full", major: 1, minor: 7 },
  { path: "/dev/random", major: 1, minor: 8 },
  { path: "/dev/urandom", major: 1, minor: 9 },
  { path: "/dev/tty", major: 5, minor: 0 },
];

function idMap(maps: IDMapping[] | undefined): string | undefined {
  if (!maps?.length) return undefined;
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** Host uid that a container uid maps to (for device ownership in a user namespace). */
function mapId(maps: IDMapping[] | undefined, id: number): number {
  for (const m of maps ?? []) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return id;
}

export function processPlan(process: Process, spec: Spec, ctx: PlanContext): Pick<SpawnPlan,
  "args" | "env" | "cwd" | "user" | "umask" | "rlimits" | "oomScoreAdj" | "capLast" | "capabilities" | "noNewPrivileges" | "seccomp" | "consoleSocket" | "consoleRows" | "consoleCols"> {
  const caps = process.capabilities;
  const plan: ReturnType<typeof processPlan> = {
    args: process.args ?? [],
    env: process.env ?? [],
    cwd: process.cwd,
    user: { uid: process.user.uid, gid: process.user.gid, groups: process.user.additionalGids ?? [] },
    umask: process.user.umask ?? 0o022,
    noNewPrivileges: process.noNewPrivileges ?? false,
    capLast: capLast(),
  };
  if (caps) {
    plan.capabilities = {
      bounding: capabilityMask(caps.bounding, "process.capabilities.bounding"),
      effective: capabilityMask(caps.effective, "process.capabilities.effective"),
      permitted: capabilityMask(caps.permitted, "process.capabilities.permitted"),
      inheritable: capabilityMask(caps.inheritable, "process.capabilities.inheritable"),
      ambient: capabilityMask(caps.ambient, "process.capabilities.ambient"),
    };
  }
  if (process.rlimits?.length) {
    plan.rlimits = process.rlimits.map((r, i) => {
      const resource = RLIMITS[r.type];
      if (resource === undefined) throw new SpecValidationError([{ field: `process.rlimits[${i}].type`, reason: `unknown rlimit '${r.type}'` }]);
      return { resource, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) };
    });
  }
  if (process.oomScoreAdj !== undefined) plan.oomScoreAdj = process.oomScoreAdj;
  if (process.terminal) {
    if (!ctx.consoleSocket) throw new SpecValidationError([{ field: "process.terminal", reason: "a terminal needs a console socket (runc's --console-socket) to hand its master to" }]);
    plan.consoleSocket = ctx.consoleSocket;
    plan.consoleRows = process.consoleSize?.height;
    plan.consoleCols = process.consoleSize?.width;
  } else if (ctx.consoleSocket) {
    throw new SpecValidationError([{ field: "process.terminal", reason: "a console socket was given but the process has no terminal (set process.terminal)" }]);
  }
  const profile = spec.linux?.seccomp;
  if (profile) {
    if (!ctx.compileSeccomp) throw new SpecValidationError([{ field: "linux.seccomp", reason: "no seccomp compiler available" }]);
    plan.seccomp = ctx.compileSeccomp(profile);
  }
  return plan;
}

export function planFromSpec(spec: Spec, ctx: PlanContext): SpawnPlan {
  const linux = spec.linux ?? {};
  const process = spec.process;
  if (!process) throw new SpecValidationError([{ field: "process", reason: "required to create a container" }]);
  const namespaces = linux.namespaces ?? [];
  let cloneFlags = 0;
  let newCgroupNs = false;
  let pidNsPath: string | undefined;
  const joinNamespaces: { type: number; path: string }[] = [];
  for (const ns of namespaces) {
    const flag = NS_FLAGS[ns.type]!;
    if (ns.path) {
      if (ns.type === "pid") pidNsPath = ns.path;
      else joinNamespaces.push({ type: flag, path: ns.path });
    } else if (ns.type === "cgroup") newCgroupNs = true;
    else cloneFlags |= flag;
  }
  const has = (t: string) => namespaces.some((n) => n.type === t);
  const newUser = (cloneFlags & CLONE.NEWUSER) !== 0;
  const inUserns = has("user");
  if (!has("mount")) throw new SpecValidationError([{ field: "linux.namespaces", reason: "a mount namespace is required to set up the rootfs" }]);
  if (spec.hostname && !has("uts")) throw new SpecValidationError([{ field: "hostname", reason: "setting the hostname needs a uts namespace" }]);

  const rootfs = resolve(ctx.bundle, spec.root!.path);
  const mounts: PlanMount[] = [];
  for (const [i, m] of (spec.mounts ?? []).entries()) mounts.push(...planMount(m, i, ctx, { inUserns, newNet: has("network"), newCgroupNs }));

  const devices: PlanDevice[] = [];
  const specDevices = linux.devices ?? [];
  const uid0 = mapId(linux.uidMappings, 0), gid0 = mapId(linux.gidMappings, 0);
  for (const d of DEFAULT_DEVICES) {
    if (specDevices.some((s) => s.path === d.path)) continue;
    devices.push({ path: d.path, mode: S_IFCHR | 0o666, major: d.major, minor: d.minor, uid: uid0, gid: gid0, bind: inUserns });
  }
  for (const d of specDevices) {
    const type = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
    devices.push({
      path: d.path, mode: type | ((d.fileMode ?? 0o666) & 0o7777), major: d.major ?? 0, minor: d.minor ?? 0,
      uid: mapId(linux.uidMappings, d.uid ?? 0), gid: mapId(linux.gidMappings, d.gid ?? 0), bind: inUserns,
    });
  }
  const devMounted = (spec.mounts ?? []).some((m) => m.destination === "/dev");
  const symlinks = devMounted
    ? [
        { target: "/proc/self/fd", linkpath: "/dev/fd" },
        { target: "/proc/self/fd/0", linkpath: "/dev/stdin" },
        { target: "/proc/self/fd/1", linkpath: "/dev/stdout" },
        { target: "/proc/self/fd/2", linkpath: "/dev/stderr" },
        { target: "/proc/kcore", linkpath: "/dev/core" },
        ...((spec.mounts ?? []).some((m) => m.destination === "/dev/pts") ? [{ target: "pts/ptmx", linkpath: "/dev/ptmx" }] : []),
      ]
    : [];

  // A new time namespace can only be made by clone3 (CLONE_NEWTIME shares a bit with CSIGNAL).
  const mode = cloneFlags & CLONE.NEWTIME ? "fork" : ctx.mode ?? "vm";
  const intoCgroup = mode === "fork" && ctx.cgroup?.version === 2 ? ctx.cgroup.dir : undefined;
  const plan: SpawnPlan = {
    mode,
    cloneFlags,
    newCgroupNs,
    joinNamespaces,
    pidNsPath,
    uidMap: newUser ? idMap(linux.uidMappings) : undefined,
    gidMap: newUser ? idMap(linux.gidMappings) : undefined,
    // CLONE_INTO_CGROUP needs clone3 (fork mode) and v2; otherwise the parent writes cgroup.procs.
    cgroupDir: intoCgroup,
    cgroupProcs: intoCgroup ? [] : ctx.cgroup?.procsFiles,
    hostname: spec.hostname,
    domainname: spec.domainname,
    sysctls: Object.entries(linux.sysctl ?? {}).map(([k, v]) => ({ path: `/proc/sys/${k.replace(/\./g, "/")}`, value: v })),
    rootfs,
    rootPropagation: propagationFlag(linux.rootfsPropagation) || MS.SLAVE | MS.REC,
    noPivot: ctx.noPivot ?? false,
    readonlyRootfs: spec.root?.readonly ?? false,
    mounts,
    devices,
    symlinks,
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    stdio: ctx.stdio ?? [-1, -1, -1],
    preserveFds: ctx.preserveFds ?? 0,
    startFifo: ctx.startFifo,
    setsid: true,
    ...processPlan(process, spec, ctx),
  };
  return plan;
}

function planMount(m: Mount, index: number, ctx: PlanContext, env: { inUserns: boolean; newNet: boolean; newCgroupNs: boolean }): PlanMount[] {
  const opts = parseMountOptions(m.options);
  const type = m.type ?? (opts.flags & MS.BIND ? "bind" : "");
  const bind = type === "bind" || (opts.flags & MS.BIND) !== 0;
  const target = m.destination;
  if (bind) {
    if (!m.source) throw new SpecValidationError([{ field: `mounts[${index}].source`, reason: "a bind mount needs a source" }]);
    const source = isAbsolute(m.source) ? m.source : join(ctx.bundle, m.source);
    let file = false;
    try {
      file = !statSync(source).isDirectory();
    } catch {
      throw new SpecValidationError([{ field: `mounts[${index}].source`, reason: `'${source}' does not exist` }]);
    }
    return [{ source, target, flags: opts.flags | MS.BIND, propagation: opts.propagation, data: opts.data || undefined, bind: true, file }];
  }
  if (type === "sysfs" && env.inUserns && !env.newNet) {
    // sysfs can only be mounted by the owner of the network namespace: bind the host's instead.
    return [{ source: "/sys", target, flags: MS.BIND | MS.REC | (opts.flags & ~MS.BIND), bind: true, propagation: [MS.SLAVE | MS.REC] }];
  }
  if (type === "cgroup" || type === "cgroup2") return cgroupMounts(target, opts.flags, ctx, env);
  return [{ source: m.source ?? type, target, fstype: type, flags: opts.flags, propagation: opts.propagation, data: opts.data || undefined }];
}

/** A "cgroup" mount: cgroup2 in the container's cgroup namespace, or its own cgroups bound in. */
function cgroupMounts(target: string, flags: number, ctx: PlanContext, env: { newCgroupNs: boolean }): PlanMount[] {
  const cg = ctx.cgroup;
  if (!cg) return [];
  const ro = flags & MS.RDONLY;
  const base = flags & (MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
  if (cg.version === 2) {
    if (env.newCgroupNs) return [{ source: "cgroup2", target, fstype: "cgroup2", flags: base | ro }];
    return [{ source: cg.dir!, target, flags: MS.BIND | MS.REC | base | ro, bind: true }];
  }
  // v1: a tmpfs with one bind mount per hierarchy of the container's own cgroup, then read-only.
  const out: PlanMount[] = [{ source: "tmpfs", target, fstype: "tmpfs", flags: base, data: "mode=755" }];
  for (const h of cg.hierarchies ?? []) out.push({ source: h.path, target: `${target}/${h.name}`, flags: MS.BIND | base | ro, bind: true });
  if (ro) out.push({ target, flags: MS.REMOUNT | MS.RDONLY | base });
  return out;
}
