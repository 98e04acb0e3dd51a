// The controller kit: one REST client, informers, a work queue, leader election and events,
// shared by every controller, the scheduler daemon and the simulated nodes.
export * from "./kubeconfig.js";
export * from "./resources.js";
export * from "./client.js";
export * from "./informer.js";
export * from "./workqueue.js";
export * from "./leader-election.js";
export * from "./events.js";
