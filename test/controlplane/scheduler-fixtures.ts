// Small hand-built clusters for the scheduler tests.
import type { NodeLike, PodLike, PodSpecLike, TaintLike } from "../../controlplane/scheduler/types.js";
import { Scheduler } from "../../controlplane/scheduler/core.js";
import { builtinProfile, type Profile } from "../../controlplane/scheduler/profile.js";

export interface NodeOpts { cpu?: string; memory?: string; pods?: number; labels?: Record<string, string>; taints?: TaintLike[]; unschedulable?: boolean; images?: { names: string[]; sizeBytes: number }[]; extra?: Record<string, string> }

export function node(name: string, o: NodeOpts = {}): NodeLike {
  const alloc = { cpu: o.cpu ?? "4", memory: o.memory ?? "8Gi", pods: String(o.pods ?? 110), "ephemeral-storage": "10Gi", ...o.extra };
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { allocatable: alloc, images: o.images },
  };
}

export interface PodOpts extends Omit<PodSpecLike, "containers"> {
  cpu?: string; memory?: string; labels?: Record<string, string>; namespace?: string; owner?: string;
  hostPort?: number; image?: string; extra?: Record<string, string>; ephemeral?: string;
}

export function pod(name: string, o: PodOpts = {}): PodLike {
  const { cpu, memory, labels, namespace, owner, hostPort, image, extra, ephemeral, ...spec } = o;
  const requests: Record<string, string> = { ...extra };
  if (cpu) requests.cpu = cpu;
  if (memory) requests.memory = memory;
  if (ephemeral) requests["ephemeral-storage"] = ephemeral;
  return {
    metadata: { name, namespace: namespace ?? "default", uid: `uid-${name}`, labels, ownerReferences: owner ? [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: owner, uid: `rs-${owner}`, controller: true }] : undefined },
    spec: { ...spec, containers: [{ name: "c", image: image ?? "busybox", resources: { requests }, ports: hostPort ? [{ containerPort: hostPort, hostPort }] : undefined }] },
  };
}

/** A scheduler over the given nodes; relaxed randomization off so every node is examined. */
export function cluster(nodes: NodeLike[], profile: Profile | string = "default", overrides: Partial<Profile> = {}): Scheduler {
  const p = typeof profile === "string" ? builtinProfile(profile) : profile;
  const s = new Scheduler({ profile: { ...p, ...overrides, techniques: { ...p.techniques, relaxedRandomization: false, ...overrides.techniques } } });
  for (const n of nodes) s.onNodeAdd(n);
  return s;
}

/** Schedule one pod and confirm the binding; returns the node or the decision for failures. */
export function place(s: Scheduler, p: PodLike): string | undefined {
  s.onPodAdd(p);
  const d = s.scheduleOne();
  if (!d) throw new Error("nothing to schedule");
  if (d.kind !== "bind") return undefined;
  s.bindDone(d.pod.uid, true);
  s.onPodAdd({ ...p, spec: { ...p.spec, nodeName: d.node } });
  return d.node;
}

/** Put a pod directly on a node (an already running pod). */
export function running(s: Scheduler, p: PodLike, nodeName: string): void {
  s.onPodAdd({ ...p, spec: { ...p.spec, nodeName } });
}
