// `keel dashboard`: a live web view of a cluster on loopback (nodes, their pods, workloads),
// updated from the API server's watches.
import type { Command } from "commander";
import { untilSignal } from "../signals.js";

export function register(program: Command): void {
  program
    .command("dashboard")
    .description("serve a live view of the cluster (nodes with capacity and requests, their pods, workloads) on loopback, until SIGINT/SIGTERM")
    .option("--kubeconfig <file>", "the cluster's kubeconfig (default $KUBECONFIG, else /var/lib/keel/cluster/admin.kubeconfig)")
    .option("--listen <host:port>", "where to serve the page, on loopback (port 0 picks a free port)", "127.0.0.1:8080")
    .action(async (o: { kubeconfig?: string; listen: string }) => {
      const { startDashboard } = await import("../../dashboard/index.js");
      const kubeconfig = o.kubeconfig ?? process.env.KUBECONFIG ?? "/var/lib/keel/cluster/admin.kubeconfig";
      const d = await startDashboard({ kubeconfig, listen: o.listen, log: (m) => process.stderr.write(`${m}\n`) });
      process.stdout.write(`keel dashboard: open ${d.url}\n`);
      await untilSignal();
      await d.close();
    });
}
