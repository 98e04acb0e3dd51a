// v1 memory: limit_in_bytes, soft_limit_in_bytes (reservation), memsw.limit_in_bytes (OCI swap
// is memory+swap, as memsw is), swappiness, oom_control, kmem.tcp. Kernel memory (`kernel`) is
// deprecated and ignored, as runc does: recent kernels refuse to set it.
import type { LinuxMemory, LinuxResources } from "../../../oci/runtime-spec.js";
import type { MemoryStats } from "../driver.js";
import { CgroupError, CgroupUnsupportedError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import type { V1Controller } from "./controller.js";

const LIMIT = "memory.limit_in_bytes";
const MEMSW = "memory.memsw.limit_in_bytes";

/** OCI memory numbers: 0 means "not set" (as in runc), -1 means unlimited. */
const isSet = (n: number | undefined): n is number => n !== undefined && n !== 0;

function writeSwap(dir: CgroupDir, swap: number): void {
  if (!dir.has(MEMSW))
    throw new CgroupUnsupportedError("linux.resources.memory.swap", "this kernel does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)", { path: dir.path, file: MEMSW });
  dir.write(MEMSW, swap);
}

export function applyMemory(dir: CgroupDir, m: LinuxMemory): void {
  const limit = m.limit;
  let swap = m.swap;
  // An unlimited memory limit with swap unset makes memory+swap unlimited too (runc).
  if (limit === -1 && !isSet(swap) && dir.has(MEMSW)) swap = -1;

  if (m.checkBeforeUpdate && isSet(limit) && limit > 0) {
    const usage = dir.readNumber("memory.usage_in_bytes") ?? 0;
    if (usage > limit)
      throw new CgroupError(`${dir.path}: memory usage ${usage} is above the new limit ${limit} (checkBeforeUpdate)`, { path: dir.path, file: LIMIT, value: String(limit), code: "EBUSY", errno: 16 });
  }

  // memsw.limit must stay >= limit at every moment, so the order of the two writes depends
  // on whether the limits grow or shrink (runc's setMemoryAndSwap).
  if (isSet(limit) && isSet(swap)) {
    const current = dir.readNumber(LIMIT) ?? Infinity;
    if (swap === -1 || current < swap) {
      writeSwap(dir, swap);
      dir.write(LIMIT, limit);
    } else {
      dir.write(LIMIT, limit);
      writeSwap(dir, swap);
    }
  } else {
    if (isSet(limit)) dir.write(LIMIT, limit);
    if (isSet(swap)) writeSwap(dir, swap);
  }

  if (isSet(m.reservation)) dir.write("memory.soft_limit_in_bytes", m.reservation);
  if (isSet(m.kernelTCP)) dir.write("memory.kmem.tcp.limit_in_bytes", m.kernelTCP);
  if (m.swappiness !== undefined && m.swappiness !== null) {
    if (!Number.isInteger(m.swappiness) || m.swappiness < 0 || m.swappiness > 100)
      throw new CgroupError(`linux.resources.memory.swappiness: ${m.swappiness} is not an integer in 0..100`, { path: dir.path, file: "memory.swappiness", value: String(m.swappiness), code: "EINVAL", errno: 22 });
    dir.write("memory.swappiness", m.swappiness);
  }
  if (m.disableOOMKiller !== undefined) dir.write("memory.oom_control", m.disableOOMKiller ? 1 : 0);
  if (m.useHierarchy !== undefined) dir.write("memory.use_hierarchy", m.useHierarchy ? 1 : 0);
}

export const memory: V1Controller = {
  name: "memory",
  field: "linux.resources.memory",
  wants: (r: LinuxResources) => r.memory !== undefined && Object.values(r.memory).some((v) => v !== undefined),
  apply: (dir, r) => r.memory && applyMemory(dir, r.memory),
};

const finite = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? undefined : n);

export function memoryStats(dir: CgroupDir | undefined): MemoryStats {
  if (!dir) return { current: 0, oomKills: 0, oomEvents: 0, stat: {} };
  const current = dir.readNumber("memory.usage_in_bytes") ?? 0;
  const memsw = dir.readNumber("memory.memsw.usage_in_bytes");
  const oom = dir.readFlat("memory.oom_control");
  const kills = oom.oom_kill ?? 0;
  return {
    current,
    peak: dir.readNumber("memory.max_usage_in_bytes"),
    limit: finite(dir.readNumber(LIMIT)),
    swap: memsw === undefined ? undefined : Math.max(0, memsw - current),
    oomKills: kills,
    // v1 counts no OOM events apart from kills; a cgroup stuck under OOM with the killer
    // disabled counts as one more.
    oomEvents: kills + (oom.under_oom ?? 0),
    stat: dir.readFlat("memory.stat"),
  };
}

export function oomKilledV1(dir: CgroupDir): boolean {
  return (dir.readFlat("memory.oom_control").oom_kill ?? 0) > 0;
}
