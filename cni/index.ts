// keel's pod networking (CNI 1.x semantics), as a library the kubelet calls.
//
//   const net = new PodNetwork({ nodeNetns: "/run/netns/keel-node-a", podCIDR: "10.88.1.0/24" });
//   const r = await net.add({ containerId, netns: `/proc/${pid}/ns/net`, portMappings });
//   await net.del({ containerId, netns });
//
// Everything happens inside the node's network namespace (nodeNetns) and the pod's; nothing is
// done to any other namespace. Under tests (KEEL_TEST=1) the host's own namespace is refused.
export type { NodeNetworkConfig, PodAttachment, PodAttachResult, PortMapping } from "./types.js";
export { PodNetwork } from "./pod-network.js";
export * from "./errors.js";
export { syncServices, removeServices } from "./services/proxy.js";
export type { ServiceSpec, ServicePort, ServiceEndpoint } from "./services/proxy.js";
export { Overlay } from "./overlay/vxlan.js";
export type { OverlayConfig, OverlayPeer } from "./overlay/vxlan.js";
export { CniNetwork, loadNetworkList, parseNetworkConfig } from "./exec/network-list.js";
export type { NetworkConfigList, CniNetworkOptions } from "./exec/network-list.js";
export { invokePlugin, CniPluginError } from "./exec/invoke.js";
/** Where keel's own plugin executables are (add it to CNI_PATH). */
export { keelPluginDir } from "./plugin/dir.js";
export { ClusterDns, serveDnsTcp, serveDnsUdp } from "./dns/server.js";
export { DnsRecords, podResolvConf } from "./dns/records.js";
export type { DnsService } from "./dns/records.js";
export { removeNodeNetwork } from "./teardown.js";
