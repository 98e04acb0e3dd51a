// One pod worker per pod: a level-triggered loop that moves the pod's containers toward its spec
// (sandbox → images → init containers in order → app containers), restarts exited containers
// by restartPolicy with exponential back-off, runs probes and hooks, and publishes the pod's
// status whenever it changes. The sandbox and every container are children of the pod's own
// supervisor (keel-supervisor pod, runtime/pod-supervisor.ts): the worker builds each spawn plan
// and hands it over, then only observes, through the runtime's state and the exit files the
// supervisor writes, so containers carry on when the kubelet stops.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Container, Pod, PodStatus } from "../api/index.js";
import { CoalescingFileWriter } from "../lib/atomic-file.js";
import type { ImageService, ResolvedImage } from "../images/index.js";
import type { Runtime } from "../runtime/runtime.js";
import type { Spec } from "../oci/runtime-spec.js";
import { PodSupervisor, type ContainerOutput } from "../runtime/pod-supervisor.js";
import { readExitRecord, supervisedFiles } from "../runtime/supervised.js";
import { appContainerSpec, resolveEnvRefs, sandboxSpec, sharedPause } from "./container-spec.js";
import type { ConfigSource } from "./config-source.js";
import { ContainerStartError } from "./errors.js";
import { podDnsMounts, type PodDnsOptions } from "./dns.js";
import type { PodNetworkPlugin } from "./network.js";
import { containerRuntimeId, sandboxId, type KubeletPaths } from "./paths.js";
import type { PodCgroups } from "./pod-cgroups.js";
import { readPodRecord, restartCount, type ContainerRecord, type PodRecord } from "./pod-state.js";
import { ProbeRunner, runAction, type ProbeTarget } from "./probes.js";
import { computePodStatus } from "./status.js";
import { setUpVolumes, tearDownVolumes, volumeMounts } from "./volumes.js";
import { podServiceAccountMounts, type ServiceAccountTokens } from "./service-account-token.js";
import type { KubeletMetrics, PodStartStep, RuntimeOperation } from "./metrics.js";

export type EventType = "Normal" | "Warning";

export interface WorkerDeps {
  runtime: Runtime;
  images: ImageService;
  paths: KubeletPaths;
  network: PodNetworkPlugin;
  nodeName: string;
  hostIP?: string;
  /** First restart delay after a crash (kubelet: 10 s), doubled each time up to backoffMaxMs (300 s). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How often the worker looks at its containers. */
  syncIntervalMs: number;
  pidsLimit?: number;
  /** Pod-level cgroups; without them each container's cgroup stands alone. */
  podCgroups?: PodCgroups;
  /** ConfigMaps and Secrets for volumes and env. */
  configs?: ConfigSource;
  /**
   * Bounds the node's concurrent rootfs preparations. Their image-store lease writes share one
   * acquisition of the store's lock (images/store-lock.ts); the bound keeps a burst of pods from
   * filling libuv's thread pool with their file work all at once.
   */
  rootfsQueue: <T>(f: () => Promise<T>) => Promise<T>;
  /** Pods' resolv.conf (dns.ts). */
  dns?: PodDnsOptions;
  /** Pods' ServiceAccount tokens (service-account-token.ts); none without an API server. */
  serviceAccountTokens?: ServiceAccountTokens;
  onStatus(pod: Pod, status: PodStatus): void;
  /** Once per pod: seconds from the worker's start to all its containers running. */
  onPodStarted?(pod: Pod, seconds: number): void;
  onEvent(pod: Pod, type: EventType, reason: string, message: string, container?: string): void;
  /** Where the steps of pod starts are timed (the kubelet's /metrics). */
  metrics?: KubeletMetrics;
}

/** rm -rf, retried: a supervisor may still be writing its exit file into the directory. */
function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
}

const now = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A container that ran this long without trouble gets its back-off reset (kubelet: 10 min). */
const BACKOFF_RESET_MS = 10 * 60 * 1000;

interface Live {
  ready: boolean;
  started: boolean;
  probes: ProbeRunner[];
  /** A liveness or startup probe asked for a restart. */
  unhealthy?: string;
  stopping?: boolean;
}

export class PodWorker {
  readonly uid: string;
  private rec: PodRecord;
  private live = new Map<string, Live>();
  private lastStatus?: string;
  private status?: PodStatus;
  private loop?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  private volumes?: Map<string, string>;
  private terminating?: Promise<void>;
  private readonly createdAt = Date.now();
  private startReported = false;
  private queueTimed = false;
  /** Containers whose process is gone but whose exit file is not there yet: since when. */
  private vanished = new Map<string, number>();
  /**
   * The pod's files (pod.json: the Pod; state.json: what runs; status.json: its last status),
   * written off the event loop, the latest version winning (lib/atomic-file.ts). Not durable (no
   * fsync; the rename keeps them whole): what they describe goes with a machine crash.
   */
  private readonly files: { pod: CoalescingFileWriter; state: CoalescingFileWriter; status: CoalescingFileWriter };
  /** The node's shared keel-pause (container-spec.ts). */
  private pause?: string;
  /** Our connection to the pod's supervisor (made again after a kubelet restart). */
  private sup?: PodSupervisor;

  constructor(public pod: Pod, private readonly d: WorkerDeps) {
    this.uid = pod.metadata.uid!;
    const file = (path: string) => new CoalescingFileWriter(path, { durable: false });
    this.files = { pod: file(d.paths.podRecord(this.uid)), state: file(d.paths.podState(this.uid)), status: file(d.paths.podStatus(this.uid)) };
    mkdirSync(d.paths.podDir(this.uid), { recursive: true });
    this.files.pod.save(JSON.stringify(pod));
    this.rec = readPodRecord(d.paths.podState(this.uid)) ?? { uid: this.uid, startTime: now().replace(/\.\d{3}Z$/, "Z"), containers: {} };
    for (const [c, init] of this.allContainers()) {
      this.rec.containers[c.name] ??= { name: c.name, init, attempts: 0, state: "waiting", reason: init ? "PodInitializing" : "ContainerCreating", image: c.image ?? "" };
    }
    this.save();
  }

  /** A newer version of the pod (same UID): kept, and recorded when its spec changed. */
  update(pod: Pod): void {
    const changed = JSON.stringify(pod.spec) !== JSON.stringify(this.pod.spec);
    this.pod = pod;
    if (changed) {
      this.files.pod.save(JSON.stringify(pod));
      this.poke();
    }
  }

  get podName(): string { return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`; }
  get currentStatus(): PodStatus | undefined { return this.status; }
  get record(): PodRecord { return this.rec; }

  private allContainers(): [Container, boolean][] {
    return [...(this.pod.spec?.initContainers ?? []).map((c) => [c, true] as [Container, boolean]), ...this.pod.spec!.containers.map((c) => [c, false] as [Container, boolean])];
  }

  /** Runs one step of the pod's start, timing it into the kubelet's metrics. */
  private async timed<T>(step: PodStartStep, f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const v = await f();
    this.d.metrics?.observeStep(step, (performance.now() - t0) / 1000);
    return v;
  }

  /** A runtime operation, timed as kubelet's kubelet_runtime_operations_duration_seconds. */
  private runtimeOp<T>(op: RuntimeOperation, f: () => Promise<T>): Promise<T> {
    return this.d.metrics ? this.d.metrics.timeRuntime(op, f) : f();
  }

  /** Records the pod's state (written off the event loop). */
  private save(): void {
    this.files.state.save(JSON.stringify(this.rec, null, 1));
  }

  /** The same, waiting until it (and the Pod) is on disk: before a step a restarted kubelet must know about. */
  private async saveNow(): Promise<void> {
    this.save();
    await this.files.pod.flush();
    await this.files.state.flush();
  }

  /** Every file's last version on disk (errors left to the caller). */
  private async flushFiles(): Promise<void> {
    for (const f of Object.values(this.files)) await f.flush();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Look again now (a probe result, a new spec). */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.syncOnce();
      } catch (e) {
        this.d.onEvent(this.pod, "Warning", "FailedSync", `error syncing pod: ${(e as Error).message}`);
      }
      this.publish();
      if (this.stopped) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.d.syncIntervalMs);
        this.wake = () => { clearTimeout(t); r(); };
      });
      this.wake = undefined;
    }
  }

  private publish(): void {
    const st = computePodStatus(this.pod, this.rec, {
      ready: (n) => this.live.get(n)?.ready ?? false,
      started: (n) => this.live.get(n)?.started ?? false,
    }, { hostIP: this.d.hostIP, previous: this.status });
    const key = JSON.stringify({ ...st, conditions: st.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) });
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.status = st;
    this.files.status.save(JSON.stringify(st));
    this.d.onStatus(this.pod, st);
    if (!this.startReported && st.containerStatuses?.length && st.containerStatuses.every((c) => c.state?.running)) {
      this.startReported = true;
      // A re-adopted pod was started by an earlier kubelet: not a start to time.
      if (this.rec.containers && Object.values(this.rec.containers).every((c) => !c.startedAt || Date.parse(c.startedAt) >= this.createdAt - 1000)) {
        this.d.onPodStarted?.(this.pod, (Date.now() - this.createdAt) / 1000);
      }
    }
    if (!this.rec.terminal && (st.phase === "Succeeded" || st.phase === "Failed")) {
      // A finished pod keeps its record and logs but gives back its sandbox.
      this.rec.terminal = true;
      this.save();
      void this.stopSandbox().catch(() => {});
    }
  }

  // ---- the sync loop ----

  private async syncOnce(): Promise<void> {
    if (!this.queueTimed) {
      this.queueTimed = true;
      this.d.metrics?.observeStep("queue", (Date.now() - this.createdAt) / 1000);
    }
    if (this.rec.terminal || this.stopped) return;
    const deadline = this.pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined && Date.now() - Date.parse(this.rec.startTime) > deadline * 1000) {
      await this.evict(`Pod was active on the node longer than the specified deadline`, "DeadlineExceeded");
      return;
    }
    if (!(await this.ensureSandbox())) return;
    if (!this.volumes) {
      try {
        this.volumes = await this.timed("volumes", () => setUpVolumes(this.pod, this.d.paths, this.d.configs));
      } catch (e) {
        for (const [c] of this.allContainers()) {
          const r = this.rec.containers[c.name];
          if (r.state === "waiting") { r.reason = "CreateContainerConfigError"; r.message = (e as Error).message; }
        }
        this.d.onEvent(this.pod, "Warning", "FailedMount", (e as Error).message);
        return;
      }
    }
    for (const c of this.pod.spec?.initContainers ?? []) {
      const r = this.rec.containers[c.name];
      if (r.state === "terminated" && r.exitCode === 0) continue;
      await this.syncContainer(c, r);
      if (!(r.state === "terminated" && r.exitCode === 0)) return;
    }
    for (const c of this.pod.spec!.containers) {
      if (this.stopped) return;
      await this.syncContainer(c, this.rec.containers[c.name]);
    }
  }

  private sandboxRunning(): boolean {
    if (!this.rec.sandbox) return false;
    try {
      return this.d.runtime.state(this.rec.sandbox.id).status === "running";
    } catch {
      return false;
    }
  }

  /** The pod's supervisor, connected to again if a previous kubelet started it; undefined if it is gone. */
  private async supervisor(): Promise<PodSupervisor | undefined> {
    if (this.sup?.connected) return this.sup;
    this.sup = undefined;
    if (!this.rec.supervisor) return undefined;
    try {
      this.sup = await PodSupervisor.connect(this.rec.supervisor.socket);
    } catch { /* gone: the pod's sandbox is made again */ }
    return this.sup;
  }

  /**
   * Creates and starts one container as the supervisor's child: the runtime's create verb
   * (state, exec FIFO, cgroup, hooks) with the supervisor doing the clone, then start and the
   * supervisor's word that execve happened.
   */
  private async runContainer(sup: PodSupervisor, id: string, bundle: string, spec: Spec, out: ContainerOutput): Promise<number> {
    const { pid } = await this.runtimeOp("create_container", () => this.d.runtime.create(id, bundle, { spec, spawn: (plan) => sup.spawn(id, plan, out) }));
    try {
      const exec = sup.waitExec(id);
      await this.runtimeOp("start_container", async () => {
        await this.d.runtime.start(id);
        await exec;
      });
    } catch (e) {
      await this.d.runtime.delete(id, { force: true }).catch(() => {});
      throw e;
    }
    writeFileSync(supervisedFiles(bundle).pidFile, String(pid));
    return pid;
  }

  private async ensureSandbox(): Promise<boolean> {
    if (this.sandboxRunning() && (await this.supervisor())) return true;
    if (this.rec.sandbox) {
      // The sandbox (or the supervisor holding it) died under its containers: kubelet kills
      // them and starts over with a new one; each is started again as its restart policy says.
      this.d.onEvent(this.pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
      const wasRunning = Object.values(this.rec.containers).filter((r) => r.state === "running");
      await this.stopAllContainers(0);
      await this.stopSandbox();
      for (const r of wasRunning) {
        const policy = this.policyFor(r);
        if (policy === "Never" || (policy === "OnFailure" && r.exitCode === 0)) continue;
        r.lastTerminated = { exitCode: r.exitCode ?? 137, reason: r.reason ?? "Error", startedAt: r.startedAt, finishedAt: r.finishedAt, containerID: `keel://${r.runtimeId}` };
        Object.assign(r, { state: "waiting", reason: "ContainerCreating", exitCode: undefined, signal: undefined, message: undefined, notBefore: undefined });
      }
      this.save();
    }
    const id = sandboxId(this.uid);
    const bundle = this.d.paths.sandboxDir(this.uid);
    await this.d.runtime.delete(id, { force: true }).catch(() => {});
    removeDir(bundle);
    mkdirSync(bundle, { recursive: true });
    const spec = sandboxSpec(this.pod, bundle, (this.pause ??= sharedPause(this.d.paths.root)));
    if (this.d.podCgroups) spec.linux!.cgroupsPath = `${await this.timed("cgroup", () => this.d.podCgroups!.ensure(this.pod))}/${id}`;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    await this.stopSupervisor();
    const sup = await this.timed("supervisor", () => PodSupervisor.launch(this.d.paths.supervisorSocket(this.uid)));
    this.sup = sup;
    // Recorded before it has children, so a kubelet that dies now still finds it.
    this.rec.supervisor = { pid: sup.pid!, socket: sup.socketPath };
    await this.saveNow();
    let pid: number;
    try {
      pid = await this.timed("sandbox", () => this.runContainer(sup, id, bundle, spec, supervisedFiles(bundle)));
    } catch (e) {
      await this.stopSupervisor();
      throw e;
    }
    this.rec.sandbox = { id, pid };
    this.save();
    if (!this.pod.spec?.hostNetwork) {
      let net;
      const t0 = performance.now();
      try {
        net = await this.d.network.setUp({ podUid: this.uid, namespace: this.pod.metadata.namespace ?? "default", name: this.pod.metadata.name!, containerId: id, netns: `/proc/${pid}/ns/net`, pod: this.pod });
      } catch (e) {
        // No half-made sandbox: the next round starts over.
        this.d.onEvent(this.pod, "Warning", "FailedCreatePodSandBox", `Failed to set up the pod's network (${this.d.network.name}): ${(e as Error).message}`);
        await this.stopSandbox();
        throw e;
      }
      const s = (performance.now() - t0) / 1000;
      this.d.metrics?.observeStep("network", s);
      this.d.metrics?.observeNetwork("set_up_pod", s);
      this.rec.sandbox.podIP = net.ip;
      this.save();
    }
    return true;
  }

  private policyFor(r: ContainerRecord): "Always" | "OnFailure" | "Never" {
    const p = this.pod.spec?.restartPolicy ?? "Always";
    // Init containers are retried unless the pod never restarts anything.
    if (r.init) return p === "Never" ? "Never" : "OnFailure";
    return p;
  }

  private async syncContainer(c: Container, r: ContainerRecord): Promise<void> {
    if (r.state === "running") {
      const exit = this.exitOf(r);
      if (exit) {
        await this.onExit(c, r, exit);
      } else {
        const l = this.live.get(c.name);
        if (c.image && r.image && c.image !== r.image && !l?.stopping) {
          // The spec's image changed (the one mutable field): kubelet restarts the container with it.
          this.d.onEvent(this.pod, "Normal", "Killing", `Container ${c.name} definition changed, will be restarted`, c.name);
          await this.stopContainer(c, r, this.pod.spec?.terminationGracePeriodSeconds ?? 30);
          const ex = this.exitOf(r);
          if (ex) {
            await this.onExit(c, r, ex);
            r.image = c.image;
            if (r.state !== "running") { r.state = "waiting"; r.notBefore = undefined; r.reason = "ContainerCreating"; }
            this.save();
          }
        } else if (l?.unhealthy && !l.stopping) {
          this.d.onEvent(this.pod, "Normal", "Killing", l.unhealthy, c.name);
          await this.stopContainer(c, r, this.pod.spec?.terminationGracePeriodSeconds ?? 30);
          const ex = this.exitOf(r);
          if (ex) await this.onExit(c, r, ex);
        } else if (!l) {
          // Re-adopted: probes and readiness start again from this process.
          this.startProbes(c, r);
        }
        return;
      }
    }
    if (r.state === "terminated") return;
    // waiting: never started, or between restarts
    if (r.notBefore && Date.now() < r.notBefore) return;
    await this.startContainer(c, r);
  }

  private exitOf(r: ContainerRecord): { exitCode: number; signal?: number; finishedAt: string; reason?: string } | undefined {
    const dir = this.d.paths.containerDir(this.uid, r.runtimeId!);
    const ex = readExitRecord(supervisedFiles(dir).exitFile);
    if (ex) {
      const code = ex.exitCode ?? 128 + (ex.signal ?? 0);
      return { exitCode: code, signal: ex.signal ?? undefined, finishedAt: ex.finishedAt };
    }
    // No exit file and no process: the supervisor itself is gone (killed with the machine's
    // processes). Its container is gone too; its status is unknown.
    let status: string;
    try {
      status = this.d.runtime.state(r.runtimeId!).status;
    } catch {
      status = "stopped";
    }
    if (status !== "stopped") {
      this.vanished.delete(r.name);
      return undefined;
    }
    // The supervisor writes the exit file a moment after the process is gone: give it time before
    // concluding that the supervisor itself died and the exit status is lost.
    const since = this.vanished.get(r.name) ?? Date.now();
    this.vanished.set(r.name, since);
    if (Date.now() - since < 3000) return undefined;
    this.vanished.delete(r.name);
    return { exitCode: 137, finishedAt: now(), reason: "Unknown" };
  }

  private async onExit(c: Container, r: ContainerRecord, exit: { exitCode: number; signal?: number; finishedAt: string; reason?: string }): Promise<void> {
    this.stopProbes(c.name);
    const live = this.live.get(c.name);
    this.live.delete(c.name);
    await this.removeContainer(r.runtimeId!);
    const term = {
      exitCode: exit.exitCode, reason: exit.reason ?? (exit.exitCode === 0 ? "Completed" : "Error"), startedAt: r.startedAt,
      finishedAt: exit.finishedAt, containerID: `keel://${r.runtimeId}`, ...(exit.signal ? { signal: exit.signal } : {}),
    };
    const policy = this.policyFor(r);
    // A container the pod's own termination stopped is not restarted; one killed for failing its
    // liveness probe is, by the restart policy.
    void live;
    const restart = !this.stopped && (policy === "Always" || (policy === "OnFailure" && exit.exitCode !== 0));
    if (!restart) {
      Object.assign(r, { state: "terminated", reason: term.reason, exitCode: term.exitCode, signal: term.signal, finishedAt: term.finishedAt, message: undefined });
      this.save();
      return;
    }
    // Back-off: none for the first restart, then base, 2*base, ... up to the cap; reset after a long good run.
    const ranMs = r.startedAt ? Date.parse(exit.finishedAt) - Date.parse(r.startedAt) : 0;
    const delay = ranMs > BACKOFF_RESET_MS ? 0 : r.backoffMs === undefined ? 0 : r.backoffMs;
    r.backoffMs = Math.min(this.d.backoffMaxMs, delay === 0 ? this.d.backoffBaseMs : delay * 2);
    r.lastTerminated = term;
    r.state = "waiting";
    r.exitCode = undefined;
    r.notBefore = Date.now() + delay;
    r.reason = delay > 0 ? "CrashLoopBackOff" : "ContainerCreating";
    r.message = delay > 0 ? `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${this.pod.metadata.name}_${this.pod.metadata.namespace}(${this.uid})` : undefined;
    if (delay > 0) this.d.onEvent(this.pod, "Warning", "BackOff", "Back-off restarting failed container", c.name);
    this.save();
  }

  private async resolveImage(c: Container, r: ContainerRecord): Promise<ResolvedImage> {
    const ref = c.image!;
    let img: ResolvedImage | undefined;
    try {
      img = await this.d.images.resolve(ref);
    } catch {
      /* not present */
    }
    const present = img !== undefined;
    if (!present && c.imagePullPolicy === "Never") {
      throw new ContainerStartError(this.podName, c.name, "ErrImageNeverPull", `container image "${ref}" is not present with pull policy of Never`);
    }
    if (!present) this.d.onEvent(this.pod, "Normal", "Pulling", `Pulling image "${ref}"`, c.name);
    const t0 = Date.now();
    try {
      img ??= await this.d.images.ensure(ref);
    } catch (e) {
      this.d.onEvent(this.pod, "Warning", "Failed", `Failed to pull image "${ref}": ${(e as Error).message}`, c.name);
      throw new ContainerStartError(this.podName, c.name, "ErrImagePull", (e as Error).message, { cause: e });
    }
    this.d.onEvent(this.pod, "Normal", "Pulled", present ? `Container image "${ref}" already present on machine` : `Successfully pulled image "${ref}" in ${Date.now() - t0}ms`, c.name);
    r.imageID = img.digest;
    return img;
  }

  private async startContainer(c: Container, r: ContainerRecord): Promise<void> {
    const sandbox = this.rec.sandbox!;
    let img: ResolvedImage;
    try {
      img = await this.timed("image", () => this.resolveImage(c, r));
    } catch (e) {
      this.failStart(c, r, e as ContainerStartError);
      return;
    }
    const containerT0 = performance.now();
    const attempt = r.attempts + 1;
    const id = containerRuntimeId(this.uid, c.name, attempt);
    const dir = this.d.paths.containerDir(this.uid, id);
    // Recorded first, so a kubelet that dies in the middle finds and removes what it made.
    r.attempts = attempt;
    r.runtimeId = id;
    r.state = "waiting";
    r.reason = "ContainerCreating";
    await this.saveNow();
    await this.removeContainer(id);
    mkdirSync(dir, { recursive: true });
    let spec: Spec;
    const logFile = this.d.paths.containerLog(this.pod, c.name, restartCount(r));
    try {
      const envRefs = await resolveEnvRefs(this.pod, c, this.d.configs, (msg) => { throw new Error(msg); });
      const prepared = await this.d.rootfsQueue(() => this.d.images.snapshots.prepare(img.name, id));
      spec = appContainerSpec({
        envRefs,
        pod: this.pod, container: c, image: img, rootfs: prepared.rootfs, sandboxPid: sandbox.pid,
        mounts: [...volumeMounts(this.pod, c, this.volumes!), ...podDnsMounts(this.pod, this.d.paths, this.d.dns), ...await podServiceAccountMounts(this.pod, c, this.d.paths, this.d.serviceAccountTokens)], pidsLimit: this.d.pidsLimit,
        downward: { nodeName: this.d.nodeName, podIP: sandbox.podIP ?? (this.pod.spec?.hostNetwork ? this.d.hostIP : undefined), hostIP: this.d.hostIP },
      });
      if (this.d.podCgroups) spec.linux!.cgroupsPath = `${this.d.podCgroups.podPath(this.pod)}/${id}`;
      writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
    } catch (e) {
      await this.removeContainer(id);
      this.failStart(c, r, new ContainerStartError(this.podName, c.name, "CreateContainerConfigError", (e as Error).message, { cause: e }));
      return;
    }
    this.d.onEvent(this.pod, "Normal", "Created", `Created container ${c.name}`, c.name);
    mkdirSync(dirname(logFile), { recursive: true });
    try {
      const sup = await this.supervisor();
      if (!sup) throw new Error("the pod's supervisor is gone");
      await this.runContainer(sup, id, dir, spec, { exitFile: supervisedFiles(dir).exitFile, logFile });
    } catch (e) {
      await this.removeContainer(id);
      this.failStart(c, r, new ContainerStartError(this.podName, c.name, "RunContainerError", (e as Error).message, { cause: e }));
      return;
    }
    r.image = c.image ?? r.image;
    Object.assign(r, { state: "running", reason: undefined, message: undefined, startedAt: now().replace(/\.\d{3}Z$/, "Z"), notBefore: undefined });
    this.save();
    this.d.metrics?.observeStep("container", (performance.now() - containerT0) / 1000);
    this.d.onEvent(this.pod, "Normal", "Started", `Started container ${c.name}`, c.name);
    const post = c.lifecycle?.postStart;
    if (post) {
      const res = await runAction(this.target(c, r), post, 30_000);
      if (!res.ok) {
        this.d.onEvent(this.pod, "Warning", "FailedPostStartHook", `PostStartHook failed: ${res.message}`, c.name);
        this.live.set(c.name, { ready: false, started: false, probes: [], unhealthy: `FailedPostStartHook` });
        return;
      }
    }
    this.startProbes(c, r);
  }

  private failStart(c: Container, r: ContainerRecord, e: ContainerStartError): void {
    r.state = "waiting";
    r.reason = e.reason;
    r.message = e.message;
    r.backoffMs = Math.min(this.d.backoffMaxMs, (r.backoffMs ?? this.d.backoffBaseMs / 2) * 2);
    r.notBefore = Date.now() + r.backoffMs;
    this.save();
    this.d.onEvent(this.pod, "Warning", "Failed", `Error: ${e.message}`, c.name);
  }

  private target(c: Container, r: ContainerRecord): ProbeTarget {
    const sb = this.rec.sandbox!;
    return {
      runtime: this.d.runtime, runtimeId: r.runtimeId!, bundle: this.d.paths.containerDir(this.uid, r.runtimeId!), container: c,
      netns: this.pod.spec?.hostNetwork ? undefined : `/proc/${sb.pid}/ns/net`, podIP: sb.podIP ?? this.d.hostIP,
    };
  }

  private startProbes(c: Container, r: ContainerRecord): void {
    const l: Live = { ready: !c.readinessProbe, started: !c.startupProbe, probes: [] };
    this.live.set(c.name, l);
    const t = this.target(c, r);
    const event = (_kind: string) => (msg: string) => this.d.onEvent(this.pod, "Warning", "Unhealthy", msg, c.name);
    const afterStart = () => {
      if (c.livenessProbe) {
        const p = new ProbeRunner("Liveness", c.livenessProbe, t, (ok) => {
          if (!ok) { l.unhealthy = `Container ${c.name} failed liveness probe, will be restarted`; this.poke(); }
        }, event("Liveness"));
        l.probes.push(p);
        p.start();
      }
      if (c.readinessProbe) {
        const p = new ProbeRunner("Readiness", c.readinessProbe, t, (ok) => { l.ready = ok; this.publish(); }, event("Readiness"));
        l.probes.push(p);
        p.start();
      }
    };
    if (c.startupProbe) {
      const p = new ProbeRunner("Startup", c.startupProbe, t, (ok) => {
        if (ok) { l.started = true; p.stop(); afterStart(); this.publish(); }
        else { l.unhealthy = `Container ${c.name} failed startup probe, will be restarted`; this.poke(); }
      }, event("Startup"));
      l.probes.push(p);
      p.start();
    } else afterStart();
  }

  private stopProbes(name: string): void {
    for (const p of this.live.get(name)?.probes ?? []) p.stop();
  }

  /** preStop, SIGTERM, the grace period, SIGKILL; returns once the container's process is gone. */
  private async stopContainer(c: Container | undefined, r: ContainerRecord, graceSec: number): Promise<void> {
    const l = this.live.get(r.name) ?? { ready: false, started: false, probes: [] };
    this.live.set(r.name, l);
    l.stopping = true;
    this.stopProbes(r.name);
    const id = r.runtimeId!;
    const deadline = Date.now() + graceSec * 1000;
    const pre = c?.lifecycle?.preStop;
    if (pre && graceSec > 0) {
      const res = await runAction(this.target(c!, r), pre, Math.max(1000, deadline - Date.now()));
      if (!res.ok) this.d.onEvent(this.pod, "Warning", "FailedPreStopHook", `PreStopHook failed: ${res.message}`, r.name);
    }
    const gone = () => this.exitOf(r) !== undefined;
    if (!gone()) await this.d.runtime.kill(id, "SIGTERM").catch(() => {});
    while (!gone() && Date.now() < deadline) await sleep(50);
    if (!gone()) await this.d.runtime.kill(id, "SIGKILL", { all: true }).catch(() => {});
    const hard = Date.now() + 10_000;
    while (!gone() && Date.now() < hard) await sleep(50);
  }

  private async removeContainer(id: string): Promise<void> {
    await this.d.runtime.delete(id, { force: true }).catch(() => {});
    await this.d.images.snapshots.release(id).catch(() => {});
    removeDir(this.d.paths.containerDir(this.uid, id));
  }

  private async stopAllContainers(graceSec: number): Promise<void> {
    const byName = new Map(this.allContainers().map(([c]) => [c.name, c]));
    const running = Object.values(this.rec.containers).filter((r) => r.runtimeId && (r.state === "running" || existsSync(this.d.paths.containerDir(this.uid, r.runtimeId))));
    await Promise.all(running.map(async (r) => {
      if (r.state === "running") {
        this.d.onEvent(this.pod, "Normal", "Killing", `Stopping container ${r.name}`, r.name);
        await this.stopContainer(byName.get(r.name), r, graceSec);
        const ex = this.exitOf(r);
        Object.assign(r, { state: "terminated", exitCode: ex?.exitCode ?? 137, reason: ex?.exitCode === 0 ? "Completed" : "Error", finishedAt: ex?.finishedAt ?? now() });
      }
      this.stopProbes(r.name);
      await this.removeContainer(r.runtimeId!);
    }));
    this.save();
  }

  private async stopSandbox(): Promise<void> {
    const sb = this.rec.sandbox;
    if (!sb) return;
    if (!this.pod.spec?.hostNetwork) {
      await this.d.network.tearDown({ podUid: this.uid, namespace: this.pod.metadata.namespace ?? "default", name: this.pod.metadata.name!, containerId: sb.id, netns: `/proc/${sb.pid}/ns/net` }).catch(() => {});
    }
    await this.d.runtime.kill(sb.id, "SIGKILL", { all: true }).catch(() => {});
    // Its supervisor records the exit; wait for that so nothing writes into a removed directory.
    const exitFile = supervisedFiles(this.d.paths.sandboxDir(this.uid)).exitFile;
    for (let i = 0; i < 40 && !existsSync(exitFile); i++) await sleep(50);
    await this.d.runtime.delete(sb.id, { force: true }).catch(() => {});
    removeDir(this.d.paths.sandboxDir(this.uid));
    this.rec.sandbox = undefined;
    this.save();
    await this.stopSupervisor();
  }

  /**
   * The supervisor leaves by itself once none of its containers runs; this asks it to (it may
   * never have had one) and waits until it has gone, killing it if it lingers.
   */
  private async stopSupervisor(): Promise<void> {
    const rec = this.rec.supervisor;
    if (!rec) return;
    const sup = await this.supervisor();
    await sup?.shutdown().catch(() => {});
    sup?.close();
    this.sup = undefined;
    // Its command line names its socket: a pid reused by another process does not.
    const alive = () => { try { return readFileSync(`/proc/${rec.pid}/cmdline`, "utf8").includes(rec.socket); } catch { return false; } };
    for (let i = 0; i < 200 && alive(); i++) await sleep(10);
    if (alive()) {
      try { process.kill(rec.pid, "SIGKILL"); } catch { /* gone */ }
      rmSync(rec.socket, { force: true });
    }
    this.rec.supervisor = undefined;
    this.save();
  }

  /**
   * Stops the pod: every container gracefully (preStop, SIGTERM, grace, SIGKILL), then the
   * sandbox, volumes, its state and (unless keepLogs) its logs. Idempotent.
   */
  terminate(graceSec?: number, o: { keepLogs?: boolean } = {}): Promise<void> {
    this.terminating ??= (async () => {
      this.stopped = true;
      this.poke();
      await this.loop;
      await this.stopAllContainers(graceSec ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30);
      await this.stopSandbox();
      await this.d.podCgroups?.remove(this.pod).catch((e) => this.d.onEvent(this.pod, "Warning", "FailedKillPod", `removing the pod's cgroup: ${(e as Error).message}`));
      tearDownVolumes(this.uid, this.d.paths);
      // no record write may land in the directory after it is gone
      await this.flushFiles().catch(() => {});
      removeDir(this.d.paths.podDir(this.uid));
      if (!o.keepLogs) removeDir(this.d.paths.podLogDir(this.pod));
    })();
    return this.terminating;
  }

  /**
   * Evicts the pod for node pressure: every container is killed at once (a hard threshold),
   * the sandbox goes, and the pod is Failed with reason Evicted. Its record stays until the pod
   * is removed from its source.
   */
  async evict(message: string, reason = "Evicted"): Promise<void> {
    if (this.rec.terminal || this.terminating) return;
    this.rec.evicted = { reason, message };
    this.rec.terminal = true;
    this.save();
    this.d.onEvent(this.pod, "Warning", reason, message);
    await this.stopAllContainers(0);
    await this.stopSandbox();
    this.publish();
  }

  /** Stops the loop and probes but leaves every container running (kubelet shutdown). */
  async detach(): Promise<void> {
    this.stopped = true;
    this.poke();
    await this.loop;
    for (const name of this.live.keys()) this.stopProbes(name);
    this.sup?.close();
    // the next kubelet reads what this one last recorded
    await this.flushFiles().catch((e) => this.d.onEvent(this.pod, "Warning", "FailedSync", `recording the pod's state: ${(e as Error).message}`));
  }
}
