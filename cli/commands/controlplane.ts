// `keel controller-manager`, `keel scheduler` and `keel sim-nodes`: the control plane's
// API-driven daemons, each running in the foreground until interrupted; and `keel control-plane`,
// the API server, controller-manager and scheduler in one process (as k3s's server runs them),
// which pays Node's own baseline (runtime, V8 heap, TLS) once instead of three times.
import type { Command } from "commander";
import type { ControllerManagerOptions } from "../../controlplane/controllers/index.js";
import type { SchedulerDaemonOptions } from "../../controlplane/scheduler-daemon/index.js";
import { apiServerFlags, apiServerOptions, leanApiServerV8, type ApiServerCliOptions } from "./apiserver.js";
import { untilSignal } from "../signals.js";

const log = (m: string) => process.stderr.write(`${m}\n`);

const ms = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number of seconds, got ${JSON.stringify(v)}`);
  return Math.round(n * 1000);
};

interface ControllerFlags { leaderElect: boolean; controllers?: string; clusterCidr: string; nodeCidrMaskSize: string; nodeMonitorGracePeriod: string; leaseDuration: string }

/** The controller-manager's flags (but --kubeconfig and --leader-elect), on `controller-manager` and `control-plane`. */
function controllerFlags(cmd: Command): Command {
  return cmd
    .option("--controllers <list>", "comma-separated controllers to run (default all): replicaset,deployment,job,cronjob,daemonset,statefulset,horizontalpodautoscaling,garbagecollector,nodelifecycle,endpoints,nodeipam,serviceaccount,resourcequota")
    .option("--cluster-cidr <cidr>", "the range node podCIDRs are carved from", "10.244.0.0/16")
    .option("--node-cidr-mask-size <bits>", "the size of each node's podCIDR", "24")
    .option("--node-monitor-grace-period <seconds>", "how long a node's Lease may go unrenewed before the node is marked Unknown", "40")
    .option("--lease-duration <seconds>", "leader election lease duration", "15");
}

function controllerManagerOptions(o: ControllerFlags, kubeconfig: string): ControllerManagerOptions {
  return {
    kubeconfig, leaderElect: o.leaderElect, controllers: o.controllers?.split(",").map((s) => s.trim()).filter(Boolean),
    clusterCIDR: o.clusterCidr, nodeCIDRMaskSize: Number(o.nodeCidrMaskSize), nodeMonitorGracePeriodMs: ms(o.nodeMonitorGracePeriod),
    leaseDurationMs: ms(o.leaseDuration), log,
  };
}

interface SchedulerFlags { config?: string; profile: string; schedulerName: string; leaseDuration?: string }

/** The scheduler's flags (but --kubeconfig and --leader-elect), on `scheduler` and `control-plane`. */
function schedulerFlags(cmd: Command): Command {
  return cmd
    .option("--config <file>", "scheduler profiles (YAML or JSON): one profile or { profiles: [...] }; a pod picks one with spec.schedulerName")
    .option("--profile <name>", "built-in profile when no --config is given", "default")
    .option("--scheduler-name <name>", "the spec.schedulerName this scheduler serves", "default-scheduler");
}

function schedulerOptions(o: SchedulerFlags, kubeconfig: string, leaderElect: boolean): SchedulerDaemonOptions {
  return {
    kubeconfig, configPath: o.config, profile: o.profile, leaderElect, schedulerName: o.schedulerName, log,
    // --lease-duration exists only where the controller-manager's flags are (control-plane): both leases alike.
    ...(o.leaseDuration !== undefined ? { leaseDurationMs: ms(o.leaseDuration) } : {}),
  };
}

export function register(program: Command): void {
  controllerFlags(program
    .command("controller-manager")
    .description("run the core controllers (replicaset, deployment, job, cronjob, daemonset, statefulset, horizontal pod autoscaling, garbage collector, node lifecycle, endpoints, node IPAM) against an API server")
    .requiredOption("--kubeconfig <file>", "kubeconfig of the API server to work against")
    .option("--leader-elect", "take part in leader election on the kube-system/kube-controller-manager Lease; only the leader runs controllers", false))
    .addHelpText("after", "\nExample:\n  keel controller-manager --kubeconfig /var/lib/keel/admin.kubeconfig --leader-elect\n")
    .action(async (o: ControllerFlags & { kubeconfig: string }) => {
      const { startControllerManager } = await import("../../controlplane/controllers/index.js");
      const cm = await startControllerManager(controllerManagerOptions(o, o.kubeconfig));
      log(`controller-manager ${cm.identity} started${o.leaderElect ? " (waiting for the lease)" : ""}`);
      await untilSignal();
      await cm.close();
    });

  schedulerFlags(program
    .command("scheduler")
    .description("run the scheduler: watch unbound pods and nodes, bind each pod to the best node, preempt when needed")
    .requiredOption("--kubeconfig <file>", "kubeconfig of the API server to work against"))
    .option("--leader-elect", "take part in leader election on the kube-system/kube-scheduler Lease", false)
    .addHelpText("after", "\nExample:\n  keel scheduler --kubeconfig /var/lib/keel/admin.kubeconfig --leader-elect\n")
    .action(async (o: SchedulerFlags & { kubeconfig: string; leaderElect: boolean }) => {
      const { startScheduler } = await import("../../controlplane/scheduler-daemon/index.js");
      const s = await startScheduler(schedulerOptions(o, o.kubeconfig, o.leaderElect));
      log(`scheduler ${s.identity} started`);
      await untilSignal();
      await s.close();
    });

  schedulerFlags(controllerFlags(apiServerFlags(program
    .command("control-plane")
    .description("run the API server, the controller-manager and the scheduler in one process (the three verbs' flags) until interrupted"))
    .option("--leader-elect", "the controller-manager and the scheduler take part in leader election (kube-system/kube-controller-manager and kube-scheduler Leases), for several control planes on one etcd", false)))
    .addHelpText("after", "\nThe controller-manager and the scheduler work through the API server's admin kubeconfig (DIR/admin.kubeconfig).\nExample:\n  keel control-plane --data-dir /var/lib/keel\n  kubectl --kubeconfig /var/lib/keel/admin.kubeconfig get pods -A\n")
    .action(async (o: ApiServerCliOptions & ControllerFlags & SchedulerFlags) => {
      leanApiServerV8();
      const [{ startApiServer }, { startControllerManager }, { startScheduler }] = await Promise.all([
        import("../../controlplane/apiserver/index.js"), import("../../controlplane/controllers/index.js"), import("../../controlplane/scheduler-daemon/index.js"),
      ]);
      // Stopped in reverse order of start, also when a later part fails to start.
      const started: { close(): Promise<void> }[] = [];
      const closeAll = async () => {
        const errors: unknown[] = [];
        for (const part of started.reverse()) await part.close().catch((e) => errors.push(e));
        if (errors.length) throw new AggregateError(errors, `control plane: ${errors.length} part(s) failed to stop: ${errors.map((e) => (e as Error).message).join("; ")}`);
      };
      try {
        const api = await startApiServer(apiServerOptions(o, log));
        started.push(api);
        const cm = await startControllerManager(controllerManagerOptions(o, api.kubeconfigPath));
        started.push(cm);
        const sched = await startScheduler(schedulerOptions(o, api.kubeconfigPath, o.leaderElect));
        started.push(sched);
        process.stdout.write(`${api.url}\n`);
        log(`control plane running: API server ${api.url}, controller-manager ${cm.identity}, scheduler ${sched.identity}${o.leaderElect ? " (waiting for their leases)" : ""}; kubeconfig ${api.kubeconfigPath}`);
      } catch (err) {
        await closeAll().catch((e: Error) => log(`control plane: clean-up after a failed start: ${e.message}`));
        throw err;
      }
      await untilSignal();
      await closeAll();
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
