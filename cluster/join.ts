// `keel join`: this machine becomes a node of a cluster elsewhere, kubeadm's way. Discovery:
// the cluster's bootstrap endpoint (the API server's port + 1) hands out the API server's address
// and the cluster CA, signed with the bootstrap token; the CA must match the --ca-cert-hash pin.
// Then, over TLS verified with that CA, the token buys this node its kubeconfig, and a kubelet
// runs here with it: pods in this machine's network namespace, on the podCIDR the cluster gives
// the Node. Beside it, on the same credentials, what `keel cluster up` runs for its own nodes:
// the VXLAN overlay, the service proxy (this namespace's `keel-services` table) and a cluster DNS
// server on this node's address (the cluster names it in kube-dns's slice, and this node's proxy
// sends its pods' queries for the kube-dns ClusterIP there).
import { mkdirSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { hostname } from "node:os";
import { join } from "node:path";
import { startKubelet, type RunningKubelet } from "../kubelet/index.js";
import { writeFileAtomicSync } from "../lib/atomic-file.js";
import { caCertHash, parseToken, sameSecret, signClusterInfo, type ClusterInfo, type JoinResponse } from "./bootstrap.js";
import { ClusterError } from "./errors.js";
import { OVERLAY_MTU, OverlaySync } from "./overlay.js";
import { ServiceSync } from "./services.js";
import { ServiceInformers } from "./service-informers.js";
import { ClusterDnsServer } from "./dns.js";
import { execFileSync } from "node:child_process";
import { KubeClient } from "../controlplane/kit/index.js";
import { removeNodeNetwork } from "../cni/index.js";
import { createServer, type AddressInfo } from "node:net";
import { proxyTo } from "./api-proxy.js";

export class JoinError extends ClusterError {
  override name = "JoinError";
  constructor(readonly server: string, readonly step: string, reason: string) {
    super(`joining ${server}: ${step}: ${reason}`);
  }
}

export interface JoinOptions {
  /** https://HOST:PORT of the API server, as `keel cluster up` printed it. */
  server: string;
  token: string;
  /** sha256:HEX of the CA's public key; required unless unsafeSkipCAVerification. */
  caCertHash?: string;
  unsafeSkipCAVerification?: boolean;
  /** Default: this machine's hostname. */
  nodeName?: string;
  /** Kubelet state, logs, CNI state, kubeconfig (default /var/lib/keel/node). */
  dataDir?: string;
  imageRoot?: string;
  /** The cluster's pod CIDR, for routes and masquerade (default 10.244.0.0/16). */
  clusterCIDR?: string;
  log?: (m: string) => void;
}

export interface JoinedNode {
  nodeName: string;
  kubeconfigPath: string;
  kubelet: RunningKubelet;
  /**
   * Stops the kubelet, the overlay, the service proxy and the DNS server; with stopPods, the pods
   * too, and the node's pod bridge, VXLAN device and tables, the Services' included (the machine
   * leaves). Without it the tables stay, so pods left running still reach Services.
   */
  close(stopPods?: boolean): Promise<void>;
}

interface HttpsOpts { ca?: string; insecure?: boolean; method?: string; headers?: Record<string, string>; body?: string }

function fetchJson<T>(url: string, o: HttpsOpts): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: o.method ?? "GET", headers: o.headers, ca: o.ca, rejectUnauthorized: !o.insecure, timeout: 15_000 }, (res) => {
      let text = "";
      res.on("data", (d) => { text += String(d); });
      res.on("end", () => {
        try { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }); } catch (e) { reject(new Error(`not JSON (HTTP ${res.statusCode}): ${text.slice(0, 200)}`)); }
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 15 s")));
    req.on("error", reject);
    req.end(o.body);
  });
}

/** The address this machine uses to reach the server (the node's InternalIP). */
function localAddressToward(host: string, port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port, ca, rejectUnauthorized: false }, () => { const a = s.localAddress!; s.destroy(); resolve(a); });
    s.on("error", reject);
  });
}

/** The interface that holds `ip` in this namespace (the VXLAN device's underlay). */
function underlayDeviceOf(ip: string): string {
  const out = execFileSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" });
  const line = out.split("\n").find((l) => l.includes(` inet ${ip}/`));
  const dev = line?.split(/\s+/)[1];
  if (!dev) throw new JoinError(ip, "overlay", `no interface here holds ${ip}`);
  return dev;
}

export async function joinCluster(o: JoinOptions): Promise<JoinedNode> {
  const fail = (step: string, reason: string) => new JoinError(o.server, step, reason);
  let url: URL;
  try { url = new URL(o.server); } catch { throw fail("server", "not a URL such as https://10.250.0.1:6443"); }
  if (url.protocol !== "https:" || !url.port) throw fail("server", "must be https://HOST:PORT");
  const { id } = parseToken(o.token);
  if (!o.caCertHash && !o.unsafeSkipCAVerification) throw fail("discovery", "give --ca-cert-hash sha256:... (printed by `keel cluster up`), or --discovery-token-unsafe-skip-ca-verification");
  const boot = `https://${url.host.replace(/:\d+$/, "")}:${Number(url.port) + 1}`;
  const log = o.log ?? (() => {});
  const nodeName = o.nodeName ?? hostname().toLowerCase();

  // 1. Discovery, trusting nothing yet: the answer must be signed with our token and carry the pinned CA.
  let info: ClusterInfo & { signatures?: Record<string, string> };
  try {
    const r = await fetchJson<typeof info>(`${boot}/cluster-info`, { insecure: true });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    info = r.body;
  } catch (e) { throw fail("discovery", `cannot read ${boot}/cluster-info: ${(e as Error).message}`); }
  const sig = info.signatures?.[id];
  if (!sig || !sameSecret(sig, signClusterInfo({ server: info.server, caCertPem: info.caCertPem }, o.token))) throw fail("discovery", `the cluster info is not signed with token ${id}: wrong token, or not this cluster`);
  const hash = caCertHash(info.caCertPem);
  if (o.caCertHash && o.caCertHash.toLowerCase() !== hash) throw fail("discovery", `the cluster CA's hash is ${hash}, not the pinned ${o.caCertHash}`);
  log(`keel join: cluster CA ${hash} verified; API server ${info.server}`);

  // 2. TLS bootstrap: the token buys this node's credentials, over TLS verified with the CA.
  const r = await fetchJson<JoinResponse & { message?: string }>(`${boot}/join`, {
    ca: info.caCertPem, method: "POST", headers: { authorization: `Bearer ${o.token}`, "content-type": "application/json" }, body: JSON.stringify({ nodeName }),
  }).catch((e: Error) => { throw fail("credentials", e.message); });
  if (r.status !== 201) throw fail("credentials", r.body.message ?? `HTTP ${r.status}`);

  const dataDir = o.dataDir ?? "/var/lib/keel/node";
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const api = new URL(info.server);
  const hostIP = await localAddressToward(api.hostname, Number(api.port), info.caCertPem).catch((e: Error) => { throw fail("API server", `cannot reach ${info.server}: ${e.message}`); });
  // The kubelet talks to the API server through a local forwarder on 127.0.0.1 (k3s's agent load
  // balancer does the same): TLS passes through untouched, and the serving certificate always
  // names 127.0.0.1, whatever address the server is reached at.
  const local = createServer();
  await new Promise<void>((res, rej) => local.once("error", rej).listen(0, "127.0.0.1", () => res()));
  const forwarder = proxyTo(local, api.hostname, Number(api.port));
  const localServer = `https://127.0.0.1:${(local.address() as AddressInfo).port}`;
  const kubeconfigPath = join(dataDir, "kubelet.kubeconfig");
  writeFileAtomicSync(kubeconfigPath, r.body.kubeconfig.replace(/^(\s*server:\s*)\S+/m, `$1${localServer}`), 0o600);

  // 3. The kubelet, with the node's own credentials; pods in this machine's network namespace.
  let kubelet: RunningKubelet;
  try {
    kubelet = await startKubelet({
    kubeconfig: kubeconfigPath, nodeName, hostIP, root: join(dataDir, "kubelet"), logDir: join(dataDir, "logs"), imageRoot: o.imageRoot, log,
    cni: { nodeNetns: `/proc/${process.pid}/ns/net`, stateDir: join(dataDir, "cni"), clusterCIDR: o.clusterCIDR ?? "10.244.0.0/16", mtu: OVERLAY_MTU },
    clusterDNS: r.body.clusterDNS, clusterDomain: r.body.clusterDomain,
    });
  } catch (e) {
    forwarder.close();
    throw e;
  }
  // The overlay: this node's VXLAN device on the interface holding hostIP, its VTEP published on
  // its Node, and every other node's programmed here (the cluster does the same on its side).
  // Services and DNS: the node's credentials may list and watch Services and EndpointSlices (the
  // node authorizer's rules, as kube's NodeRules).
  const self = `/proc/${process.pid}/ns/net`;
  const client = new KubeClient(kubeconfigPath, `keel-join/${nodeName}`);
  const informers = new ServiceInformers(client, log);
  const services = new ServiceSync(client, [{ name: nodeName, netnsPath: self }], log, { informers });
  const overlay = new OverlaySync(client, [{ name: nodeName, netnsPath: self, ip: hostIP }], log, (node, cidr) => services.setPodCIDR(node, cidr), 500, underlayDeviceOf(hostIP));
  const dns = new ClusterDnsServer(client, log, informers);
  const stopParts = async () => {
    await services.stop();
    dns.stop();
    informers.stop();
    await overlay.stop();
  };
  try {
    overlay.start();
    // Both resolve once Services and EndpointSlices are listed: a refusal would retry forever, so bound it.
    await Promise.race([Promise.all([services.start(), dns.start()]), new Promise((_, rej) => setTimeout(() => rej(new Error("Services and EndpointSlices not listed within 30 s (see the informer messages above)")), 30_000).unref())]);
    await dns.serveNode({ name: nodeName, ip: hostIP });
  } catch (e) {
    await stopParts();
    await kubelet.close();
    client.close();
    forwarder.close();
    await services.remove().catch(() => {});
    throw fail("services", (e as Error).message);
  }
  log(`keel join: node ${nodeName} (${hostIP}) runs its kubelet, service proxy and DNS server`);
  return {
    nodeName, kubeconfigPath, kubelet,
    async close(stopPods = false) {
      await stopParts();
      if (stopPods) await kubelet.core.stopAll(2);
      await kubelet.close();
      client.close();
      forwarder.close();
      if (stopPods) {
        await services.remove();
        await removeNodeNetwork({ nodeNetns: self });
      }
    },
  };
}
