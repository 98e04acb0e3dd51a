// Memory-pressure eviction: BestEffort pods go first, then Burstable; Guaranteed pods stay
// while anything else is left. (The node's available memory is the test's to set.)
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { busyboxPod, startHarness, waitFor, writeManifest, type Harness } from "./helpers.js";

describe("kubelet: memory-pressure eviction", () => {
  let h: Harness;
  // Each eviction round under pressure evicts one pod: the test allows exactly two such rounds.
  let pressureRounds = 0;
  before(async () => { h = await startHarness({ memoryAvailable: () => (pressureRounds > 0 ? (pressureRounds--, 1024 * 1024) : Number.MAX_SAFE_INTEGER) }); });
  after(async () => { await h?.close(); });

  it("evicts BestEffort before Burstable, and leaves Guaranteed pods", async () => {
    const sleeper = (name: string, resources?: Record<string, unknown>) =>
      writeManifest(h, name, busyboxPod(name, {}, [{ name: "c", command: ["sleep", "1000"], ...(resources ? { resources } : {}) }]));
    sleeper("be");
    sleeper("burst", { requests: { memory: "16Mi" } });
    sleeper("guar", { limits: { memory: "64Mi", cpu: "100m" } });
    await waitFor("all running", () => ["be", "burst", "guar"].every((n) => h.statuses.get(n)?.phase === "Running"));
    assert.equal(h.statuses.get("be")?.qosClass, "BestEffort");
    assert.equal(h.statuses.get("burst")?.qosClass, "Burstable");
    assert.equal(h.statuses.get("guar")?.qosClass, "Guaranteed");
    pressureRounds = 2;
    const be = await waitFor("be evicted", () => { const s = h.statuses.get("be"); return s?.phase === "Failed" && s; });
    assert.equal(be.reason, "Evicted");
    assert.match(be.message ?? "", /low on resource: memory/);
    const burst = await waitFor("burst evicted", () => { const s = h.statuses.get("burst"); return s?.phase === "Failed" && s; });
    assert.equal(burst.reason, "Evicted");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.statuses.get("guar")?.phase, "Running");
    assert.ok(h.events.some((e) => e.startsWith("be/ Evicted")));
  });
});
