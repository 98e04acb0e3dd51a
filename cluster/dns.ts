// The cluster's DNS (kube-dns): one set of records, built from Services and EndpointSlices seen
// through informers, answered on port 53 of every node's own address inside the node's
// namespace. The kube-dns Service (ClusterIP DNS_CLUSTER_IP, internalTrafficPolicy Local) has an
// EndpointSlice naming each node's address, so each node's service proxy sends its pods' queries
// to its own node (node-local DNS, no cross-node hop); kubelets write resolv.conf files naming
// the ClusterIP.
import type { Service } from "../api/core.js";
import type { EndpointSlice } from "../api/extensions.js";
import { ClusterDns, serveDnsTcp, serveDnsUdp, type DnsService } from "../cni/index.js";
import { Informer, KubeClient, R, isAlreadyExists } from "../controlplane/kit/index.js";
import { listenInNetns } from "./netns-listen.js";
import { netnsPath } from "./network.js";
import type { NodeRecord } from "./state.js";

export const DNS_CLUSTER_IP = "10.96.0.10";
export const CLUSTER_DOMAIN = "cluster.local";
const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

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
      metadata: { name: "kube-dns-nodes", namespace: "kube-system", labels: { [SERVICE_NAME_LABEL]: "kube-dns", "endpointslice.kubernetes.io/managed-by": "keel-cluster" } },
      addressType: "IPv4",
      ports: [{ name: "dns", protocol: "UDP", port: 53 }, { name: "dns-tcp", protocol: "TCP", port: 53 }],
      endpoints: nodes.map((n) => ({ addresses: [n.ip], nodeName: n.name, conditions: { ready: true } })),
    } as EndpointSlice,
  };
}


export class ClusterDnsServer {
  readonly dns = new ClusterDns({ domain: CLUSTER_DOMAIN });
  private services?: Informer<Service>;
  private slices?: Informer<EndpointSlice>;
  private readonly sockets: ({ close(): void })[] = [];
  private pending?: NodeJS.Timeout;

  constructor(private readonly client: KubeClient, private readonly log: (m: string) => void) {}

  /** Records from watches, then the kube-dns Service and slice for these nodes. */
  async start(nodes: NodeRecord[]): Promise<void> {
    this.services = new Informer<Service>(this.client, R.services, { log: this.log });
    this.slices = new Informer<EndpointSlice>(this.client, R.endpointslices, { log: this.log });
    const changed = () => {
      // Bursts of events (a Deployment's pods becoming ready) rebuild the records once.
      this.pending ??= setTimeout(() => { this.pending = undefined; this.rebuild(); }, 20);
    };
    for (const inf of [this.services, this.slices] as Informer[]) inf.addEventHandler({ add: changed, update: changed, delete: changed });
    await Promise.all([this.services.start(), this.slices.start()]);
    this.rebuild();
    const { service, slice } = kubeDnsObjects(nodes);
    for (const [r, obj] of [[R.services, service], [R.endpointslices, slice]] as const) {
      try { await this.client.create(r, "kube-system", obj); } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const cur = await this.client.get(r, "kube-system", obj.metadata.name!);
        if (r === R.endpointslices) await this.client.update(r, { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion } });
      }
    }
  }

  /**
   * Serves DNS on port 53 of the node's address, in its namespace. Bound to that address, not
   * the wildcard: a UDP reply must leave from the address the query was DNAT'ed to, or conntrack
   * cannot map it back to the ClusterIP and the pod's resolver drops it.
   */
  async serveNode(node: NodeRecord): Promise<void> {
    const handles = await listenInNetns(netnsPath(node.netns), [{ proto: "tcp", host: node.ip, port: 53 }, { proto: "udp", host: node.ip, port: 53 }]);
    for (const h of handles) {
      if (h.proto === "tcp") { serveDnsTcp(h.server, (q) => this.dns.respond(q)); this.sockets.push(h.server); } else { serveDnsUdp(h.socket, (q) => this.dns.respond(q)); this.sockets.push(h.socket); }
    }
  }

  private rebuild(): void {
    if (!this.services || !this.slices) return;
    this.dns.setServices(dnsServices(this.services.list(), this.slices.list()));
  }

  stop(): void {
    clearTimeout(this.pending);
    this.services?.stop();
    this.slices?.stop();
    for (const s of this.sockets.splice(0)) { try { s.close(); } catch { /* closed */ } }
  }
}
