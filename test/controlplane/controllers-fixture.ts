// A small cluster for the controller and scheduler tests: a real API server, simulated nodes,
// the scheduler daemon and (optionally) a controller-manager, all in this process.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startControllerManager, SharedInformers, CONTROLLERS, type RunningControllerManager, type ControllerManagerOptions, type ControllerContext, type Controller } from "../../controlplane/controllers/index.js";
import { EventRecorder, KubeClient, R, type Resource } from "../../controlplane/kit/index.js";
import { startScheduler, type RunningScheduler } from "../../controlplane/scheduler-daemon/index.js";
import { startSimNodes, simNodeSpecs, type SimNodes, type SimNodeSpec } from "../../controlplane/sim-nodes/index.js";
import { startApiFixture, waitFor, type ApiFixture } from "./kit-fixture.js";

export { waitFor } from "./kit-fixture.js";

export interface Cluster extends ApiFixture {
  sim: SimNodes;
  scheduler: RunningScheduler;
  cm?: RunningControllerManager;
  kubectl(...args: string[]): Promise<string>;
}

export async function startCluster(o: { nodes?: SimNodeSpec[]; controllers?: boolean; cm?: Partial<ControllerManagerOptions> } = {}): Promise<Cluster> {
  const fx = await startApiFixture("keel-ctl-");
  const parts: { sim?: SimNodes; scheduler?: RunningScheduler; cm?: RunningControllerManager } = {};
  const close = async () => {
    await parts.cm?.close().catch(() => {});
    await parts.scheduler?.close().catch(() => {});
    await parts.sim?.close().catch(() => {});
    await fx.close();
  };
  try {
    parts.sim = await startSimNodes({ kubeconfig: fx.server.kubeconfigPath, nodes: o.nodes ?? simNodeSpecs(3, { prefix: "keel-n" }), leaseRenewMs: 300 });
    parts.scheduler = await startScheduler({ kubeconfig: fx.server.kubeconfigPath });
    if (o.controllers !== false) parts.cm = await startControllerManager({ kubeconfig: fx.server.kubeconfigPath, nodeMonitorGracePeriodMs: 60_000, ...(o.cm ?? {}) });
  } catch (err) {
    await close();
    throw err;
  }
  const run = promisify(execFile);
  return {
    ...fx, sim: parts.sim, scheduler: parts.scheduler, cm: parts.cm, close,
    async kubectl(...args: string[]) {
      const { stdout } = await run("kubectl", ["--kubeconfig", fx.server.kubeconfigPath, ...args], { timeout: 60_000 });
      return stdout;
    },
  };
}

/** A client that counts the writes it sends. */
class CountingClient extends KubeClient {
  writes: string[] = [];
  override request<T>(method: string, path: string, body?: unknown, ct?: string): Promise<T> {
    if (method !== "GET") this.writes.push(`${method} ${path}`);
    return super.request<T>(method, path, body, ct);
  }
}

const KEYS_FOR: Record<string, Resource> = {
  replicaset: R.replicasets, deployment: R.deployments, job: R.jobs, cronjob: R.cronjobs, daemonset: R.daemonsets, statefulset: R.statefulsets,
  endpoints: R.services, hpa: { group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers", kind: "HorizontalPodAutoscaler", namespaced: true }, nodelifecycle: R.nodes, "node-lifecycle": R.nodes, "node-ipam": R.nodes,
  serviceaccounts: R.namespaces,
  resourcequota: { group: "", version: "v1", plural: "resourcequotas", kind: "ResourceQuota", namespaced: true },
};

/**
 * Runs every reconciler (a fresh set, not the cluster's running ones) over every key until a
 * pass writes nothing, then once more; returns the writes of those last two passes: a
 * level-triggered, idempotent reconciler leaves both empty.
 */
export function reconcileTwice(c: Cluster, extra: Partial<ControllerContext> = {}): Promise<[string[], string[]]> {
  return passesUntilQuiet(c, extra, (ctx) => Object.values(CONTROLLERS).map((C) => new C(ctx)), (ctl) => KEYS_FOR[ctl.name]!);
}

/** The same for a few controllers over one kind's keys: the writes of the pass after a quiet one. */
export async function secondPassWrites(c: Cluster, controllers: (new (ctx: ControllerContext) => Controller)[], keys: Resource): Promise<string[]> {
  return (await passesUntilQuiet(c, {}, (ctx) => controllers.map((C) => new C(ctx)), () => keys))[1];
}

async function passesUntilQuiet(c: Cluster, extra: Partial<ControllerContext>, make: (ctx: ControllerContext) => Controller[], keysOf: (ctl: Controller) => Resource): Promise<[string[], string[]]> {
  const client = new CountingClient(c.server.kubeconfigPath);
  const informers = new SharedInformers(client);
  const ctx: ControllerContext = { client, informers, recorder: new EventRecorder(client, "test"), log: () => {}, nodeMonitorGracePeriodMs: 60_000, ...extra };
  const controllers = make(ctx);
  for (const ctl of controllers) ctl.register();
  await informers.start();
  try {
    const pass = async () => {
      client.writes = [];
      for (const ctl of controllers) {
        if (ctl.name === "garbage-collector") {
          for (const k of informers.get(R.pods).listKeys()) await ctl.reconcile(`pods|${k.replace("/", "|")}`);
          continue;
        }
        for (const k of informers.get(keysOf(ctl)).listKeys()) await ctl.reconcile(k);
      }
      return [...client.writes];
    };
    let quiet: string[] = [];
    await waitFor("a pass that writes nothing", async () => {
      quiet = await pass();
      if (quiet.length) await new Promise((r) => setTimeout(r, 300)); // let the informers see those writes
      return quiet.length === 0;
    }, 30_000, 10);
    return [quiet, await pass()];
  } finally {
    for (const ctl of controllers) ctl.stop();
    informers.stop();
    client.close();
  }
}
