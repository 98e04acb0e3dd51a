// `keel apiserver`: runs the Kubernetes-compatible API server in the foreground. Its flags are
// also `keel control-plane`'s (apiServerFlags / apiServerOptions), which runs it in one process
// with the controller-manager and the scheduler. The server's modules are imported when a verb
// runs, so `keel controller-manager` (which imports these flags) does not load them.
import type { Command } from "commander";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import type { ApiServerOptions } from "../../controlplane/apiserver/index.js";
import { untilSignal } from "../signals.js";

export interface ApiServerCliOptions { dataDir: string; listen: string; store: string; insecureHttp: boolean }

/** The API server's flags, on `keel apiserver` and `keel control-plane`. */
export function apiServerFlags(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "where the cluster CA and keys (mode 0600), the SQLite store (keel.db) and admin.kubeconfig live; created at first start", "/var/lib/keel")
    .option("--listen <host:port>", "address to serve HTTPS on (port 0 picks a free port)", "0.0.0.0:6443")
    .option("--store <spec>", "storage backend: 'sqlite' (DIR/keel.db, the default), 'sqlite:/path/file.db', or 'etcd:http://host:2379[,http://host2:2379...]'", "sqlite")
    .option("--insecure-http", "serve plain HTTP instead of HTTPS (tests only; a bearer token is still required)", false);
}

export function apiServerOptions(o: ApiServerCliOptions, log: (m: string) => void): ApiServerOptions {
  return { dataDir: o.dataDir, listen: o.listen, store: o.store, insecureHttp: o.insecureHttp, log };
}

/**
 * V8 settings for the API server and the one-process control plane (`keel control-plane`), set
 * before their code first runs. The control plane's live heap at 1,000 pods is some 25 MiB (the
 * API server's alone 15), yet a burst lets V8 grow the young generation to 32 MiB and the old
 * one to 45-70 MiB, mostly garbage. Here the young generation keeps its initial size (growth
 * factor 1) and the old one may grow 20% past what the last full collection left (V8's default
 * factor is up to 4x): RSS at 1,000 pods 184 -> 137-139 MiB (bench/cluster-rss), creates/s at
 * 64 clients within the noise (-7% and +26% in two A/B runs of 7 rounds each). Rejected:
 * --optimize-for-size (RSS 131 MiB with the growth factor, but 33% fewer creates/s) and the
 * kubelet's --lite-mode (a quarter of the creates/s at 64 clients). --max-semi-space-size cannot
 * be set here: V8 reads it only when it makes the heap, before any JavaScript runs.
 * KEEL_CONTROL_PLANE_V8_DEFAULTS=1 skips this.
 */
export function leanApiServerV8(): void {
  if (process.env.KEEL_CONTROL_PLANE_V8_DEFAULTS) return;
  setFlagsFromString("--semi-space-growth-factor=1");
  setFlagsFromString("--heap-growing-percent=20");
}

export function register(program: Command): void {
  const apiserver = apiServerFlags(program
    .command("apiserver")
    .description("run the Kubernetes API server (HTTPS, kubectl-compatible) until interrupted"))
    .addHelpText("after", "\nThe admin kubeconfig is written to DIR/admin.kubeconfig; use it as it is:\n  kubectl --kubeconfig DIR/admin.kubeconfig get nodes\n")
    .action(async (opts: ApiServerCliOptions) => {
      leanApiServerV8();
      const { startApiServer } = await import("../../controlplane/apiserver/index.js");
      const server = await startApiServer(apiServerOptions(opts, (m) => process.stderr.write(`${m}\n`)));
      process.stdout.write(`${server.url}\n`);
      await untilSignal();
      await server.close();
    });

  apiserver
    .command("node-kubeconfig <node>")
    .description("write a kubeconfig for the kubelet of <node>: a client certificate CN=system:node:<node>, O=system:nodes from the cluster CA, allowed to change only that node's objects")
    .option("--data-dir <dir>", "the API server's data directory (holds the cluster CA) (default: \"/var/lib/keel\")")
    .option("--server <url>", "API server URL to put in the kubeconfig (default: the one in DIR/admin.kubeconfig)")
    .option("-o, --output <path>", "where to write it (mode 0600; default DIR/node-<node>.kubeconfig)")
    .action(async (node: string, opts: { dataDir?: string; server?: string; output?: string }, cmd: Command) => {
      // Without positional options commander hands --data-dir to `apiserver` itself.
      const { writeNodeKubeconfig } = await import("../../controlplane/apiserver/pki.js");
      const dataDir = opts.dataDir ?? (cmd.parent?.opts() as { dataDir: string }).dataDir;
      const out = await writeNodeKubeconfig(dataDir, node, opts.output ?? join(dataDir, `node-${node}.kubeconfig`), opts.server);
      process.stdout.write(`${out}\n`);
    });
}
