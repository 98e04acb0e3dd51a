// keel's scheduler core: feed it pods and nodes, get placements. See core.ts for the façade.
//
// An adapter (informers on the API server, or the simulator) drives it like this:
//   const s = new Scheduler({ profile: resolveProfile("default") });
//   node events  → s.onNodeAdd / onNodeUpdate / onNodeDelete
//   pod events   → s.onPodAdd / onPodUpdate / onPodDelete (bound pods go to the cache,
//                  pending pods with our schedulerName to the queue)
//   Services, ReplicaSets, StatefulSets, ReplicationControllers
//                → s.onServiceUpdate / onServiceDelete, s.onControllerUpdate / onControllerDelete
//                  (pods' default topology spreading selects its peers by their selectors)
//   loop: d = s.scheduleOne()
//     bind:          POST pods/NAME/binding to d.node, then s.bindDone(uid, ok)
//     preempt:       delete d.victims, PATCH status.nominatedNodeName = d.node (the pod
//                    is retried when the victims' delete events arrive)
//     unschedulable: PATCH the PodScheduled=False condition with d.message
//   and when scheduleOne() returns undefined, sleep s.queue.nextReadyIn() ms or until an event.
export * from "./types.js";
export * from "./quantity.js";
export { compilePod, normalizeImage, type PodInfo } from "./pod-info.js";
export { SchedulerCache, CacheError } from "./cache.js";
export { NodeInfo, ZONE_LABEL } from "./node-info.js";
export { SchedulingAlgorithm, type ScheduleResult } from "./algorithm.js";
export { WorkloadIndex, type ControllerKind, type DefaultSelector } from "./default-selector.js";
export { HOSTNAME_LABEL, SYSTEM_DEFAULT_CONSTRAINTS, type DefaultConstraint } from "./topology-spread.js";
export { findPreemption, type Preemption } from "./preemption.js";
export { SchedulingQueue, type ClusterEvent } from "./queue.js";
export * from "./profile.js";
export { Scheduler, unschedulableMessage, type Decision, type SchedulerOptions } from "./core.js";
export { seededRng, shuffle, type Rng } from "./random.js";
