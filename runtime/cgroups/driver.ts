// The one interface every cgroup driver implements (youki's libcgroups CgroupManager, crun's
// table of cgroup backends). A driver maps OCI linux.resources onto one cgroup layout; the
// runtime never touches cgroup files itself.
//
// `path` is the OCI cgroupsPath: relative paths ("keel/abc") go under the cgroup of the process
// running keel in each hierarchy, as runc does; absolute paths ("/keel/abc") under the root of
// each hierarchy.
import type { LinuxResources } from "../../oci/runtime-spec.js";

export interface CpuStats {
  /** Total CPU time consumed, in nanoseconds. */
  usageNs: number;
  userNs: number;
  systemNs: number;
  /** CFS bandwidth periods elapsed, periods in which the cgroup was throttled, time throttled. */
  periods: number;
  throttledPeriods: number;
  throttledNs: number;
}

export interface MemoryStats {
  /** Bytes charged now (v2 memory.current, v1 memory.usage_in_bytes). */
  current: number;
  /** The most ever charged (v2 memory.peak, v1 memory.max_usage_in_bytes), when the kernel keeps it. */
  peak?: number;
  /** The hard limit; absent when unlimited. */
  limit?: number;
  /** Swap in use (v2 memory.swap.current; v1 memsw usage minus usage). */
  swap?: number;
  /** Processes the OOM killer killed in this cgroup. */
  oomKills: number;
  /** Times the cgroup hit its limit and went OOM (v2 memory.events oom; v1: oom_kill, v1 keeps no separate count). */
  oomEvents: number;
  /** memory.stat as numbers (cache/rss/anon/file ... as the kernel names them). */
  stat: Record<string, number>;
}

export interface PidsStats {
  current: number;
  /** Absent when unlimited. */
  limit?: number;
  /** Forks refused at the limit (pids.events "max"). */
  failures: number;
}

export interface IoDeviceStats {
  major: number;
  minor: number;
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
}

export interface HugetlbStats {
  /** Bytes of huge pages of this size in use. */
  current: number;
  /** Absent when unlimited. */
  limit?: number;
  /** Allocations refused at the limit. */
  failures: number;
}

export interface CgroupStats {
  cpu: CpuStats;
  memory: MemoryStats;
  pids: PidsStats;
  io: { devices: IoDeviceStats[] };
  /** Keyed by OCI page size ("2MB", "1GB"). */
  hugetlb: Record<string, HugetlbStats>;
}

/** Where a container's cgroup is, in the shape the native spawn plan needs. */
export interface CgroupPlacement {
  version: 1 | 2;
  /** cgroup.procs files the parent writes the child's pid into (v1: one per hierarchy). */
  procsFiles: string[];
  /** v2: the directory for clone3(CLONE_INTO_CGROUP). */
  dir?: string;
  /** v1: each hierarchy's directory, named by its controllers ("cpu", "memory", "cpu,cpuacct"). */
  hierarchies?: { name: string; path: string }[];
}

export interface CgroupDriver {
  readonly version: 1 | 2;

  /** Makes the cgroup (every level, every hierarchy) and applies `resources`. Joins it if it exists. */
  create(path: string, resources?: LinuxResources): Promise<void>;
  /** The cgroup.procs file(s) a new process's pid goes into. */
  procsFiles(path: string): string[];
  /** The paths of the cgroup, for the spawn plan and for cgroup mounts inside the container. */
  placement(path: string): CgroupPlacement;
  /** Whether the cgroup exists (in every hierarchy, for v1). */
  exists(path: string): boolean;
  /** Moves a process into the cgroup. */
  addProcess(path: string, pid: number): Promise<void>;
  /** Applies changed resources to an existing cgroup (only the fields given are written). */
  update(path: string, resources: LinuxResources): Promise<void>;
  stats(path: string): Promise<CgroupStats>;
  /** Freezes every process in the cgroup and resolves once the kernel reports it frozen. */
  freeze(path: string): Promise<void>;
  thaw(path: string): Promise<void>;
  /** Sends `signal` to every process in the cgroup (and its descendants). */
  killAll(path: string, signal?: NodeJS.Signals | number): Promise<void>;
  /** The pids in the cgroup and its descendants. */
  pids(path: string): Promise<number[]>;
  /** Whether the OOM killer has killed a process in this cgroup. */
  oomKilled(path: string): Promise<boolean>;
  /** Removes the cgroup in every hierarchy, waiting briefly for exiting processes; idempotent. */
  destroy(path: string): Promise<void>;
}
