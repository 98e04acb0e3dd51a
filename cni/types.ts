// The stable face of keel's pod networking, as the kubelet calls it. Keep these shapes stable:
// the kubelet (kubelet/) and the cluster code build on them.

export interface NodeNetworkConfig {
  /** Path of the node's network namespace (e.g. /run/netns/keel-node-a); default: this process's. */
  nodeNetns?: string;
  /** The node's bridge; default "keel0". */
  bridge?: string;
  /** This node's pod CIDR, e.g. 10.88.1.0/24; the gateway is its first address. */
  podCIDR: string;
  /** The whole cluster's pod CIDR (routes and masquerade decisions); default: podCIDR. */
  clusterCIDR?: string;
  /** MTU of the bridge and the pods' interfaces (reduce by 50 under a VXLAN overlay). */
  mtu?: number;
  /** IPAM and port-mapping state; default /var/lib/keel/cni. */
  stateDir?: string;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

export interface PodAttachment {
  containerId: string;
  /** Path of the pod's network namespace, e.g. /proc/<sandbox pid>/ns/net. */
  netns: string;
  /** Interface name inside the pod; default eth0. */
  ifName?: string;
  podName?: string;
  podNamespace?: string;
  portMappings?: PortMapping[];
}

export interface PodAttachResult {
  ip: string;
  gateway: string;
  prefixLength: number;
  /** MAC of the pod's interface. */
  mac: string;
  /** The host-side veth and the pod's interface (with sandbox = the pod's netns path), as CNI reports them. */
  interfaces: { name: string; mac: string; sandbox?: string }[];
}
