// Pod networking as the kubelet sees it: set up a sandbox's network namespace, tear it down.
// The real implementation is CNI (cni/); until a node is configured with it, pods get a network
// namespace with only loopback up, which is enough for containers of one pod to talk over
// localhost. Host-network pods skip this altogether.
import { setLink } from "../cni/netlink.js";

export interface PodNetworkRequest {
  podUid: string;
  namespace: string;
  name: string;
  /** The sandbox's runtime id. */
  containerId: string;
  /** /proc/<pause pid>/ns/net */
  netns: string;
  /** The whole pod (for host ports and the like). */
  pod?: import("../api/index.js").Pod;
}

export interface PodNetworkResult {
  /** The pod's IP, when the plugin gives it one. */
  ip?: string;
}

export interface PodNetworkPlugin {
  readonly name: string;
  setUp(req: PodNetworkRequest): Promise<PodNetworkResult>;
  /** Idempotent: tearing down twice, or a pod never set up, is not an error. */
  tearDown(req: PodNetworkRequest): Promise<void>;
}

/** Loopback only: brings `lo` up in the pod's network namespace. */
export class LoopbackNetwork implements PodNetworkPlugin {
  readonly name = "loopback";
  async setUp(req: PodNetworkRequest): Promise<PodNetworkResult> {
    // In-process netlink (cni/netlink.ts): no nsenter + ip fork/exec on every pod's start.
    await setLink(req.netns, "lo", { up: true });
    return {};
  }
  async tearDown(): Promise<void> {
    // The namespace goes with the sandbox's last process.
  }
}
