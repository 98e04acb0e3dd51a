// What the cluster tests share: real kubectl on a cluster's kubeconfig, waiting for the cluster
// to converge, and a pod's container log read from its node.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningCluster } from "../../cluster/index.js";
import { waitFor as waitUntil } from "../fixtures/wait-for.js";

export const KUBECTL = "/usr/bin/kubectl";

/**
 * kubectl with `kubeconfig`, its cache and HOME under `home` (the test's temporary directory),
 * `input` on stdin: resolves with stdout, rejects with the command and its stderr.
 */
export function runKubectl(home: string, kubeconfig: string, args: string[], input?: string, timeout = 60_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = execFile(KUBECTL, ["--kubeconfig", kubeconfig, "--cache-dir", join(home, "kcache"), ...args],
      { env: { ...process.env, HOME: home, KUBECONFIG: "" }, timeout },
      (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`)) : resolve(stdout)));
    child.stdin!.end(input ?? "");
  });
}

/** A cluster converges in seconds, but allow for a loaded machine: 90 s, polled every 300 ms. */
export const waitFor = <T>(what: string, fn: () => Promise<T | false | undefined>, ms = 90_000): Promise<T> => waitUntil(what, fn, ms, 300);

/** A pod's container log, read from its node's log directory (what kubectl logs would show). */
export function podLog(cluster: RunningCluster, pod: { metadata: { name: string; uid: string }; spec: { nodeName?: string } }, container = "c"): string {
  const nd = cluster.nodes.find((n) => n.name === pod.spec.nodeName);
  const d = nd && join(nd.logDir, `default_${pod.metadata.name}_${pod.metadata.uid}`, container);
  if (!d || !existsSync(d)) return "(no log)";
  return readdirSync(d).map((f) => readFileSync(join(d, f), "utf8")).join("");
}
