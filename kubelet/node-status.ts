// The Node object this kubelet registers and keeps current: capacity and allocatable from the
// machine (os and /proc), minus what is reserved for the system; addresses; node info; and the
// conditions Ready, MemoryPressure, DiskPressure and PIDPressure as this node sees them.
import { readFileSync, statfsSync } from "node:fs";
import os from "node:os";
import type { Condition, Node } from "../api/index.js";

export interface NodeFacts {
  cpus: number;
  memoryBytes: number;
  memoryAvailableBytes: number;
  diskBytes: number;
  diskAvailableBytes: number;
  pidMax: number;
  pidsInUse: number;
  kernel: string;
  osImage: string;
  bootID: string;
  machineID: string;
}

function read(path: string): string {
  try { return readFileSync(path, "utf8").trim(); } catch { return ""; }
}

export function nodeFacts(root: string): NodeFacts {
  const meminfo = read("/proc/meminfo");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(meminfo)?.[1] ?? 0) * 1024;
  let diskBytes = 0, diskAvailableBytes = 0;
  try {
    const s = statfsSync(root);
    diskBytes = s.blocks * s.bsize;
    diskAvailableBytes = s.bavail * s.bsize;
  } catch { /* unknown */ }
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(read("/etc/os-release"))?.[1] ?? "Linux";
  return {
    cpus: os.cpus().length, memoryBytes: kb("MemTotal") || os.totalmem(), memoryAvailableBytes: kb("MemAvailable") || os.freemem(),
    diskBytes, diskAvailableBytes, pidMax: Number(read("/proc/sys/kernel/pid_max")) || 32768,
    pidsInUse: Number(/(\d+)\/(\d+)/.exec(read("/proc/loadavg"))?.[2] ?? 0),
    kernel: os.release(), osImage: pretty, bootID: read("/proc/sys/kernel/random/boot_id"), machineID: read("/etc/machine-id"),
  };
}

export interface NodeStatusOptions {
  nodeName: string;
  hostIP: string;
  root: string;
  maxPods?: number;
  /** Reserved for the system and the kubelet (kube-reserved + system-reserved). */
  reservedCpuMilli?: number;
  reservedMemoryBytes?: number;
  /** Eviction thresholds: below these the node reports pressure. */
  memoryAvailableMin?: number;
  diskAvailableMinFraction?: number;
  version: string;
  /** The port the kubelet's HTTP endpoint listens on (the API server proxies logs/exec there). */
  kubeletPort?: number;
}

/** The node's first non-loopback IPv4 address, or 127.0.0.1. */
export function defaultHostIP(): string {
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "127.0.0.1";
}

function cond(type: string, ok: boolean, reasonTrue: string, reasonFalse: string, msgTrue: string, msgFalse: string, prev?: Condition[]): Condition {
  const status = ok ? "True" : "False";
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const old = prev?.find((c) => c.type === type);
  return {
    type, status, lastHeartbeatTime: now, lastTransitionTime: old?.status === status ? old.lastTransitionTime : now,
    reason: ok ? reasonTrue : reasonFalse, message: ok ? msgTrue : msgFalse,
  } as Condition;
}

export function buildNodeStatus(o: NodeStatusOptions, prev?: Node["status"]): NonNullable<Node["status"]> {
  const f = nodeFacts(o.root);
  const maxPods = o.maxPods ?? 110;
  const resMem = o.reservedMemoryBytes ?? 256 * 1024 * 1024;
  const resCpu = o.reservedCpuMilli ?? 100;
  const evictMem = o.memoryAvailableMin ?? 100 * 1024 * 1024;
  const memPressure = f.memoryAvailableBytes < evictMem;
  const diskPressure = f.diskBytes > 0 && f.diskAvailableBytes / f.diskBytes < (o.diskAvailableMinFraction ?? 0.1);
  const pidPressure = f.pidsInUse > f.pidMax * 0.9;
  const p = prev?.conditions;
  return {
    capacity: { cpu: String(f.cpus), memory: `${Math.floor(f.memoryBytes / 1024)}Ki`, pods: String(maxPods), "ephemeral-storage": `${Math.floor(f.diskBytes / 1024)}Ki` },
    allocatable: {
      cpu: `${Math.max(0, f.cpus * 1000 - resCpu)}m`, memory: `${Math.floor(Math.max(0, f.memoryBytes - resMem - evictMem) / 1024)}Ki`,
      pods: String(maxPods), "ephemeral-storage": `${Math.floor((f.diskBytes * 0.9) / 1024)}Ki`,
    },
    conditions: [
      cond("MemoryPressure", memPressure, "KubeletHasInsufficientMemory", "KubeletHasSufficientMemory", "kubelet has insufficient memory available", "kubelet has sufficient memory available", p),
      cond("DiskPressure", diskPressure, "KubeletHasDiskPressure", "KubeletHasNoDiskPressure", "kubelet has disk pressure", "kubelet has no disk pressure", p),
      cond("PIDPressure", pidPressure, "KubeletHasInsufficientPID", "KubeletHasSufficientPID", "kubelet has insufficient PID available", "kubelet has sufficient PID available", p),
      cond("Ready", true, "KubeletReady", "KubeletNotReady", "kubelet is posting ready status", "", p),
    ],
    addresses: [{ type: "InternalIP", address: o.hostIP }, { type: "Hostname", address: o.nodeName }],
    daemonEndpoints: { kubeletEndpoint: { Port: o.kubeletPort ?? 10250 } },
    nodeInfo: {
      machineID: f.machineID, systemUUID: f.machineID, bootID: f.bootID, kernelVersion: f.kernel, osImage: f.osImage,
      containerRuntimeVersion: `keel://${o.version}`, kubeletVersion: "v1.32.0-keel", kubeProxyVersion: "",
      operatingSystem: "linux", architecture: os.arch() === "x64" ? "amd64" : os.arch(),
    },
  };
}
