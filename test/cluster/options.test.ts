// clusterUp refuses what it must not do, before making anything: a non-loopback API server, a
// bad node count, a namespace that already exists (left untouched), a cluster already running.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterRunningError, InvalidClusterOptionError, NetnsExistsError, clusterNames, clusterUp, stateFile } from "../../cluster/index.js";

const TAG = `o${process.pid % 100000}`;

describe("clusterUp refusals", () => {
  let dir = "";
  before(() => { dir = mkdtempSync(join(tmpdir(), "keel-cluster-opts-")); });
  after(() => {
    try { execFileSync("ip", ["netns", "del", clusterNames(TAG).node(2)]); } catch { /* not made */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it("rejects a listen address off loopback, and bad node counts and names", async () => {
    await assert.rejects(clusterUp({ dataDir: dir, listen: "0.0.0.0:0", name: TAG }), (e: unknown) => e instanceof InvalidClusterOptionError && e.field === "listen");
    await assert.rejects(clusterUp({ dataDir: dir, nodes: 0, listen: "127.0.0.1:0", name: TAG }), (e: unknown) => e instanceof InvalidClusterOptionError && e.field === "nodes");
    await assert.rejects(clusterUp({ dataDir: dir, nodes: Number("x"), listen: "127.0.0.1:0", name: TAG }), /nodes NaN/);
    await assert.rejects(clusterUp({ dataDir: dir, listen: "127.0.0.1:0", name: "Bad_Name" }), (e: unknown) => e instanceof InvalidClusterOptionError && e.field === "name");
    assert.equal(existsSync(stateFile(dir)), false);
  });

  it("refuses a namespace that exists already, and leaves it alone", async () => {
    const taken = clusterNames(TAG).node(2);
    execFileSync("ip", ["netns", "add", taken]);
    await assert.rejects(clusterUp({ dataDir: dir, nodes: 2, listen: "127.0.0.1:0", name: TAG }), (e: unknown) => e instanceof NetnsExistsError && e.netns === taken);
    assert.ok(existsSync(`/run/netns/${taken}`));
    assert.equal(existsSync(`/run/netns/${clusterNames(TAG).node(1)}`), false);
    assert.equal(existsSync(stateFile(dir)), false);
  });

  it("refuses a data dir whose cluster is running", async () => {
    writeFileSync(stateFile(dir), JSON.stringify({ pid: process.ppid, dataDir: dir, nodes: [] }));
    await assert.rejects(clusterUp({ dataDir: dir, listen: "127.0.0.1:0", name: TAG }), (e: unknown) => e instanceof ClusterRunningError && e.pid === process.ppid);
    rmSync(stateFile(dir));
  });
});
