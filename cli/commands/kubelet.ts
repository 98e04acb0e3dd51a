// `keel kubelet`: runs this machine's node agent in the foreground, from a directory of static
// Pod manifests, under an API server (--kubeconfig), or both. Pods keep running when it exits
// (a kubelet started again with the same --root re-adopts them) unless --stop-pods-on-exit.
import type { Command } from "commander";
import { setFlagsFromString } from "node:v8";
import { untilSignal } from "../signals.js";

interface KubeletCliOptions {
  manifests?: string;
  kubeconfig?: string;
  nodeName?: string;
  root: string;
  logDir: string;
  imageRoot?: string;
  hostIp?: string;
  podPidsLimit?: string;
  stopPodsOnExit: boolean;
  podCidr?: string;
  cni: boolean;
  nodeNetns?: string;
  bridge?: string;
  cniStateDir?: string;
  quiet: boolean;
  listen?: string;
}

export function register(program: Command): void {
  program
    .command("kubelet")
    .description("run the node agent: static pods from --manifests DIR and/or the pods bound to this node by the API server (--kubeconfig)")
    .option("--manifests <dir>", "a directory of Pod manifests (YAML or JSON); a file added, changed or removed starts, replaces or stops its pod")
    .option("--kubeconfig <file>", "register with the API server this kubeconfig names, and run the pods bound to this node")
    .option("--node-name <name>", "this node's name (default: the host name)")
    .option("--root <dir>", "the kubelet's state (pods, runtime state); keep it to re-adopt running pods after a restart", "/var/lib/keel/kubelet")
    .option("--log-dir <dir>", "container logs, as <ns>_<pod>_<uid>/<container>/<restart>.log in the CRI format", "/var/log/pods")
    .option("--image-root <dir>", "the image store (default: keel's, /var/lib/keel/images or KEEL_IMAGE_ROOT)")
    .option("--host-ip <ip>", "this node's address (default: its first non-loopback IPv4 address)")
    .option("--pod-pids-limit <n>", "the most processes one container may have")
    .option("--pod-cidr <cidr>", "attach pods to a bridge with addresses from this CIDR (keel's CNI); without it pods get loopback only")
    .option("--cni", "attach pods with keel's CNI using the pod CIDR the control plane assigns to this Node (spec.podCIDR)", false)
    .option("--node-netns <path>", "the node's network namespace for the bridge (default: this process's)")
    .option("--bridge <name>", "the node's bridge for pods (default keel0)")
    .option("--cni-state-dir <dir>", "address allocations and port mappings (default /var/lib/keel/cni)")
    .option("--stop-pods-on-exit", "stop every pod when the kubelet exits (default: they keep running)", false)
    .option("--listen <host:port>", "serve /healthz, /pods, /metrics, /stats/summary and /containerLogs/NS/POD/CONTAINER here")
    .option("-q, --quiet", "do not log pod events to stderr", false)
    .addHelpText("after", "\nExamples:\n  keel kubelet --manifests /etc/keel/manifests\n  keel kubelet --kubeconfig /var/lib/keel/admin.kubeconfig --node-name node-1\n")
    .action(async (o: KubeletCliOptions) => {
      if (!o.manifests && !o.kubeconfig) {
        process.stderr.write("keel kubelet: give --manifests DIR, --kubeconfig FILE, or both\n");
        process.exitCode = 2;
        return;
      }
      const pids = o.podPidsLimit !== undefined ? Number(o.podPidsLimit) : undefined;
      if (pids !== undefined && !(Number.isInteger(pids) && pids > 0)) {
        process.stderr.write(`keel kubelet: --pod-pids-limit ${o.podPidsLimit}: must be a positive integer\n`);
        process.exitCode = 2;
        return;
      }
      // A node agent's memory counts for more than its peak speed (its work is waiting on
      // processes, files and the API server): V8's lite mode (no optimizing compiler, bytecode
      // flushed when cold) and a young generation kept at its initial size (the growth factor:
      // a maximum semi-space size set at run time is ignored, the heap being made already).
      // Measured with 150 pods: RSS 85 -> 66 MB, the burst no slower (bench/density for 300).
      // Set before the kubelet's code first runs.
      if (!process.env.KEEL_KUBELET_FULL_JIT) {
        setFlagsFromString("--lite-mode");
        setFlagsFromString("--semi-space-growth-factor=1");
      }
      // keel's CNI when a pod CIDR is given, or (under the API server) when --cni asks for the Node's.
      const cni = o.podCidr || o.cni ? { podCIDR: o.podCidr, nodeNetns: o.nodeNetns, bridge: o.bridge, stateDir: o.cniStateDir } : undefined;
      // Loaded only now, after the flags, as `keel apiserver` loads the API server.
      const { startKubelet } = await import("../../kubelet/index.js");
      const k = await startKubelet({
        cni, listen: o.listen,
        manifests: o.manifests, kubeconfig: o.kubeconfig, nodeName: o.nodeName, root: o.root, logDir: o.logDir,
        imageRoot: o.imageRoot, hostIP: o.hostIp, pidsLimit: pids, stopPods: o.stopPodsOnExit,
        log: o.quiet ? undefined : (m) => process.stderr.write(`${m}\n`),
      });
      process.stderr.write(`keel kubelet: node ${k.nodeName} running (${k.core.workers.size} pods re-adopted)${k.url ? `, serving ${k.url}` : ""}\n`);
      await untilSignal();
      await k.close();
    });
}
