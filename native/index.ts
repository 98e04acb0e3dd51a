// The only loader of keel's native addon, and its typed surface.
//
// The addon is syscall-shaped: it does what it is told and reports failures as NativeError,
// shaped like Node's own system errors (code 'EPERM', errno, syscall, path) plus `step` for a
// failure inside a cloned child. Policy (what to mount, which capabilities) is TypeScript's.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packagePath } from "../lib/package-root.js";

/** A failed system call in the addon, or in a container's set-up before execve. */
export class NativeError extends Error {
  readonly code!: string;
  readonly errno!: number;
  readonly syscall!: string;
  readonly path?: string;
  /** The container set-up step that failed (spawn only): "mount", "pivot-root", "exec", ... */
  readonly step?: string;
  /** Network calls: what was acted on ("link keel0", "route default via 10.1.0.1 dev eth0"). */
  readonly object?: string;
  /** Network calls: the kernel's extended-ack message, or nft's error output. */
  readonly detail?: string;
  /** Network calls: the namespace the failed call ran in (the path); netBatch: its index in the batch. */
  readonly netns?: string;
  readonly batchStep?: number;
  constructor(message: string, props: { code: string; errno: number; syscall: string; path?: string; step?: string }) {
    super(message);
    this.name = "NativeError";
    Object.assign(this, props);
  }
}

export type CloneMode = "fork" | "vm";

export interface PlanMount {
  source?: string;
  /** Absolute path inside the rootfs; resolved with RESOLVE_IN_ROOT, never followed out. */
  target: string;
  fstype?: string;
  data?: string;
  /** MS_* flags (propagation flags go in `propagation`). */
  flags: number;
  propagation?: number[];
  bind?: boolean;
  /** Target is a file (a bind mount of a file): it is created empty. */
  file?: boolean;
}

export interface PlanDevice {
  path: string;
  /** S_IFCHR | S_IFBLK | S_IFIFO with permission bits. */
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  /** Bind the host's node at the same path instead of mknod (user namespaces). */
  bind?: boolean;
}

/** Everything the cloned child does, decided before the clone. */
export interface SpawnPlan {
  mode?: CloneMode;
  /** CLONE_NEW* flags of namespaces to create (CLONE_NEWCGROUP: use newCgroupNs). */
  cloneFlags: number;
  newCgroupNs?: boolean;
  joinNamespaces?: { type: number; path: string }[];
  /** Existing pid namespace to be born into. */
  pidNsPath?: string;
  uidMap?: string;
  gidMap?: string;
  setgroupsDeny?: boolean;
  /** cgroup.procs files the parent writes the child's pid into before it goes on. */
  cgroupProcs?: string[];
  /** A cgroup v2 directory to be born into (clone3 CLONE_INTO_CGROUP, fork mode). */
  cgroupDir?: string;
  setsid?: boolean;
  hostname?: string;
  domainname?: string;
  sysctls?: { path: string; value: string }[];
  rootfs?: string;
  rootPropagation?: number;
  rootfsPropagation?: number;
  noPivot?: boolean;
  readonlyRootfs?: boolean;
  mounts?: PlanMount[];
  devices?: PlanDevice[];
  symlinks?: { target: string; linkpath: string }[];
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rlimits?: { resource: number; soft: bigint; hard: bigint }[];
  oomScoreAdj?: number;
  /** Parent fds that become 0, 1, 2 (-1 leaves one as inherited). */
  stdio?: [number, number, number];
  preserveFds?: number;
  capLast?: number;
  capabilities?: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  noNewPrivileges?: boolean;
  seccomp?: { filter: Buffer; flags?: number };
  user?: { uid: number; gid: number; groups: number[] };
  umask?: number;
  cwd?: string;
  args: string[];
  env: string[];
  /** Exec FIFO: the child waits for one byte on it before execve. */
  startFifo?: string;
  /** runc's --console-socket: a new pty's master is sent there; its slave is the process's stdio. */
  consoleSocket?: string;
  consoleRows?: number;
  consoleCols?: number;
}

export interface Spawned {
  pid: number;
  pidfd: number;
  /** Settles when the child calls execve: resolves on success, rejects with its NativeError. */
  exec: Promise<void>;
}

export interface ExitStatus {
  exitCode: number | null;
  signal: number | null;
}

interface Addon {
  setErrorClass(ctor: unknown): void;
  spawn(plan: SpawnPlan): Promise<Spawned>;
  /** Stop `exec` of a created, not yet started child from keeping the event loop alive. */
  execUnref(pid: number): void;
  /** Resolves when the process exits (reaping it if ours); ref false: the wait does not keep Node running. */
  waitPidfd(pidfd: number, ref?: boolean): Promise<ExitStatus>;
  pidfdOpen(pid: number): number;
  pidfdSignal(pidfd: number, signal: number): void;
  pidfdPoll(pidfd: number): ExitStatus | null;
  /**
   * Runs a helper executable in a session of its own (stdio on /dev/null, passFd as its fd 3, -1
   * for none) with posix_spawn, which does not copy this process's memory as fork does. The
   * child is ours: reap it with waitPidfd(pidfd), then close the pidfd.
   */
  spawnDaemon(file: string, argv: string[], passFd: number): { pid: number; pidfd: number };
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  mkfifo(path: string, mode: number): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** pipe2(O_CLOEXEC) → [read, write]. */
  pipe(): [number, number];
  openat2(dirfd: number, path: string, flags: number, mode?: number, resolve?: number): number;
  /**
   * A new unconnected socket (non-blocking, close-on-exec) in the network namespace at
   * netnsPath: connect or listen on it from this process (e.g. `new net.Socket({ fd })`).
   */
  socketIn(netnsPath: string, family: number, type: number): number;
  /** One fd passed over a unix socket with SCM_RIGHTS (a console socket's pty master). */
  recvFd(socketFd: number): number;
  /** TIOCSWINSZ on a terminal fd. */
  setWinsize(fd: number, rows: number, cols: number): void;

  // Pod networking (native/src/netlink.cc, nft.cc): each call runs off the event loop on a thread
  // that enters the network namespace at `netns` (null/undefined: this process's own), with no
  // child process. Failures reject with a NativeError whose syscall is the netlink message
  // ("RTM_NEWLINK") or "nft", path the namespace, plus `object` (what was acted on) and
  // `detail` (the kernel's extended-ack message, or nft's error output).
  /**
   * The network calls build() makes (netLink*, netAddr*, netRoute*, ...; their promises are not
   * made) run in that order as one trip through libuv's pool, each in its own namespace; resolves
   * with their results in order. The first failure rejects with that call's error (plus
   * batchStep, its index) and the calls after it do not run.
   */
  netBatch(build: () => void): Promise<unknown[]>;
  /** The link named `name`, or null when there is none. */
  netLinkGet(netns: NetnsPath, name: string): Promise<NetLink | null>;
  netLinkAddBridge(netns: NetnsPath, name: string, mtu: number): Promise<void>;
  /** A veth pair: `name` in netns, `peerName` created directly in `peerNetns`. */
  netLinkAddVeth(netns: NetnsPath, name: string, mtu: number, peerName: string, peerNetns: string): Promise<void>;
  netLinkAddVxlan(netns: NetnsPath, spec: NetVxlanSpec): Promise<void>;
  /** Applies master, then mtu, then hairpin (a bridge port's mode), then up/down. */
  netLinkSet(netns: NetnsPath, name: string, change: NetLinkChange): Promise<void>;
  netLinkDel(netns: NetnsPath, name: string): Promise<void>;
  /** `ip addr replace CIDR dev DEV` (IPv4). */
  netAddrReplace(netns: NetnsPath, dev: string, cidr: string): Promise<void>;
  netAddrList(netns: NetnsPath, dev: string): Promise<NetAddr[]>;
  /** `ip route replace DST [via GW] dev DEV [onlink]` in the main table; dst "default" or a CIDR. */
  netRouteReplace(netns: NetnsPath, route: { dst: string; dev: string; via?: string; onlink?: boolean }): Promise<void>;
  netRouteDel(netns: NetnsPath, route: { dst: string; dev?: string }): Promise<void>;
  /** IPv4 routes of the main table (on `dev` only, when given). */
  netRouteList(netns: NetnsPath, dev?: string): Promise<NetRoute[]>;
  /** A permanent IPv4 neighbour entry. */
  netNeighReplace(netns: NetnsPath, entry: { dev: string; dst: string; lladdr: string }): Promise<void>;
  netNeighDel(netns: NetnsPath, entry: { dev: string; dst: string }): Promise<void>;
  netNeighList(netns: NetnsPath, dev: string): Promise<NetNeigh[]>;
  /** A permanent FDB entry in the device's own table (NTF_SELF: a VXLAN device's remote). */
  netFdbReplace(netns: NetnsPath, entry: { dev: string; mac: string; dst?: string }): Promise<void>;
  netFdbDel(netns: NetnsPath, entry: { dev: string; mac: string; dst?: string }): Promise<void>;
  netFdbList(netns: NetnsPath, dev: string): Promise<NetFdb[]>;
  /** A sysctl ("net.ipv4.ip_forward") as the namespace sees it, without the trailing newline. */
  netSysctlRead(netns: NetnsPath, key: string): Promise<string>;
  netSysctlWrite(netns: NetnsPath, key: string, value: string): Promise<void>;
  /** An nftables script (what `nft -f -` reads) as one transaction; resolves to its output. */
  nftRun(netns: NetnsPath, script: string): Promise<string>;
}

/** A network namespace's path (/run/netns/NAME, /proc/PID/ns/net); null/undefined: this process's. */
export type NetnsPath = string | null | undefined;

export interface NetLink {
  index: number;
  name: string;
  /** "aa:bb:cc:dd:ee:ff" (empty for a link without one). */
  mac: string;
  mtu: number;
  up: boolean;
  /** "bridge", "veth", "vxlan" ...; absent for a plain device. */
  kind?: string;
  /** The name of the bridge it is a port of. */
  master?: string;
  slaveKind?: string;
}

export interface NetLinkChange {
  up?: boolean;
  mtu?: number;
  master?: string;
  hairpin?: boolean;
}

export interface NetVxlanSpec {
  name: string;
  vni: number;
  local: string;
  port: number;
  mtu?: number;
  mac?: string;
  /** Default false (nolearning). */
  learning?: boolean;
  underlayDevice?: string;
}

export interface NetAddr {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
}

export interface NetRoute {
  /** "default" or "10.1.0.0/24" */
  dst: string;
  gateway?: string;
  dev?: string;
  onlink: boolean;
  scope: number;
  protocol: number;
}

export interface NetNeigh {
  dst: string;
  lladdr?: string;
  permanent: boolean;
}

export interface NetFdb {
  mac: string;
  dst?: string;
  self: boolean;
  permanent: boolean;
}

/**
 * The plan's serialized form, which the addon and keel-supervisor both parse
 * (native/src/spawn/plan_parse.h): JSON with SpawnPlan's field names, 64-bit values as decimal
 * strings, the seccomp program in hex.
 */
export function serializePlan(plan: SpawnPlan): string {
  const { seccomp, ...rest } = plan;
  const out = seccomp ? { ...rest, seccomp: { filter: Buffer.isBuffer(seccomp.filter) ? seccomp.filter.toString("hex") : seccomp.filter, flags: seccomp.flags } } : rest;
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

type RawAddon = Omit<Addon, "spawn"> & { spawn(plan: string): Promise<Spawned> };

function load(): Addon {
  const require = createRequire(import.meta.url);
  // The addon is built into native/build by cmake-js.
  const candidates = [packagePath("native/build/Release/keel_native.node")];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error(`keel's native addon is not built (looked in ${candidates.join(", ")}): run 'npm run setup'`);
  const addon = require(file) as RawAddon;
  addon.setErrorClass(NativeError);
  return { ...addon, spawn: (plan: SpawnPlan) => addon.spawn(serializePlan(plan)) };
}

export const native: Addon = load();

/** Path of a helper executable built with the addon: "keel-supervisor" or "keel-pause". */
export function nativeBinary(name: "keel-supervisor" | "keel-pause"): string {
  const candidates = [packagePath("native/build/Release", name)];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error(`${name} is not built (looked in ${candidates.join(", ")}): run 'npm run setup'`);
  return file;
}

// Constants the plan uses (linux/sched.h, sys/mount.h).
export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

export const MNT_DETACH = 2;
