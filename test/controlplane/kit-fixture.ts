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

/** Polls until fn returns a truthy value (generous timeout: the suite may run under load). */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) { lastErr = err; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
