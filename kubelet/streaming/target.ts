// Finding what a streaming request is about: the pod (by namespace and name) among the kubelet's
// workers, one of its containers as recorded in its pod state, and the typed error the endpoint
// answers with (a metav1.Status with this code and reason).
import { join } from "node:path";
import type { Container } from "../../api/index.js";
import type { KubeletCore } from "../kubelet.js";
import type { PodWorker } from "../pod-worker.js";
import type { ContainerRecord } from "../pod-state.js";

export class StreamingError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
    this.name = "StreamingError";
  }

  status(): Record<string, unknown> {
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message, reason: this.reason, code: this.code };
  }
}

export function findPod(core: KubeletCore, ns: string, name: string): PodWorker {
  const w = [...core.workers.values()].find((x) => (x.pod.metadata.namespace ?? "default") === ns && x.pod.metadata.name === name);
  if (!w) throw new StreamingError(404, "NotFound", `pod "${name}" in namespace "${ns}" is not on this node`);
  return w;
}

export interface ContainerTarget {
  worker: PodWorker;
  record: ContainerRecord;
  spec: Container;
}

export function findContainer(core: KubeletCore, ns: string, pod: string, container: string): ContainerTarget {
  const worker = findPod(core, ns, pod);
  const record = worker.record.containers[container];
  const spec = [...(worker.pod.spec?.initContainers ?? []), ...(worker.pod.spec?.containers ?? [])].find((c) => c.name === container);
  if (!record || !spec) {
    const names = (worker.pod.spec?.containers ?? []).map((c) => c.name).join(" ");
    throw new StreamingError(400, "BadRequest", `container ${container} is not valid for pod ${pod} (choose one of: [${names}])`);
  }
  return { worker, record, spec };
}

/** A running container: its runtime id and bundle (exec reads the process settings there). */
export function runningContainer(core: KubeletCore, ns: string, pod: string, container: string): ContainerTarget & { runtimeId: string; bundle: string } {
  const t = findContainer(core, ns, pod, container);
  if (t.record.state !== "running" || !t.record.runtimeId) {
    throw new StreamingError(400, "BadRequest", `container ${container} is not running in pod ${pod} (state ${t.record.state}${t.record.reason ? `: ${t.record.reason}` : ""})`);
  }
  return { ...t, runtimeId: t.record.runtimeId, bundle: core.paths.containerDir(t.worker.uid, t.record.runtimeId) };
}

/** The pod's network namespace (/proc/<sandbox>/ns/net), or undefined for a host-network pod. */
export function podNetns(w: PodWorker): string | undefined {
  if (w.pod.spec?.hostNetwork) return undefined;
  const pid = w.record.sandbox?.pid;
  if (!pid) throw new StreamingError(400, "BadRequest", `pod ${w.podName} has no running sandbox`);
  return join("/proc", String(pid), "ns", "net");
}
