// v2 freezer: cgroup.freeze, then wait for cgroup.events to say "frozen 1" (the kernel freezes
// asynchronously, task by task).
import type { CgroupDir } from "../files.js";
import { waitUntil } from "../tree.js";

export function isFrozenV2(dir: CgroupDir): boolean {
  return dir.readFlat("cgroup.events").frozen === 1;
}

export async function setFrozenV2(dir: CgroupDir, frozen: boolean, timeoutMs = 10000): Promise<void> {
  dir.write("cgroup.freeze", frozen ? 1 : 0);
  try {
    await waitUntil(() => isFrozenV2(dir) === frozen, timeoutMs, { path: dir.path, file: "cgroup.events", expect: frozen ? "frozen 1" : "frozen 0" });
  } catch (err) {
    if (frozen) dir.write("cgroup.freeze", 0); // never leave it half-frozen
    throw err;
  }
}
