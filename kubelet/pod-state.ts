// What the kubelet records about each pod on disk (ROOT/pods/<uid>/state.json, written
// atomically after every change): the pod's supervisor, the sandbox, and for each container its
// current runtime id, state and restart count. With the runtime's state and the supervisor's exit
// files this is all a restarted kubelet needs to carry on without restarting anything.
import { readFileSync } from "node:fs";
import type { ContainerStateTerminated } from "../api/index.js";

export interface ContainerRecord {
  name: string;
  init: boolean;
  /** Containers started so far; restartCount is attempts - 1. */
  attempts: number;
  /** The current (running or last exited, not yet cleaned up) container's runtime id. */
  runtimeId?: string;
  state: "waiting" | "running" | "terminated";
  reason?: string;
  message?: string;
  exitCode?: number;
  signal?: number;
  startedAt?: string;
  finishedAt?: string;
  lastTerminated?: ContainerStateTerminated;
  image: string;
  imageID?: string;
  /** Back-off: do not start again before this time (ms since epoch). */
  notBefore?: number;
  backoffMs?: number;
}

export interface PodRecord {
  uid: string;
  sandbox?: { id: string; pid: number; podIP?: string };
  /** The pod's supervisor (keel-supervisor pod): the parent of the sandbox and every container. */
  supervisor?: { pid: number; socket: string };
  startTime: string;
  containers: Record<string, ContainerRecord>;
  /** The pod reached Succeeded or Failed: nothing more is started. */
  terminal?: boolean;
  /** Set when the kubelet evicted the pod (node pressure): the pod is Failed with this reason. */
  evicted?: { reason: string; message: string };
}

export function readPodRecord(file: string): PodRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PodRecord;
  } catch {
    return undefined;
  }
}

export const restartCount = (c: ContainerRecord): number => Math.max(0, c.attempts - 1);
