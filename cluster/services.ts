// Services on every node (kube-proxy's job): Services and their EndpointSlices, read from the API
// server, become cni/services' table `keel-services` in each node's namespace. The whole list is
// rebuilt and applied (one nft transaction per node) whenever it differs from the last one.
// Polled every half second: simple, and within the "a second" Services are expected to follow.
import type { Service } from "../api/core.js";
import type { EndpointSlice } from "../api/extensions.js";
import { syncServices, removeServices, type ServiceSpec } from "../cni/index.js";
import { linkExists } from "../cni/netns.js";
import { KubeClient, R } from "../controlplane/kit/index.js";
import { netnsPath } from "./network.js";
import type { NodeRecord } from "./state.js";

export const SERVICE_CIDR = "10.96.0.0/16";
const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** cni's default pod bridge, which each node namespace uses. */
const POD_BRIDGE = "keel0";

/**
 * The proxy's view of Services: ClusterIP Services with their ready and not-ready endpoints. On
 * `node`, a Service with internalTrafficPolicy Local keeps only the endpoints on that node.
 */
export function serviceSpecs(services: Service[], slices: EndpointSlice[], node?: string): ServiceSpec[] {
  const out: ServiceSpec[] = [];
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? "default";
    const name = svc.metadata.name!;
    const mine = slices.filter((s) => (s.metadata.namespace ?? "default") === ns && s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.addressType === "IPv4");
    const ports = (svc.spec?.ports ?? []).flatMap((p) => {
      // The slice names the resolved target port (named container ports included); a numeric
      // targetPort is used as it is when no slice says otherwise.
      const fromSlice = mine.flatMap((s) => s.ports ?? []).find((sp) => (sp.name ?? "") === (p.name ?? ""))?.port;
      const target = fromSlice ?? (typeof p.targetPort === "number" ? p.targetPort : p.targetPort === undefined ? p.port : undefined);
      if (target === undefined) return [];
      return [{ name: p.name, protocol: (p.protocol ?? "TCP") === "UDP" ? "udp" as const : "tcp" as const, port: p.port, targetPort: target, ...(p.nodePort ? { nodePort: p.nodePort } : {}) }];
    });
    const local = node !== undefined && svc.spec?.internalTrafficPolicy === "Local";
    const endpoints = mine.flatMap((s) => s.endpoints.filter((e) => !local || e.nodeName === node).flatMap((e) => e.addresses.map((ip) => ({ ip, ready: e.conditions?.ready !== false }))));
    out.push({ namespace: ns, name, clusterIP: svc.spec?.clusterIP, ports, endpoints, sessionAffinity: svc.spec?.sessionAffinity });
  }
  return out;
}

export class ServiceSync {
  /** Per node, what was last applied there (the list, and whether its pod bridge existed yet). */
  private readonly applied = new Map<string, string>();
  private readonly podCIDRs = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly client: KubeClient, private readonly nodes: NodeRecord[], private readonly log: (m: string) => void, private readonly intervalMs = 500) {}

  /** A node's pod CIDR (for the masquerade of hairpin traffic); re-applies the table there. */
  setPodCIDR(node: string, cidr: string): void {
    this.podCIDRs.set(node, cidr);
    this.applied.delete(node);
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.sync().catch((e: Error) => this.log(`cluster services: ${e.message}`)).finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
      });
    };
    loop();
  }

  async sync(): Promise<void> {
    const [services, slices] = await Promise.all([this.client.listAll<Service>(R.services), this.client.listAll<EndpointSlice>(R.endpointslices)]);
    for (const n of this.nodes) {
      const specs = serviceSpecs(services.items, slices.items, n.name);
      const list = JSON.stringify(specs);
      const nodeNetns = netnsPath(n.netns);
      // The node's own route to the Service CIDR goes via its pod bridge, made with its first pod.
      const bridge = (await linkExists(nodeNetns, POD_BRIDGE)) ? POD_BRIDGE : undefined;
      const key = `${bridge ?? ""} ${list}`;
      if (this.applied.get(n.name) === key) continue;
      await syncServices(specs, { nodeNetns, podCIDR: this.podCIDRs.get(n.name), bridge, serviceCIDR: SERVICE_CIDR });
      this.applied.set(n.name, key);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Removes the table from every node (the namespaces' removal would take it too). */
  async remove(): Promise<void> {
    for (const n of this.nodes) await removeServices({ nodeNetns: netnsPath(n.netns) });
  }
}
