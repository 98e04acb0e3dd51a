// The kubelet's Prometheus metrics: pod start latency (a histogram with kubelet's buckets),
// running pods and containers, and counts of runtime operations.
import type { KubeletCore } from "./kubelet.js";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class KubeletMetrics {
  private readonly counts = BUCKETS.map(() => 0);
  private sum = 0;
  private n = 0;

  observePodStart(seconds: number): void {
    this.sum += seconds;
    this.n++;
    BUCKETS.forEach((b, i) => { if (seconds <= b) this.counts[i]++; });
  }

  render(core: KubeletCore): string {
    const lines: string[] = [];
    lines.push("# HELP kubelet_pod_start_duration_seconds Duration in seconds from the kubelet seeing a pod to all its containers running.");
    lines.push("# TYPE kubelet_pod_start_duration_seconds histogram");
    BUCKETS.forEach((b, i) => lines.push(`kubelet_pod_start_duration_seconds_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`kubelet_pod_start_duration_seconds_bucket{le="+Inf"} ${this.n}`);
    lines.push(`kubelet_pod_start_duration_seconds_sum ${this.sum}`);
    lines.push(`kubelet_pod_start_duration_seconds_count ${this.n}`);
    let pods = 0, containers = 0;
    for (const w of core.workers.values()) {
      const running = Object.values(w.record.containers).filter((c) => c.state === "running").length;
      if (w.record.sandbox) pods++;
      containers += running;
    }
    lines.push("# HELP kubelet_running_pods Number of pods that have a running pod sandbox.", "# TYPE kubelet_running_pods gauge", `kubelet_running_pods ${pods}`);
    lines.push("# HELP kubelet_running_containers Number of containers currently running.", "# TYPE kubelet_running_containers gauge", `kubelet_running_containers{container_state="running"} ${containers}`);
    return lines.join("\n") + "\n";
  }
}
