// A pod's status from its record, as kubelet computes it (pkg/kubelet/status, kubelet_pods.go):
// container statuses, phase, and the conditions PodScheduled, PodReadyToStartContainers,
// Initialized, ContainersReady and Ready.
import type { Condition, ContainerStatus, Pod, PodStatus } from "../api/index.js";
import { qosClass } from "./container-spec.js";
import { restartCount, type ContainerRecord, type PodRecord } from "./pod-state.js";

export interface LiveFlags {
  ready(name: string): boolean;
  started(name: string): boolean;
}

function containerStatus(c: ContainerRecord, live: LiveFlags): ContainerStatus {
  const s: ContainerStatus = {
    name: c.name, ready: c.state === "running" && live.ready(c.name), restartCount: restartCount(c),
    image: c.image, imageID: c.imageID ?? "", started: c.state === "running" && live.started(c.name),
  };
  if (c.runtimeId) s.containerID = `keel://${c.runtimeId}`;
  if (c.state === "running") s.state = { running: { startedAt: c.startedAt } };
  else if (c.state === "terminated") {
    s.state = { terminated: { exitCode: c.exitCode ?? 0, reason: c.reason, startedAt: c.startedAt, finishedAt: c.finishedAt, ...(c.signal ? { signal: c.signal } : {}), ...(c.message ? { message: c.message } : {}), ...(c.runtimeId ? { containerID: `keel://${c.runtimeId}` } : {}) } };
  } else s.state = { waiting: { reason: c.reason ?? "ContainerCreating", ...(c.message ? { message: c.message } : {}) } };
  s.lastState = c.lastTerminated ? { terminated: c.lastTerminated } : {};
  return s;
}

function condition(type: string, ok: boolean, now: string, prev: Condition[] | undefined, reason?: string): Condition {
  const status = ok ? "True" : "False";
  const old = prev?.find((c) => c.type === type);
  return { type, status, lastProbeTime: null, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now, ...(reason && !ok ? { reason } : {}) } as Condition;
}

export function computePodStatus(pod: Pod, rec: PodRecord, live: LiveFlags, o: { hostIP?: string; previous?: PodStatus }): PodStatus {
  const spec = pod.spec!;
  const policy = spec.restartPolicy ?? "Always";
  const init = (spec.initContainers ?? []).map((c) => rec.containers[c.name]).filter(Boolean);
  const apps = spec.containers.map((c) => rec.containers[c.name]).filter(Boolean);
  const initStatuses = init.map((c) => containerStatus(c, live));
  const appStatuses = apps.map((c) => containerStatus(c, live));
  const initDone = init.every((c) => c.state === "terminated" && c.exitCode === 0) && init.length === (spec.initContainers ?? []).length;
  const initFailed = init.some((c) => c.state === "terminated" && c.exitCode !== 0);

  let phase: PodStatus["phase"] = "Pending";
  if (initFailed && policy === "Never") phase = "Failed";
  else if (initDone) {
    const running = apps.filter((c) => c.state === "running").length;
    const terminated = apps.filter((c) => c.state === "terminated");
    const restarting = apps.filter((c) => c.state === "waiting" && c.attempts > 0).length;
    if (apps.length === spec.containers.length && terminated.length === apps.length) {
      const failed = terminated.some((c) => c.exitCode !== 0);
      phase = policy === "Always" ? "Running" : failed ? (policy === "Never" ? "Failed" : "Running") : "Succeeded";
    } else if (running > 0 || restarting > 0 || terminated.length > 0) phase = "Running";
  }
  if (rec.evicted) phase = "Failed";
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const prev = o.previous?.conditions;
  const containersReady = appStatuses.length === spec.containers.length && appStatuses.every((s) => s.ready);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const conditions = [
    condition("PodReadyToStartContainers", !!rec.sandbox && !terminal, now, prev),
    condition("Initialized", initDone, now, prev, "ContainersNotInitialized"),
    condition("Ready", containersReady, now, prev, terminal ? "PodCompleted" : "ContainersNotReady"),
    condition("ContainersReady", containersReady, now, prev, terminal ? "PodCompleted" : "ContainersNotReady"),
    condition("PodScheduled", true, now, prev),
  ];
  const st: PodStatus = {
    phase, conditions, startTime: rec.startTime, qosClass: qosClass(pod),
    ...(o.hostIP ? { hostIP: o.hostIP, hostIPs: [{ ip: o.hostIP }] } : {}),
    containerStatuses: appStatuses,
    ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
  };
  if (rec.evicted) { st.reason = rec.evicted.reason; st.message = rec.evicted.message; }
  const podIP = spec.hostNetwork ? o.hostIP : rec.sandbox?.podIP;
  if (podIP) { st.podIP = podIP; st.podIPs = [{ ip: podIP }]; }
  return st;
}
