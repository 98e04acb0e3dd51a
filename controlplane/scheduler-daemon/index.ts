// `keel scheduler`: the scheduling core (controlplane/scheduler) driven by informers on the API
// server. Pods and nodes flow in through watches; decisions flow out as API writes: a binding
// (pods/NAME/binding), preemption (victims deleted, status.nominatedNodeName set), or the
// PodScheduled=False condition; each with an Event. Optionally behind leader election.
// The binding path: a decision assumes the pod onto its node in the core's cache at once, so
// the loop keeps scheduling the next pods while up to `parallelism` bindings are in flight (no
// node is double-booked: the assumed pods hold their room); a failed binding gives the room
// back. The watch event of the bound pod then confirms the assumption without recompiling the
// pod. End to end this path is bounded by the API server's write rate (bench/scheduler-e2e.ts).
// Services, ReplicaSets and StatefulSets are watched too: their selectors make the default
// selector of kube's system default topology spreading (controlplane/scheduler/default-selector.ts).
// keel's API server serves no ReplicationControllers, so those are not watched.
import type { Node, Pod, Service } from "../../api/core.js";
import type { Condition, KubeObject } from "../../api/meta.js";
import { EventRecorder, Informer, KubeClient, R, isConflict, isNotFound, defaultIdentity, runWhileLeading, type ClientConfig, type LeadershipConfig } from "../kit/index.js";
import { Scheduler, builtinProfile, loadProfiles, type ControllerKind, type Decision, type Profile, type NodeLike, type PodLike, type ServiceLike, type WorkloadLike } from "../scheduler/index.js";

export interface SchedulerDaemonOptions extends LeadershipConfig {
  kubeconfig: string | ClientConfig;
  /** A profile config file (YAML or JSON: one profile or `{ profiles: [...] }`). */
  configPath?: string;
  /** A built-in profile name when no config file is given (default "default"). */
  profile?: string;
  schedulerName?: string;
  /** API writes in flight at once (default 32). */
  parallelism?: number;
  /**
   * "Scheduled" events per second (default 50, bursts of 100); more are dropped. Each event is
   * a write as durable as the binding itself, so without a limit they halve the bindings the
   * API server can take (measured: 238 pods/s with an event per binding, see
   * bench/scheduler-e2e.ts). kube-scheduler's event broadcaster drops events under load too.
   */
  scheduledEventsPerSecond?: number;
  log?: (msg: string) => void;
}

export interface RunningScheduler {
  identity: string;
  readonly isLeader: boolean;
  /** The core, for inspection (undefined while not leading). */
  readonly core: Scheduler | undefined;
  leading(): Promise<void>;
  close(): Promise<void>;
}

const nowTime = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** A token bucket: take() is true while tokens last; they refill at `perSecond` up to `burst`. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  dropped = 0;
  constructor(private readonly perSecond: number, private readonly burst: number, private readonly now: () => number = Date.now) {
    this.tokens = burst;
    this.last = now();
  }
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens >= 1) { this.tokens--; return true; }
    this.dropped++;
    return false;
  }
}

/** One leadership term: informers, the core, the loop. */
class SchedulingTerm {
  readonly core: Scheduler;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly services: Informer<Service>;
  private readonly controllers: [ControllerKind, Informer<KubeObject>][];
  private stopped = false;
  private wake?: () => void;
  private inFlight = 0;
  private loopDone?: Promise<void>;

  constructor(private readonly client: KubeClient, private readonly recorder: EventRecorder, profiles: Profile[], schedulerName: string, private readonly parallelism: number, private readonly scheduledEvents: TokenBucket, private readonly log: (m: string) => void) {
    this.core = new Scheduler({ profile: profiles[0], profiles: profiles.slice(1), schedulerName });
    this.pods = new Informer<Pod>(client, R.pods, { log });
    this.nodes = new Informer<Node>(client, R.nodes, { log });
    this.services = new Informer<Service>(client, R.services, { log });
    this.controllers = [["ReplicaSet", new Informer(client, R.replicasets, { log })], ["StatefulSet", new Informer(client, R.statefulsets, { log })]];
  }

  async start(): Promise<void> {
    const core = this.core;
    const kick = () => this.wake?.();
    this.nodes.addEventHandler({
      add: (n) => { core.onNodeAdd(n as unknown as NodeLike); kick(); },
      update: (_, n) => { core.onNodeUpdate(n as unknown as NodeLike); kick(); },
      delete: (n) => { core.onNodeDelete(n.metadata.name!); kick(); },
    });
    this.services.addEventHandler({
      add: (s) => core.onServiceUpdate(s as unknown as ServiceLike),
      update: (_, s) => core.onServiceUpdate(s as unknown as ServiceLike),
      delete: (s) => core.onServiceDelete(s as unknown as ServiceLike),
    });
    for (const [kind, inf] of this.controllers) inf.addEventHandler({
      add: (o) => core.onControllerUpdate(kind, o as unknown as WorkloadLike),
      update: (_, o) => core.onControllerUpdate(kind, o as unknown as WorkloadLike),
      delete: (o) => core.onControllerDelete(kind, o as unknown as WorkloadLike),
    });
    // The selectors are known before the first pending pod is scheduled.
    await Promise.all([this.nodes.start(), this.services.start(), ...this.controllers.map(([, inf]) => inf.start())]);
    this.pods.addEventHandler({
      add: (p) => { core.onPodAdd(p as unknown as PodLike); kick(); },
      update: (_, p) => { core.onPodUpdate(p as unknown as PodLike); kick(); },
      delete: (p) => { core.onPodDelete(p as unknown as PodLike); kick(); },
    });
    await this.pods.start();
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.pods.stop();
    this.nodes.stop();
    this.services.stop();
    for (const [, inf] of this.controllers) inf.stop();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    let n = 0;
    while (!this.stopped) {
      const d = this.inFlight < this.parallelism ? this.core.scheduleOne() : undefined;
      if (d) {
        this.inFlight++;
        void this.carryOut(d).catch((err) => this.log(`scheduler: ${d.pod.key}: ${(err as Error).message}`)).finally(() => { this.inFlight--; this.wake?.(); });
        // Let watch events and responses in now and then.
        if (++n % 64 === 0) await new Promise((r) => setImmediate(r));
        continue;
      }
      const next = this.core.queue.nextReadyIn();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.wake = undefined; resolve(); }, Math.min(next ?? 1_000, 1_000));
        this.wake = () => { clearTimeout(t); this.wake = undefined; resolve(); };
      });
    }
  }

  private podRef(d: Decision): Pod {
    return { ...(d.pod.pod as unknown as Pod), apiVersion: "v1", kind: "Pod" };
  }

  private async carryOut(d: Decision): Promise<void> {
    const pod = d.pod.pod as unknown as Pod;
    const ns = pod.metadata.namespace ?? "default";
    const name = pod.metadata.name!;
    if (d.kind === "bind") {
      try {
        await this.client.bind(ns, name, pod.metadata.uid, d.node);
        this.core.bindDone(d.pod.uid, true);
        if (this.scheduledEvents.take()) this.recorder.event(this.podRef(d), "Normal", "Scheduled", `Successfully assigned ${ns}/${name} to ${d.node}`);
      } catch (err) {
        this.core.bindDone(d.pod.uid, false);
        if (isNotFound(err)) return; // the pod went away meanwhile
        if (isConflict(err) && /already assigned/.test((err as Error).message)) return;
        this.recorder.event(this.podRef(d), "Warning", "FailedScheduling", `Binding rejected: ${(err as Error).message}`);
        throw err;
      }
      return;
    }
    if (d.kind === "preempt") {
      await Promise.all(d.victims.map(async (v) => {
        const vp = v.pod as unknown as Pod;
        try {
          await this.client.delete(R.pods, vp.metadata.namespace, vp.metadata.name!, { preconditions: { uid: vp.metadata.uid } });
          this.recorder.event({ ...vp, apiVersion: "v1", kind: "Pod" }, "Normal", "Preempted", `Preempted by pod ${pod.metadata.uid} on node ${d.node}`);
        } catch (err) { if (!isNotFound(err) && !isConflict(err)) throw err; }
      }));
      await this.setStatus(ns, name, `preempting ${d.victims.length} pod(s) on ${d.node}`, d.node);
      this.recorder.event(this.podRef(d), "Warning", "FailedScheduling", `${d.victims.length} pod(s) preempted on node ${d.node}`);
      return;
    }
    await this.setStatus(ns, name, d.message);
    this.recorder.event(this.podRef(d), "Warning", "FailedScheduling", d.message);
  }

  /** PodScheduled=False with the reason, and nominatedNodeName when preempting. */
  private async setStatus(ns: string, name: string, message: string, nominated?: string): Promise<void> {
    const cur = this.pods.getByName(ns, name);
    const prev = cur?.status?.conditions?.find((c) => c.type === "PodScheduled");
    const sameCond = prev?.status === "False" && prev.message === message;
    if (sameCond && (!nominated || (cur?.status as { nominatedNodeName?: string } | undefined)?.nominatedNodeName === nominated)) return;
    const others = (cur?.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled");
    const cond = { type: "PodScheduled", status: "False", reason: "Unschedulable", message: message || "preempting", lastProbeTime: null, lastTransitionTime: nowTime() } as unknown as Condition;
    try {
      await this.client.patchStatus(R.pods, ns, name, { status: { conditions: [...others, cond], ...(nominated ? { nominatedNodeName: nominated } : {}) } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export async function startScheduler(o: SchedulerDaemonOptions): Promise<RunningScheduler> {
  const log = o.log ?? (() => {});
  const profiles = o.configPath ? loadProfiles(o.configPath) : [builtinProfile(o.profile ?? "default")];
  const client = new KubeClient(o.kubeconfig, "keel-scheduler");
  // The Lease identity is also the events' reporting instance, so it is chosen before the election.
  const identity = o.identity ?? defaultIdentity();
  const recorder = new EventRecorder(client, "default-scheduler", identity);
  const eventRate = o.scheduledEventsPerSecond ?? 50;
  const scheduledEvents = new TokenBucket(eventRate, 2 * eventRate);
  let term: SchedulingTerm | undefined;
  const begin = async (): Promise<boolean> => {
    const t = new SchedulingTerm(client, recorder, profiles, o.schedulerName ?? "default-scheduler", o.parallelism ?? 32, scheduledEvents, log);
    term = t;
    await t.start();
    if (term !== t) return false;
    log(`scheduler ${identity}: scheduling`);
    return true;
  };
  const end = async () => {
    const t = term;
    term = undefined;
    await t?.stop();
  };
  const leadership = await runWhileLeading(client, { ...o, identity, defaultLeaseName: "kube-scheduler", log }, begin, end);
  return {
    identity,
    get isLeader() { return leadership.isLeader; },
    get core() { return term?.core; },
    leading: () => leadership.leading(),
    async close() {
      await leadership.stop();
      await recorder.flush();
      client.close();
    },
  };
}
