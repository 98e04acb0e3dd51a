// The kubelet's Prometheus metrics (prom-client, one registry per kubelet: several kubelets may
// share a process in `keel cluster up`). Kubelet's own names where kubelet has the metric:
// pod start latency, sandbox runs, network plugin and runtime operations; plus keel's breakdown
// of a pod's start into its steps, which is what says where a slow start went.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { KubeletCore } from "./kubelet.js";

/** Seconds. keel's starts take milliseconds, so the buckets begin far below kubelet's 0.5 s. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The steps of a pod's start, in order (keel_kubelet_pod_start_step_duration_seconds{step}). */
export type PodStartStep =
  | "queue" // the kubelet saw the pod → its worker began the first sync
  | "cgroup" // the pod's cgroup made (every hierarchy on cgroup v1)
  | "supervisor" // the pod's keel-supervisor launched and connected
  | "sandbox" // the sandbox (keel-pause) created and started
  | "network" // the network plugin's set-up (veth, address, routes, host ports)
  | "volumes" // the pod's volumes set up
  | "image" // the image resolved (pulled when absent)
  | "container" // one container's spec, rootfs, create and start
  | "status"; // the last container running → the status with it handed to the status writer

/** Runtime operations timed as kubelet's kubelet_runtime_operations_duration_seconds does (the sandbox's included). */
export type RuntimeOperation = "create_container" | "start_container";

export class KubeletMetrics {
  readonly registry = new Registry();
  private readonly podStart: Histogram;
  private readonly steps: Histogram<"step">;
  private readonly runtimeOps: Histogram<"operation_type">;
  private readonly runtimeErrors: Counter<"operation_type">;
  private readonly networkOps: Histogram<"operation_type">;

  constructor(core?: () => KubeletCore | undefined) {
    const registers = [this.registry];
    this.podStart = new Histogram({ name: "kubelet_pod_start_duration_seconds", help: "Duration in seconds from the kubelet seeing a pod to all its containers running.", buckets: BUCKETS, registers });
    this.steps = new Histogram({ name: "keel_kubelet_pod_start_step_duration_seconds", help: "Duration in seconds of each step of a pod's start (queue, cgroup, supervisor, sandbox, network, volumes, image, container, status).", labelNames: ["step"], buckets: BUCKETS, registers });
    this.runtimeOps = new Histogram({ name: "kubelet_runtime_operations_duration_seconds", help: "Duration in seconds of runtime operations. Broken down by operation type.", labelNames: ["operation_type"], buckets: BUCKETS, registers });
    this.runtimeErrors = new Counter({ name: "kubelet_runtime_operations_errors_total", help: "Cumulative number of runtime operation errors by operation type.", labelNames: ["operation_type"], registers });
    this.networkOps = new Histogram({ name: "kubelet_network_plugin_operations_duration_seconds", help: "Latency in seconds of network plugin operations. Broken down by operation type.", labelNames: ["operation_type"], buckets: BUCKETS, registers });
    // Gauges read the workers when scraped rather than being kept up to date on every change.
    new Gauge({
      name: "kubelet_running_pods", help: "Number of pods that have a running pod sandbox.", registers,
      collect() {
        const c = core?.();
        this.set(c ? [...c.workers.values()].filter((w) => w.record.sandbox).length : 0);
      },
    });
    new Gauge({
      name: "kubelet_running_containers", help: "Number of containers currently running.", labelNames: ["container_state"], registers,
      collect() {
        const c = core?.();
        let n = 0;
        for (const w of c?.workers.values() ?? []) n += Object.values(w.record.containers).filter((r) => r.state === "running").length;
        this.set({ container_state: "running" }, n);
      },
    });
  }

  observePodStart(seconds: number): void {
    this.podStart.observe(seconds);
  }

  observeStep(step: PodStartStep, seconds: number): void {
    this.steps.observe({ step }, seconds);
  }

  observeNetwork(operation: "set_up_pod" | "tear_down_pod", seconds: number): void {
    this.networkOps.observe({ operation_type: operation }, seconds);
  }

  /** Times op, recording its duration, and an error when it throws. */
  async timeRuntime<T>(operation: RuntimeOperation, op: () => Promise<T>): Promise<T> {
    const end = this.runtimeOps.startTimer({ operation_type: operation });
    try {
      return await op();
    } catch (e) {
      this.runtimeErrors.inc({ operation_type: operation });
      throw e;
    } finally {
      end();
    }
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
