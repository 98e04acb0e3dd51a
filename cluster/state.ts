// The cluster's record on disk (DATA_DIR/cluster.json): what `up` made, written before it makes
// it, so `down` and `status` (other processes) find every process and namespace again, also after
// a crash. Written atomically.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../lib/atomic-file.js";

export interface NodeRecord {
  name: string;
  /** Named network namespace (/run/netns/NAME). */
  netns: string;
  /** The node's address on the underlay. */
  ip: string;
  /** Kubelet state, logs and CNI state. */
  root: string;
  logDir: string;
  cniStateDir: string;
}

export interface ClusterState {
  /** The process running the control plane and the kubelets. */
  pid: number;
  dataDir: string;
  /** Named netns holding the underlay bridge the nodes' eth0 hang off. */
  underlayNetns: string;
  underlayCIDR: string;
  clusterCIDR: string;
  nodes: NodeRecord[];
  kubeconfigPath: string;
  url?: string;
  phase: "starting" | "running" | "stopping";
  startedAt: string;
}

export const stateFile = (dataDir: string) => join(dataDir, "cluster.json");

export function writeState(s: ClusterState): void {
  writeFileAtomicSync(stateFile(s.dataDir), JSON.stringify(s, null, 2) + "\n", 0o600);
}

export function readState(dataDir: string): ClusterState | undefined {
  const f = stateFile(dataDir);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, "utf8")) as ClusterState;
}

export function removeState(dataDir: string): void {
  rmSync(stateFile(dataDir), { force: true });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
