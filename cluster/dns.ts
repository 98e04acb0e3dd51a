// The cluster's DNS (kube-dns): one set of records, built from Services and EndpointSlices seen
// through informers, answered on port 53 of every node's own address inside the node's
// namespace. The kube-dns Service (ClusterIP DNS_CLUSTER_IP, internalTrafficPolicy Local) has an
// EndpointSlice naming each node's address, so each node's service proxy sends its pods' queries
// to its own node (node-local DNS, no cross-node hop); kubelets write resolv.conf files naming
// the ClusterIP. `keel cluster up` serves its nodes from one ClusterDnsServer and keeps the slice
// (its own nodes, and every joined Node by its InternalIP); `keel join` runs one for its own node.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import type { Node, Service } from "../api/core.js";
import { SERVICE_NAME_LABEL, type EndpointSlice } from "../api/extensions.js";
import { ClusterDns, serveDnsTcp, serveDnsUdp, type DnsService } from "../cni/index.js";
import { Informer, KubeClient, R, isAlreadyExists } from "../controlplane/kit/index.js";
import { ServiceInformers } from "./service-informers.js";
import { listenInNetns, NetnsListenError, type ListenHandle } from "./netns-listen.js";

export const DNS_CLUSTER_IP = "10.96.0.10";
export const CLUSTER_DOMAIN = "cluster.local";
const KUBE_DNS_SLICE = "kube-dns-nodes";

/** The records' view of Services: ports, ClusterIP, and the endpoints of headless ones. */
export function dnsServices(services: Service[], slices: EndpointSlice[]): DnsService[] {
  return services.filter((s) => s.spec?.type !== "ExternalName").map((svc) => {
    const ns = svc.metadata.namespace ?? "default";
    const name = svc.metadata.name!;
    const mine = slices.filter((s) => (s.metadata.namespace ?? "default") === ns && s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.addressType === "IPv4");
    return {
      namespace: ns, name, clusterIP: svc.spec?.clusterIP,
      ports: (svc.spec?.ports ?? []).map((p) => ({ name: p.name, protocol: (p.protocol ?? "TCP") === "UDP" ? "udp" as const : "tcp" as const, port: p.port })),
      endpoints: mine.flatMap((s) => s.endpoints.flatMap((e) => e.addresses.map((ip) => ({ ip, ready: e.conditions?.ready !== false, hostname: e.hostname })))),
    };
  });
}

/** A node DNS is served on: its address, in its namespace (undefined: this process's own). */
export interface DnsNode { name: string; ip: string; netnsPath?: string }

/**
 * The nodes kube-dns's slice names: the cluster's own (known before they register), then every
 * other Node by its InternalIP (nodes that joined run their own DNS server on that address).
 */
export function kubeDnsNodes(own: { name: string; ip: string }[], nodes: Node[]): { name: string; ip: string }[] {
  const out = own.map((n) => ({ name: n.name, ip: n.ip }));
  const named = new Set(out.map((n) => n.name));
  for (const n of [...nodes].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))) {
    const ip = n.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (ip && !named.has(n.metadata.name!)) out.push({ name: n.metadata.name!, ip });
  }
  return out;
}

/** The kube-dns Service and its hand-made EndpointSlice (one endpoint per node, on that node). */
export function kubeDnsObjects(nodes: { name: string; ip: string }[]): { service: Service; slice: EndpointSlice } {
  const labels = { "k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS" };
  return {
    service: {
      apiVersion: "v1", kind: "Service", metadata: { name: "kube-dns", namespace: "kube-system", labels },
      spec: {
        clusterIP: DNS_CLUSTER_IP, internalTrafficPolicy: "Local",
        ports: [{ name: "dns", protocol: "UDP", port: 53, targetPort: 53 }, { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 }],
      },
    },
    slice: {
      apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice",
      metadata: { name: KUBE_DNS_SLICE, namespace: "kube-system", labels: { [SERVICE_NAME_LABEL]: "kube-dns", "endpointslice.kubernetes.io/managed-by": "keel-cluster" } },
      addressType: "IPv4",
      ports: [{ name: "dns", protocol: "UDP", port: 53 }, { name: "dns-tcp", protocol: "TCP", port: 53 }],
      endpoints: nodes.map((n) => ({ addresses: [n.ip], nodeName: n.name, conditions: { ready: true } })),
    } as EndpointSlice,
  };
}


export class ClusterDnsServer {
  readonly dns = new ClusterDns({ domain: CLUSTER_DOMAIN });
  /** Services and EndpointSlices: shared with the node's service proxy when given, else this server's own. */
  private readonly informers: ServiceInformers;
  private readonly ownInformers: boolean;
  private synced = false;
  private nodes?: Informer<Node>;
  private own: { name: string; ip: string }[] = [];
  private readonly sockets: ({ close(): void })[] = [];
  private pending?: NodeJS.Timeout;
  private slicePending?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly client: KubeClient, private readonly log: (m: string) => void, informers?: ServiceInformers) {
    this.ownInformers = !informers;
    this.informers = informers ?? new ServiceInformers(client, log);
  }

  /**
   * Records from watches. With `nodes` (the cluster's side), also the kube-dns Service and its
   * slice, kept naming these nodes and every joined Node.
   */
  async start(nodes?: { name: string; ip: string }[]): Promise<void> {
    // Bursts of events (a Deployment's pods becoming ready) rebuild the records once.
    this.informers.onChange(() => { this.pending ??= setTimeout(() => { this.pending = undefined; this.rebuild(); }, 20); });
    await this.informers.start();
    this.synced = true;
    this.rebuild();
    if (nodes) await this.publishKubeDns(nodes);
  }

  private async publishKubeDns(nodes: { name: string; ip: string }[]): Promise<void> {
    this.own = nodes;
    const { service, slice } = kubeDnsObjects(nodes);
    for (const [r, obj] of [[R.services, service], [R.endpointslices, slice]] as const) {
      try { await this.client.create(r, "kube-system", obj); } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const cur = await this.client.get(r, "kube-system", obj.metadata.name!);
        if (r === R.endpointslices) await this.client.update(r, { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion } });
      }
    }
    // Joined nodes: the slice follows the Nodes (added when one registers, dropped when it is deleted).
    this.nodes = new Informer<Node>(this.client, R.nodes, { log: this.log });
    const nodesChanged = () => { this.slicePending ??= setTimeout(() => { this.slicePending = undefined; void this.updateSlice(); }, 50); };
    this.nodes.addEventHandler({ add: nodesChanged, update: nodesChanged, delete: nodesChanged });
    await this.nodes.start();
  }

  /** Rewrites kube-dns's slice when the nodes it should name changed; a conflict is retried. */
  private async updateSlice(): Promise<void> {
    if (this.stopped || !this.nodes) return;
    const want = kubeDnsObjects(kubeDnsNodes(this.own, this.nodes.list())).slice;
    try {
      // Compared with the watched copy: Node heartbeats cost no request unless the slice must change.
      const cur = this.informers.slices.getByName("kube-system", KUBE_DNS_SLICE) ?? await this.client.get<EndpointSlice>(R.endpointslices, "kube-system", KUBE_DNS_SLICE);
      if (JSON.stringify(cur.endpoints) === JSON.stringify(want.endpoints)) return;
      await this.client.update(R.endpointslices, { ...cur, endpoints: want.endpoints });
    } catch (e) {
      if (this.stopped) return;
      this.log(`cluster DNS: kube-dns endpoints: ${(e as Error).message}`);
      this.slicePending ??= setTimeout(() => { this.slicePending = undefined; void this.updateSlice(); }, 1_000);
    }
  }

  /**
   * Serves DNS on port 53 of the node's address, in its namespace. Bound to that address, not
   * the wildcard: a UDP reply must leave from the address the query was DNAT'ed to, or conntrack
   * cannot map it back to the ClusterIP and the pod's resolver drops it. A node in this
   * process's own namespace (`keel join`) is listened on directly.
   */
  async serveNode(node: DnsNode): Promise<void> {
    const wants = [{ proto: "tcp" as const, host: node.ip, port: 53 }, { proto: "udp" as const, host: node.ip, port: 53 }];
    const handles = node.netnsPath ? await listenInNetns(node.netnsPath, wants) : await listenHere(node.ip, 53);
    for (const h of handles) {
      if (h.proto === "tcp") { serveDnsTcp(h.server, (q) => this.dns.respond(q)); this.sockets.push(h.server); } else { serveDnsUdp(h.socket, (q) => this.dns.respond(q)); this.sockets.push(h.socket); }
    }
  }

  private rebuild(): void {
    if (!this.synced || this.stopped) return;
    this.dns.setServices(dnsServices(this.informers.services.list(), this.informers.slices.list()));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pending);
    clearTimeout(this.slicePending);
    if (this.ownInformers) this.informers.stop();
    this.nodes?.stop();
    for (const s of this.sockets.splice(0)) { try { s.close(); } catch { /* closed */ } }
  }
}

/** TCP and UDP sockets on host:port in this process's namespace; both or neither. */
async function listenHere(host: string, port: number): Promise<ListenHandle[]> {
  const fail = (e: NodeJS.ErrnoException) => new NetnsListenError("/proc/self/ns/net", `tcp and udp ${host}:${port}`, e.message, e.code);
  const server = createServer();
  await new Promise<void>((res, rej) => server.once("error", (e) => rej(fail(e))).listen(port, host, () => res()));
  const socket = createSocket("udp4");
  try {
    await new Promise<void>((res, rej) => socket.once("error", (e) => rej(fail(e))).bind(port, host, () => res()));
  } catch (e) {
    server.close();
    try { socket.close(); } catch { /* never bound */ }
    throw e;
  }
  return [{ proto: "tcp", server }, { proto: "udp", socket }];
}
