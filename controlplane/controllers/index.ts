// `keel controller-manager`: the core controllers over one set of shared informers, optionally
// behind leader election so that a standby takes over when the leader dies.
import { EventRecorder, KubeClient, runWhileLeading, type ClientConfig, type LeadershipConfig } from "../kit/index.js";
import { SharedInformers, type Controller, type ControllerContext } from "./context.js";
import { ReplicaSetController } from "./replicaset.js";
import { DeploymentController } from "./deployment.js";
import { GarbageCollector } from "./garbage-collector.js";
import { NodeLifecycleController } from "./node-lifecycle.js";
import { EndpointsController } from "./endpoints.js";
import { NodeIpamController } from "./node-ipam.js";
import { JobController } from "./job.js";
import { DaemonSetController } from "./daemonset.js";
import { StatefulSetController } from "./statefulset.js";
import { CronJobController } from "./cronjob.js";
import { HpaController } from "./hpa.js";
import { ServiceAccountsController } from "./serviceaccounts.js";
import { ResourceQuotaController } from "./resourcequota.js";

export { SharedInformers, Controller, FreshCache, Expectations, isPodReady, isPodActive, type ControllerContext } from "./context.js";
export { ServiceAccountsController } from "./serviceaccounts.js";
export { ReplicaSetController, DeploymentController, GarbageCollector, NodeLifecycleController, EndpointsController, NodeIpamController, JobController, DaemonSetController, StatefulSetController, CronJobController, HpaController };
export { ResourceQuotaController, RESOURCE_QUOTAS } from "./resourcequota.js";
export { MetricsApiSource, replicasFor, type MetricsSource, type PodUsage } from "./hpa.js";
export { parseCron, nextRun, lastRunBetween, CronScheduleError } from "./cron.js";
export { REVISION_ANNOTATION, resolveFenceposts } from "./deployment.js";
export { evictionTime, TAINT_NOT_READY, TAINT_UNREACHABLE } from "./node-lifecycle.js";

export const CONTROLLERS = {
  replicaset: ReplicaSetController,
  deployment: DeploymentController,
  garbagecollector: GarbageCollector,
  nodelifecycle: NodeLifecycleController,
  endpoints: EndpointsController,
  nodeipam: NodeIpamController,
  job: JobController,
  daemonset: DaemonSetController,
  statefulset: StatefulSetController,
  cronjob: CronJobController,
  horizontalpodautoscaling: HpaController,
  serviceaccount: ServiceAccountsController,
  resourcequota: ResourceQuotaController,
} as const;
export type ControllerName = keyof typeof CONTROLLERS;

export class UnknownControllerError extends Error {
  constructor(readonly controller: string) {
    super(`unknown controller ${JSON.stringify(controller)}; known: ${Object.keys(CONTROLLERS).join(", ")}`);
    this.name = "UnknownControllerError";
  }
}

export interface ControllerManagerOptions extends LeadershipConfig {
  /** A kubeconfig path or a ready client config. */
  kubeconfig: string | ClientConfig;
  /** Which controllers to run (default all). */
  controllers?: string[];
  workers?: number;
  resyncMs?: number;
  nodeMonitorGracePeriodMs?: number;
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
  /** HPA: the pod usage source (default the metrics.k8s.io API) and sync period (default 15 s). */
  metrics?: import("./hpa.js").MetricsSource;
  hpaSyncPeriodMs?: number;
  log?: (msg: string) => void;
}

export interface RunningControllerManager {
  identity: string;
  readonly isLeader: boolean;
  readonly client: KubeClient;
  /** Resolves once this manager leads and its informers have synced. */
  leading(): Promise<void>;
  close(): Promise<void>;
  /** Stops as a crash would: the Lease is left held, so a standby waits it out (tests). */
  kill(): Promise<void>;
}

export async function startControllerManager(o: ControllerManagerOptions): Promise<RunningControllerManager> {
  const log = o.log ?? (() => {});
  const names = o.controllers ?? Object.keys(CONTROLLERS);
  for (const n of names) if (!(n in CONTROLLERS)) throw new UnknownControllerError(n);
  const client = new KubeClient(o.kubeconfig, "keel-controller-manager");
  let running: { informers: SharedInformers; controllers: Controller[]; recorder: EventRecorder } | undefined;

  const startControllers = async (identity: string): Promise<boolean> => {
    const informers = new SharedInformers(client, o.resyncMs ?? 0, log);
    const recorder = new EventRecorder(client, "controller-manager", identity);
    const ctx: ControllerContext = { client, informers, recorder, log, nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodMs, clusterCIDR: o.clusterCIDR, nodeCIDRMaskSize: o.nodeCIDRMaskSize, metrics: o.metrics, hpaSyncPeriodMs: o.hpaSyncPeriodMs };
    const controllers = names.map((n) => new CONTROLLERS[n as ControllerName](ctx));
    for (const c of controllers) c.register();
    running = { informers, controllers, recorder };
    await informers.start();
    if (running?.informers !== informers) return false; // stopped while syncing
    for (const c of controllers) void c.run(o.workers ?? 2);
    log(`controller-manager ${identity}: running ${names.join(", ")}`);
    return true;
  };
  const stopControllers = () => {
    if (!running) return;
    for (const c of running.controllers) c.stop();
    running.informers.stop();
    running = undefined;
  };

  const leadership = await runWhileLeading(client, { ...o, defaultLeaseName: "kube-controller-manager", log }, startControllers, stopControllers);

  return {
    identity: leadership.identity, client,
    get isLeader() { return leadership.isLeader; },
    leading: () => leadership.leading(),
    async kill() {
      await leadership.stop(false);
      client.close();
    },
    async close() {
      const rec = running?.recorder;
      await leadership.stop();
      await rec?.flush();
      client.close();
    },
  };
}
