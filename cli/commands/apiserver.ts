// `keel apiserver`: runs the Kubernetes-compatible API server in the foreground.
import type { Command } from "commander";
import { join } from "node:path";
import { startApiServer } from "../../controlplane/apiserver/index.js";
import { writeNodeKubeconfig } from "../../controlplane/apiserver/pki.js";

export function register(program: Command): void {
  const apiserver = program
    .command("apiserver")
    .description("run the Kubernetes API server (HTTPS, kubectl-compatible) until interrupted")
    .option("--data-dir <dir>", "where the cluster CA and keys (mode 0600), the SQLite store (keel.db) and admin.kubeconfig live; created at first start", "/var/lib/keel")
    .option("--listen <host:port>", "address to serve HTTPS on (port 0 picks a free port)", "0.0.0.0:6443")
    .option("--store <spec>", "storage backend: 'sqlite' (DIR/keel.db, the default), 'sqlite:/path/file.db', or 'etcd:http://host:2379[,http://host2:2379...]'", "sqlite")
    .option("--insecure-http", "serve plain HTTP instead of HTTPS (tests only; a bearer token is still required)", false)
    .addHelpText("after", "\nThe admin kubeconfig is written to DIR/admin.kubeconfig; use it as it is:\n  kubectl --kubeconfig DIR/admin.kubeconfig get nodes\n")
    .action(async (opts: { dataDir: string; listen: string; store: string; insecureHttp: boolean }) => {
      const server = await startApiServer({
        dataDir: opts.dataDir, listen: opts.listen, store: opts.store, insecureHttp: opts.insecureHttp,
        log: (m) => process.stderr.write(`${m}\n`),
      });
      process.stdout.write(`${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
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
      const dataDir = opts.dataDir ?? (cmd.parent?.opts() as { dataDir: string }).dataDir;
      const out = await writeNodeKubeconfig(dataDir, node, opts.output ?? join(dataDir, `node-${node}.kubeconfig`), opts.server);
      process.stdout.write(`${out}\n`);
    });
}
