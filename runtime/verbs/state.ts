// state and list: what a container is doing now, computed from the state file and the kernel.
import { existsSync } from "node:fs";
import { OCI_VERSION, type ContainerStatus, type State } from "../../oci/runtime-spec.js";
import type { RuntimeContext } from "../context.js";
import { processAlive, type RecordSummary } from "../state.js";

export function statusOf(ctx: RuntimeContext, rec: RecordSummary): ContainerStatus {
  if (!rec.pid) return "creating";
  if (!processAlive(rec)) return "stopped";
  if (!rec.started && existsSync(ctx.state.fifo(rec.id))) return "created";
  return rec.paused ? "paused" : "running";
}

export function ociState(rec: RecordSummary, status: ContainerStatus): State {
  const s: State = { ociVersion: OCI_VERSION, id: rec.id, status, bundle: rec.bundle };
  if (status !== "stopped" && rec.pid) s.pid = rec.pid;
  if (rec.annotations && Object.keys(rec.annotations).length) s.annotations = rec.annotations;
  return s;
}

export interface ContainerState extends State {
  created: string;
  rootfs: string;
  cgroupPath: string;
}

export function state(ctx: RuntimeContext, id: string): ContainerState {
  const rec = ctx.state.summary(id);
  return { ...ociState(rec, statusOf(ctx, rec)), created: rec.created, rootfs: rec.rootfs, cgroupPath: rec.cgroupPath };
}

export function list(ctx: RuntimeContext): ContainerState[] {
  const out: ContainerState[] = [];
  for (const id of ctx.state.ids()) {
    try {
      out.push(state(ctx, id));
    } catch {
      // a directory without a state file: a create that crashed; `delete --force` removes it
    }
  }
  return out;
}
