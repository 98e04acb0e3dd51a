// Where the kubelet keeps things. Everything of a pod lives under ROOT/pods/<uid>/ (its manifest,
// its recorded state, bundles, volumes) so that a restarted kubelet finds it all again; the
// runtime's own state is ROOT/runtime; container logs go under LOGDIR/<ns>_<name>_<uid>/ as
// kubelet lays them out (/var/log/pods).
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Pod } from "../api/index.js";

export class KubeletPaths {
  constructor(readonly root: string, readonly logRoot: string) {}

  get runtimeRoot(): string { return join(this.root, "runtime"); }
  get podsDir(): string { return join(this.root, "pods"); }
  podDir(uid: string): string { return join(this.podsDir, uid); }
  podRecord(uid: string): string { return join(this.podDir(uid), "pod.json"); }
  podState(uid: string): string { return join(this.podDir(uid), "state.json"); }
  podStatus(uid: string): string { return join(this.podDir(uid), "status.json"); }
  sandboxDir(uid: string): string { return join(this.podDir(uid), "sandbox"); }
  /**
   * The pod supervisor's socket (runtime/pod-supervisor.ts), in the pod's directory; a unix
   * socket path is at most 107 bytes, so under a long root it goes to /run instead (named by a
   * hash of the root and the pod's uid: still unique per kubelet and pod).
   */
  supervisorSocket(uid: string): string {
    const inPod = join(this.podDir(uid), "sup.sock");
    if (Buffer.byteLength(inPod) <= 107) return inPod;
    return join("/run", `keel-sup-${createHash("sha256").update(this.root).digest("hex").slice(0, 12)}-${uid.slice(0, 36)}.sock`);
  }
  containerDir(uid: string, runtimeId: string): string { return join(this.podDir(uid), "containers", runtimeId); }
  volumesDir(uid: string): string { return join(this.podDir(uid), "volumes"); }
  volumeDir(uid: string, kind: string, name: string): string { return join(this.volumesDir(uid), kind, name); }
  podLogDir(pod: Pod): string {
    return join(this.logRoot, `${pod.metadata.namespace ?? "default"}_${pod.metadata.name}_${pod.metadata.uid}`);
  }
  containerLog(pod: Pod, container: string, restart: number): string {
    return join(this.podLogDir(pod), container, `${restart}.log`);
  }
}

/** A short, runtime-safe prefix for one pod's container ids: "keel-k8s-<uid8>". */
export function podIdPrefix(uid: string): string {
  return `keel-k8s-${uid.replace(/-/g, "").slice(0, 12)}`;
}
export function sandboxId(uid: string): string { return `${podIdPrefix(uid)}-sandbox`; }
export function containerRuntimeId(uid: string, container: string, attempt: number): string {
  return `${podIdPrefix(uid)}-${container}-${attempt}`;
}
