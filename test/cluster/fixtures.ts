// What the cluster tests share: real kubectl on a cluster's kubeconfig, waiting for the cluster
// to converge, and a pod's container log read from its node.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningCluster } from "../../cluster/index.js";
import { waitFor as waitUntil } from "../fixtures/wait-for.js";

export { KUBECTL, runKubectl } from "../fixtures/kubectl.js";

/** A cluster converges in seconds, but allow for a loaded machine: 90 s, polled every 300 ms. */
export const waitFor = <T>(what: string, fn: () => Promise<T | false | undefined>, ms = 90_000): Promise<T> => waitUntil(what, fn, ms, 300);

/** A pod's container log, read from its node's log directory (what kubectl logs would show). */
export function podLog(cluster: RunningCluster, pod: { metadata: { name: string; uid: string }; spec: { nodeName?: string } }, container = "c"): string {
  const nd = cluster.nodes.find((n) => n.name === pod.spec.nodeName);
  const d = nd && join(nd.logDir, `default_${pod.metadata.name}_${pod.metadata.uid}`, container);
  if (!d || !existsSync(d)) return "(no log)";
  return readdirSync(d).map((f) => readFileSync(join(d, f), "utf8")).join("");
}
