// Simulated nodes, workload traces, the trace runner and cell compaction.
export * from "./nodes.js";
export * from "./trace.js";
export * from "./generator.js";
export * from "./runner.js";
export * from "./compaction.js";
