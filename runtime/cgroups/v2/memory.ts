// v2 memory: memory.max (limit), memory.low (reservation), memory.swap.max (OCI memory+swap
// converted to swap alone). v1-only knobs have no v2 file and are ignored, as runc does:
// swappiness, disableOOMKiller, kernel, kernelTCP, useHierarchy.
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { MemoryStats } from "../driver.js";
import { CgroupError, CgroupUnsupportedError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import { memoryValue, swapToV2 } from "./convert.js";
import type { V2Controller } from "./controller.js";

const isSet = (n: number | undefined): n is number => n !== undefined && n !== 0;

export const memory: V2Controller = {
  name: "memory",
  field: "linux.resources.memory",
  wants: (r: LinuxResources) => !!r.memory && (isSet(r.memory.limit) || isSet(r.memory.reservation) || isSet(r.memory.swap)),
  apply: (dir, r) => {
    const m = r.memory!;
    if (m.checkBeforeUpdate && isSet(m.limit) && m.limit > 0) {
      const current = dir.readNumber("memory.current") ?? 0;
      if (current > m.limit)
        throw new CgroupError(`${dir.path}: memory usage ${current} is above the new limit ${m.limit} (checkBeforeUpdate)`, { path: dir.path, file: "memory.max", value: String(m.limit), code: "EBUSY", errno: 16 });
    }
    const swap = swapToV2(m.swap, m.limit, dir);
    // Swap first: if it fails (no swap accounting), the memory limit is not half-applied.
    if (swap !== 0) {
      if (!dir.has("memory.swap.max")) {
        if (swap !== -1) throw new CgroupUnsupportedError("linux.resources.memory.swap", "this kernel does not account swap (no memory.swap.max)", { path: dir.path, file: "memory.swap.max" });
      } else dir.write("memory.swap.max", memoryValue(swap));
    }
    if (isSet(m.limit)) dir.write("memory.max", memoryValue(m.limit));
    if (isSet(m.reservation)) dir.write("memory.low", memoryValue(m.reservation));
  },
};

const finite = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? undefined : n);

export function memoryStatsV2(dir: CgroupDir): MemoryStats {
  const events = dir.readFlat("memory.events");
  return {
    current: dir.readNumber("memory.current") ?? 0,
    peak: dir.readNumber("memory.peak"),
    limit: finite(dir.readNumber("memory.max")),
    swap: dir.readNumber("memory.swap.current"),
    oomKills: events.oom_kill ?? 0,
    oomEvents: events.oom ?? 0,
    stat: dir.readFlat("memory.stat"),
  };
}

export function oomKilledV2(dir: CgroupDir): boolean {
  return (dir.readFlat("memory.events").oom_kill ?? 0) > 0;
}
