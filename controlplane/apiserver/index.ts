// startApiServer: the embeddable API server (used by `keel apiserver`, `keel cluster up` and
// the tests). HTTPS with the cluster CA by default; writes DIR/admin.kubeconfig.
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { ResourceRegistry } from "../../api/registry.js";
import { openStore, type Store } from "../store/index.js";
import { ensurePki, kubeconfigYaml, writeKubeconfig } from "./pki.js";
import { ObjectStore } from "./object-store.js";
import { Lifecycle } from "./lifecycle.js";
import { makeRequestHandler, makeUpgradeHandler } from "./server.js";
import { ApiError } from "./errors.js";
import type { TokenEntry } from "./auth.js";
import { Authorization } from "./authz/index.js";

export interface ApiServerOptions {
  /** Holds the PKI, the SQLite file and admin.kubeconfig. Default /var/lib/keel. */
  dataDir?: string;
  /** HOST:PORT to listen on; port 0 picks a free port. Default 0.0.0.0:6443. */
  listen?: string;
  /** "sqlite" (DIR/keel.db), "sqlite:/path", or "etcd:http://host:port[,...]". Default sqlite. */
  store?: string;
  /** Plain HTTP (tests only); bearer tokens are still required. */
  insecureHttp?: boolean;
  /** Extra bearer tokens (e.g. for the kubelet or controllers). */
  tokens?: TokenEntry[];
  log?: (msg: string) => void;
}

export interface RunningApiServer {
  url: string;
  kubeconfigPath: string;
  /** The admin bearer token (also in the PKI directory). */
  adminToken: string;
  caCertPem?: string;
  registry: ResourceRegistry;
  store: Store;
  close(): Promise<void>;
}

export class ListenAddressError extends Error {
  constructor(readonly listen: string) {
    super(`invalid listen address ${JSON.stringify(listen)}: expected HOST:PORT, e.g. 127.0.0.1:6443`);
    this.name = "ListenAddressError";
  }
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new ListenAddressError(listen);
  const port = Number(m[3]);
  if (port > 65535) throw new ListenAddressError(listen);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

const BOOTSTRAP_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export async function startApiServer(opts: ApiServerOptions = {}): Promise<RunningApiServer> {
  const dataDir = opts.dataDir ?? "/var/lib/keel";
  const log = opts.log ?? (() => {});
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { host, port } = parseListen(opts.listen ?? "0.0.0.0:6443");
  const storeSpec = !opts.store || opts.store === "sqlite" ? `sqlite:${join(dataDir, "keel.db")}` : opts.store;
  const extraSans = host !== "0.0.0.0" && host !== "::" ? [host] : [];
  const pki = await ensurePki(dataDir, extraSans);
  const store = await openStore(storeSpec);
  const registry = new ResourceRegistry();
  const lifecycle = new Lifecycle(registry, log);
  const objects = new ObjectStore(store, registry, { afterWrite: (r, o, d) => lifecycle.afterWrite(r, o, d) });
  lifecycle.attach(objects);
  await lifecycle.start();
  const nsR = registry.get("", "v1", "namespaces")!;
  for (const ns of BOOTSTRAP_NAMESPACES) {
    try { await objects.create(nsR, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }); } catch (err) {
      if (!(err instanceof ApiError && err.code === 409)) throw err;
    }
  }
  const tokens: TokenEntry[] = [{ token: pki.adminToken, user: { name: "admin", groups: ["system:masters"] } }, ...(opts.tokens ?? [])];
  const authz = await Authorization.start({ objects, registry, serviceAccountKeyPem: pki.serviceAccountKeyPem, log });
  let address = "";
  const routerCtx = { registry, objects, tokens, authz, serverAddress: () => address, ready: () => true };
  const handler = makeRequestHandler(routerCtx);
  const server: Server = opts.insecureHttp
    ? createHttpServer(handler)
    : createHttpsServer({ key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caCertPem, requestCert: true, rejectUnauthorized: false }, handler);
  server.keepAliveTimeout = 65_000;
  const upgrades = makeUpgradeHandler(routerCtx);
  server.on("upgrade", upgrades);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => { server.off("error", reject); resolve(); });
  });
  const a = server.address() as AddressInfo;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `${opts.insecureHttp ? "http" : "https"}://${urlHost}:${a.port}`;
  address = `${urlHost}:${a.port}`;
  const kubeconfigPath = join(dataDir, "admin.kubeconfig");
  writeKubeconfig(kubeconfigPath, kubeconfigYaml(opts.insecureHttp
    ? { server: url, token: pki.adminToken }
    : { server: url, caCertPem: pki.caCertPem, clientCertPem: pki.adminCertPem, clientKeyPem: pki.adminKeyPem }));
  log(`keel apiserver listening on ${url} (store ${store.backend}); kubeconfig ${kubeconfigPath}`);
  let closing: Promise<void> | undefined;
  return {
    url, kubeconfigPath, adminToken: pki.adminToken, caCertPem: pki.caCertPem, registry, store,
    close() {
      closing ??= (async () => {
        await lifecycle.close();
        await authz.close();
        await objects.close();
        await new Promise<void>((resolve) => {
          upgrades.closeAll();
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await store.close();
      })();
      return closing;
    },
  };
}

export { ResourceRegistry };
export { kubeconfigYaml, writeKubeconfig } from "./pki.js";
export type { TokenEntry, User } from "./auth.js";
