// The runtime on a pure cgroup-v2 host (runs inside ../shared/tools/v2vm): containers born into
// their cgroup with clone3(CLONE_INTO_CGROUP), limits enforced, a private cgroup namespace.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runToExit, runtimeFixture } from "../fixtures/run-container.js";

const fx = runtimeFixture();

const MiB = 1024 * 1024;

test("this is a pure cgroup v2 machine", () => {
  assert.match(readFileSync("/proc/self/mountinfo", "utf8"), / \/sys\/fs\/cgroup .* - cgroup2 /);
});

test("a container sees its own cgroup as / in a private cgroup namespace, with its limits", async () => {
  const r = await runToExit(fx.env.rt, fx.bundles.bundle({ args: ["/bin/sh", "-c", "cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max"], cgroupns: true }, (s) => {
    s.linux!.resources = { memory: { limit: 48 * MiB }, pids: { limit: 40 }, cpu: { quota: 50000, period: 100000 } };
  }).dir);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["0::/", String(48 * MiB), "40", "50000 100000"]);
});

test("the OOM killer acts at the memory limit and is reported", async () => {
  const r = await runToExit(fx.env.rt, fx.bundles.bundle({ args: ["/bin/sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"] }, (s) => {
    s.linux!.resources = { memory: { limit: 32 * MiB, swap: 32 * MiB } };
  }).dir);
  assert.equal(r.oomKilled, true, `exit ${r.exitCode} signal ${r.signal} ${r.stderr}`);
});

test("a pids limit caps forks", async () => {
  const r = await runToExit(fx.env.rt, fx.bundles.bundle({ args: ["/bin/sh", "-c", "for i in $(seq 1 30); do sleep 2 & done 2>&1; wait"] }, (s) => {
    s.linux!.resources = { pids: { limit: 10 } };
  }).dir);
  assert.match(r.stdout + r.stderr, /can't fork|Resource temporarily unavailable/);
});
