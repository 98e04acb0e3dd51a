// `clusterDown`: stops the cluster recorded in a data dir from any process. The running `up`
// process is asked to stop (SIGTERM: it stops its pods and removes what it made); if it is gone
// (crashed, killed), what it left is removed here: its pods (re-adopted from each kubelet's root
// and stopped) and its network namespaces.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { KubeletCore } from "../kubelet/index.js";
import { ClusterTimeoutError, NoClusterError } from "./errors.js";
import { removeNetns } from "./network.js";
import { processAlive, readState, removeState, type NodeRecord } from "./state.js";

export interface ClusterDownOptions {
  dataDir: string;
  /** How long the running process gets to stop cleanly before it is killed (default 60 s). */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** The pods a dead kubelet left on a node, stopped from its root (after a crash, or a killed kubelet). */
export async function stopLeftPods(nd: NodeRecord, log: (m: string) => void): Promise<void> {
  const core = await KubeletCore.open({ root: nd.root, logDir: nd.logDir, nodeName: nd.name, log });
  try {
    await core.stopAll(0);
  } finally {
    await core.close();
  }
}

export async function clusterDown(o: ClusterDownOptions): Promise<void> {
  const log = o.log ?? (() => {});
  const state = readState(o.dataDir);
  if (!state) throw new NoClusterError(o.dataDir);
  if (state.pid === process.pid) throw new Error("clusterDown: this process runs the cluster; call close() on the handle clusterUp returned");
  if (processAlive(state.pid)) {
    log(`keel cluster: stopping process ${state.pid}`);
    process.kill(state.pid, "SIGTERM");
    if (!(await waitGone(state.pid, o.timeoutMs ?? 60_000))) {
      log(`keel cluster: process ${state.pid} did not stop; killing it`);
      process.kill(state.pid, "SIGKILL");
      if (!(await waitGone(state.pid, 10_000))) throw new ClusterTimeoutError(`stopping process ${state.pid}`, (o.timeoutMs ?? 60_000) + 10_000);
    }
  }
  if (!readState(o.dataDir)) return; // it cleaned up after itself
  // Left behind by a process that died: pods first (they hold cgroups and pod netns), then namespaces.
  for (const nd of state.nodes) {
    const pods = join(nd.root, "pods");
    if (!existsSync(pods) || readdirSync(pods).length === 0) continue;
    log(`keel cluster: stopping the pods left on ${nd.name}`);
    await stopLeftPods(nd, log);
  }
  for (const nd of state.nodes) await removeNetns(nd.netns);
  await removeNetns(state.underlayNetns);
  removeState(o.dataDir);
}
