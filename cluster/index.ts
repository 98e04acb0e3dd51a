// `keel cluster`: a control plane and N nodes on one machine, each node in a network namespace
// keel makes. up (in this process), down and status (from any process, through cluster.json).
export { clusterUp, clusterNames, type ClusterUpOptions, type RunningCluster, type JoinInfo } from "./up.js";
export { clusterDown, type ClusterDownOptions } from "./down.js";
export { clusterStatus, type ClusterStatus } from "./status.js";
export { processAlive, readState, stateFile, type ClusterState, type NodeRecord } from "./state.js";
export * from "./errors.js";
export { joinCluster, JoinError, type JoinOptions, type JoinedNode } from "./join.js";
export { caCertHash, parseToken, BootstrapTokenError } from "./bootstrap.js";
export { DNS_CLUSTER_IP, CLUSTER_DOMAIN } from "./dns.js";
