// `keel controller-manager`, `keel scheduler` and `keel sim-nodes`: the control plane's
// API-driven daemons, each running in the foreground until interrupted.
import type { Command } from "commander";

const log = (m: string) => process.stderr.write(`${m}\n`);

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

const ms = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number of seconds, got ${JSON.stringify(v)}`);
  return Math.round(n * 1000);
};

export function register(program: Command): void {
  program
    .command("controller-manager")
    .description("run the core controllers (replicaset, deployment, job, cronjob, daemonset, statefulset, horizontal pod autoscaling, garbage collector, node lifecycle, endpoints, node IPAM) against an API server")
    .requiredOption("--kubeconfig <file>", "kubeconfig of the API server to work against")
    .option("--leader-elect", "take part in leader election on the kube-system/kube-controller-manager Lease; only the leader runs controllers", false)
    .option("--controllers <list>", "comma-separated controllers to run (default all): replicaset,deployment,job,cronjob,daemonset,statefulset,horizontalpodautoscaling,garbagecollector,nodelifecycle,endpoints,nodeipam,serviceaccount,resourcequota")
    .option("--cluster-cidr <cidr>", "the range node podCIDRs are carved from", "10.244.0.0/16")
    .option("--node-cidr-mask-size <bits>", "the size of each node's podCIDR", "24")
    .option("--node-monitor-grace-period <seconds>", "how long a node's Lease may go unrenewed before the node is marked Unknown", "40")
    .option("--lease-duration <seconds>", "leader election lease duration", "15")
    .addHelpText("after", "\nExample:\n  keel controller-manager --kubeconfig /var/lib/keel/admin.kubeconfig --leader-elect\n")
    .action(async (o: { kubeconfig: string; leaderElect: boolean; controllers?: string; clusterCidr: string; nodeCidrMaskSize: string; nodeMonitorGracePeriod: string; leaseDuration: string }) => {
      const { startControllerManager } = await import("../../controlplane/controllers/index.js");
      const cm = await startControllerManager({
        kubeconfig: o.kubeconfig, leaderElect: o.leaderElect, controllers: o.controllers?.split(",").map((s) => s.trim()).filter(Boolean),
        clusterCIDR: o.clusterCidr, nodeCIDRMaskSize: Number(o.nodeCidrMaskSize), nodeMonitorGracePeriodMs: ms(o.nodeMonitorGracePeriod),
        leaseDurationMs: ms(o.leaseDuration), log,
      });
      log(`controller-manager ${cm.identity} started${o.leaderElect ? " (waiting for the lease)" : ""}`);
      await untilSignal();
      await cm.close();
    });

  program
    .command("scheduler")
    .description("run the scheduler: watch unbound pods and nodes, bind each pod to the best node, preempt when needed")
    .requiredOption("--kubeconfig <file>", "kubeconfig of the API server to work against")
    .option("--config <file>", "scheduler profiles (YAML or JSON): one profile or { profiles: [...] }; a pod picks one with spec.schedulerName")
    .option("--profile <name>", "built-in profile when no --config is given", "default")
    .option("--leader-elect", "take part in leader election on the kube-system/kube-scheduler Lease", false)
    .option("--scheduler-name <name>", "the spec.schedulerName this scheduler serves", "default-scheduler")
    .addHelpText("after", "\nExample:\n  keel scheduler --kubeconfig /var/lib/keel/admin.kubeconfig --leader-elect\n")
    .action(async (o: { kubeconfig: string; config?: string; profile: string; leaderElect: boolean; schedulerName: string }) => {
      const { startScheduler } = await import("../../controlplane/scheduler-daemon/index.js");
      const s = await startScheduler({ kubeconfig: o.kubeconfig, configPath: o.config, profile: o.profile, leaderElect: o.leaderElect, schedulerName: o.schedulerName, log });
      log(`scheduler ${s.identity} started`);
      await untilSignal();
      await s.close();
    });

  program
    .command("sim-nodes")
    .description("register simulated nodes (like kwok) whose fake kubelet marks their pods Running")
    .requiredOption("--kubeconfig <file>", "kubeconfig of the API server to work against")
    .option("--count <n>", "how many nodes", "3")
    .option("--prefix <name>", "node name prefix (nodes are PREFIX-0, PREFIX-1, ...)", "keel-sim")
    .option("--cpu <q>", "cpu capacity of each node", "4")
    .option("--memory <q>", "memory capacity of each node", "8Gi")
    .option("--pods <n>", "pod capacity of each node", "110")
    .option("--zones <n>", "spread nodes over this many topology.kubernetes.io/zone labels", "0")
    .option("--delete-on-exit", "delete the nodes and their Leases when interrupted", false)
    .action(async (o: { kubeconfig: string; count: string; prefix: string; cpu: string; memory: string; pods: string; zones: string; deleteOnExit: boolean }) => {
      const { startSimNodes, simNodeSpecs } = await import("../../controlplane/sim-nodes/index.js");
      const nodes = simNodeSpecs(Number(o.count), { prefix: o.prefix, zones: Number(o.zones), capacity: { cpu: o.cpu, memory: o.memory, pods: o.pods } });
      const sim = await startSimNodes({ kubeconfig: o.kubeconfig, nodes, log });
      log(`${nodes.length} simulated nodes registered: ${o.prefix}-0 … ${o.prefix}-${nodes.length - 1}`);
      await untilSignal();
      await sim.close({ deleteNodes: o.deleteOnExit });
    });
}
