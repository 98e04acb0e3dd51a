// v1 freezer: freezer.state FROZEN / THAWED. Freezing passes through FREEZING until every task
// has stopped; a task in an uninterruptible sleep can hold it there, so the write is repeated
// while waiting, as runc does.
import { CgroupError } from "../errors.js";
import type { CgroupDir } from "../files.js";
import { waitUntil } from "../tree.js";

const state = (dir: CgroupDir) => dir.read("freezer.state").trim();

export async function setFrozenV1(dir: CgroupDir, frozen: boolean, timeoutMs = 10000): Promise<void> {
  const want = frozen ? "FROZEN" : "THAWED";
  dir.write("freezer.state", want);
  let tries = 0;
  try {
    await waitUntil(
      () => {
        if (state(dir) === want) return true;
        if (++tries % 10 === 0) dir.write("freezer.state", want);
        return false;
      },
      timeoutMs,
      { path: dir.path, file: "freezer.state", expect: want },
    );
  } catch (err) {
    // Never leave a cgroup half-frozen behind a failed freeze.
    if (frozen && err instanceof CgroupError && err.code === "ETIMEDOUT") dir.write("freezer.state", "THAWED");
    throw err;
  }
}
