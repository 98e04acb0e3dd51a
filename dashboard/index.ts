// keel's live view of a cluster (`keel dashboard`): nodes with capacity and requests, the pods on
// them, workloads; updated from watches and pushed to the page as server-sent events.
export { startDashboard, DashboardListenError, type DashboardOptions, type RunningDashboard } from "./server.js";
export { clusterView, type ClusterView, type NodeView, type PodView, type WorkloadView } from "./view.js";
