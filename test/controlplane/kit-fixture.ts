// A real API server on 127.0.0.1:0 in a temp directory, and a kit client on its kubeconfig.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { KubeClient } from "../../controlplane/kit/index.js";

export interface ApiFixture {
  dir: string;
  server: RunningApiServer;
  client: KubeClient;
  close(): Promise<void>;
}

export async function startApiFixture(prefix = "keel-kit-"): Promise<ApiFixture> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const server = await startApiServer({ dataDir: dir, listen: "127.0.0.1:0" });
  const client = new KubeClient(server.kubeconfigPath, "keel-test");
  return {
    dir, server, client,
    async close() {
      client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { waitFor } from "../fixtures/wait-for.js";
