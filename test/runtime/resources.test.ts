// Resource limits a user relies on: the OOM killer at the memory limit, reported as such;
// fork refused at the pids limit; stats from the container's cgroup.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collect, runToExit, runtimeFixture, uniqueId } from "../fixtures/run-container.js";

const fx = runtimeFixture();

const MiB = 1024 * 1024;

test("a memory limit: the hog is OOM-killed and reported as such", async () => {
  const b = fx.bundles.bundle({ args: ["/bin/sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived ${#x}"] }, (s) => {
    s.linux!.resources = { memory: { limit: 32 * MiB, swap: 32 * MiB } };
  });
  const r = await runToExit(fx.env.rt, b.dir);
  assert.equal(r.oomKilled, true, `exit ${r.exitCode} signal ${r.signal} ${r.stderr}`);
  assert.doesNotMatch(r.stdout, /survived/);
});

test("a pids limit caps forks", async () => {
  const b = fx.bundles.bundle({ args: ["/bin/sh", "-c", "for i in $(seq 1 30); do sleep 3 & done 2>&1; wait; echo done"] }, (s) => {
    s.linux!.resources = { pids: { limit: 10 } };
  });
  const r = await runToExit(fx.env.rt, b.dir);
  assert.match(r.stdout + r.stderr, /can't fork|Resource temporarily unavailable/);
});

test("stats come from the container's cgroup", async () => {
  const { rt } = fx.env;
  const id = uniqueId("stats");
  const b = fx.bundles.bundle({ args: ["/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo ready; sleep 30"] }, (s) => {
    s.linux!.resources = { memory: { limit: 64 * MiB }, pids: { limit: 50 } };
  });
  const c = await rt.run(id, b.dir, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => c.stdout!.once("data", () => resolve()));
  const st = await rt.stats(id);
  assert.ok(st.cpu.usageNs > 0);
  assert.ok(st.memory.current > 0);
  assert.equal(st.memory.limit, 64 * MiB);
  assert.ok(st.pids.current >= 1);
  assert.equal(st.pids.limit, 50);
  await rt.update(id, { pids: { limit: 60 } });
  assert.equal((await rt.stats(id)).pids.limit, 60);
  await rt.delete(id, { force: true });
  void collect;
});
