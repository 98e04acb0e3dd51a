// `clusterStatus`: the parts of the cluster recorded in a data dir and their health: the process,
// each node's namespace and Ready condition, and the pods with where they run.
import type { Node, Pod } from "../api/index.js";
import { KubeClient, R } from "../controlplane/kit/index.js";
import { NoClusterError } from "./errors.js";
import { netnsExists } from "./network.js";
import { processAlive, readState, type ClusterState } from "./state.js";
import { nodeReady } from "./up.js";

export interface ClusterStatus {
  state: ClusterState;
  processAlive: boolean;
  /** The API server answered (undefined error) or why not. */
  apiError?: string;
  nodes: { name: string; ip: string; netns: boolean; registered: boolean; ready: boolean; podCIDR?: string }[];
  pods: { namespace: string; name: string; node?: string; phase?: string; podIP?: string }[];
}

export async function clusterStatus(o: { dataDir: string }): Promise<ClusterStatus> {
  const state = readState(o.dataDir);
  if (!state) throw new NoClusterError(o.dataDir);
  const alive = processAlive(state.pid);
  let apiNodes: Node[] = [];
  let pods: Pod[] = [];
  let apiError: string | undefined;
  if (alive) {
    const client = new KubeClient(state.kubeconfigPath, "keel-cluster-status");
    try {
      apiNodes = (await client.listAll<Node>(R.nodes)).items;
      pods = (await client.listAll<Pod>(R.pods)).items;
    } catch (e) {
      apiError = (e as Error).message;
    } finally {
      client.close();
    }
  } else apiError = `process ${state.pid} is not running`;
  return {
    state, processAlive: alive, apiError,
    nodes: state.nodes.map((nd) => {
      const n = apiNodes.find((x) => x.metadata.name === nd.name);
      return { name: nd.name, ip: nd.ip, netns: netnsExists(nd.netns), registered: !!n, ready: nodeReady(n), podCIDR: n?.spec?.podCIDR };
    }),
    pods: pods.map((p) => ({ namespace: p.metadata.namespace ?? "default", name: p.metadata.name!, node: p.spec?.nodeName, phase: p.status?.phase, podIP: p.status?.podIP })),
  };
}
