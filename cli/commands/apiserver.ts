// `keel apiserver`: runs the Kubernetes-compatible API server in the foreground.
import type { Command } from "commander";
import { startApiServer } from "../../controlplane/apiserver/index.js";

export function register(program: Command): void {
  program
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
}
