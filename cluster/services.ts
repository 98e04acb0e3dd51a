// Services on every node (kube-proxy's job): Services and their EndpointSlices, followed with
// list+watch, become cni/services' table `keel-services` in each node's namespace. Events are
// debounced (a burst of endpoint changes is one rebuild), and a node's table is replaced (one nft
// transaction) only when what it would hold differs from what was last applied there. `keel
// cluster up` runs one ServiceSync over all its nodes; `keel join` runs one for its own node.
import type { Service } from "../api/core.js";
import { SERVICE_NAME_LABEL, type EndpointSlice } from "../api/extensions.js";
import { syncServices, removeServices, type ServiceSpec } from "../cni/index.js";
import { linkExists } from "../cni/netns.js";
import type { KubeClient } from "../controlplane/kit/index.js";
import { ServiceInformers } from "./service-informers.js";

export const SERVICE_CIDR = "10.96.0.0/16";
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

/** A node whose namespace this proxy programs. */
export interface ProxyNode {
  name: string;
  /** Path of the node's network namespace (/run/netns/NAME, or /proc/PID/ns/net for this process's). */
  netnsPath: string;
}

export interface ServiceSyncOptions {
  /** How long events are gathered before the tables are rebuilt (default 50 ms). */
  debounceMs?: number;
  /** How often a node with no pod bridge yet is looked at again (default 500 ms): the bridge comes with the node's first pod, which no Service event announces. */
  bridgeCheckMs?: number;
  /** After a failed apply, how long until the node is tried again (default 1 s). */
  retryMs?: number;
}

export class ServiceSync {
  /** Per node, what was last applied there (the list, its pod bridge and pod CIDR). */
  private readonly applied = new Map<string, string>();
  private readonly podCIDRs = new Map<string, string>();
  /** Nodes whose pod bridge was seen: it stays while the node lives, so it is not looked up again. */
  private readonly bridged = new Set<string>();
  /** Services and EndpointSlices: shared with the node's DNS server when given, else this sync's own. */
  private readonly informers: ServiceInformers;
  private readonly ownInformers: boolean;
  private timer?: NodeJS.Timeout;
  private timerDue = 0;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly debounceMs: number;
  private readonly bridgeCheckMs: number;
  private readonly retryMs: number;
  /** How many tables were replaced (tests count them). */
  applies = 0;

  constructor(client: KubeClient, private readonly nodes: ProxyNode[], private readonly log: (m: string) => void, o: ServiceSyncOptions & { informers?: ServiceInformers } = {}) {
    this.ownInformers = !o.informers;
    this.informers = o.informers ?? new ServiceInformers(client, log);
    this.debounceMs = o.debounceMs ?? 50;
    this.bridgeCheckMs = o.bridgeCheckMs ?? 500;
    this.retryMs = o.retryMs ?? 1_000;
  }

  /** A node's pod CIDR (for the masquerade of hairpin traffic); re-applies the table there. */
  setPodCIDR(node: string, cidr: string): void {
    if (this.podCIDRs.get(node) === cidr) return;
    this.podCIDRs.set(node, cidr);
    this.schedule(0);
  }

  /** Lists and watches Services and EndpointSlices; resolves once both are listed and the tables applied a first time. */
  async start(): Promise<void> {
    this.informers.onChange(() => this.schedule(this.debounceMs));
    await this.informers.start();
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.run();
  }

  /**
   * Rebuilds after `ms` unless a rebuild is already waiting (events in the window join it); an
   * event arriving during a rebuild makes one more follow it.
   */
  private schedule(ms: number): void {
    if (ms < 0 || this.stopped || !this.informers.hasSynced) return;
    if (this.running) { this.again = true; return; }
    // A waiting rebuild due sooner takes this one in; one due later (a retry, a bridge check) is brought forward.
    const due = Date.now() + ms;
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => { this.timer = undefined; void this.run(); }, ms);
  }

  private run(): Promise<void> {
    this.running ??= (async () => {
      this.again = false;
      const { retry, waitBridge } = await this.sync();
      this.running = undefined;
      // Events that came during the pass are gathered for one more, debounced like the first.
      this.schedule(this.again ? this.debounceMs : retry ? this.retryMs : waitBridge ? this.bridgeCheckMs : -1);
    })();
    return this.running;
  }

  /** One pass over the nodes: each table is replaced only if its content changed. */
  private async sync(): Promise<{ retry: boolean; waitBridge: boolean }> {
    let retry = false, waitBridge = false;
    const services = this.informers.services.list(), slices = this.informers.slices.list();
    for (const n of this.nodes) {
      if (this.stopped) break;
      try {
        const specs = serviceSpecs(services, slices, n.name);
        // The node's own route to the Service CIDR goes via its pod bridge, made with its first pod.
        if (!this.bridged.has(n.name) && await linkExists(n.netnsPath, POD_BRIDGE)) this.bridged.add(n.name);
        const bridge = this.bridged.has(n.name) ? POD_BRIDGE : undefined;
        if (!bridge) waitBridge = true;
        const podCIDR = this.podCIDRs.get(n.name);
        const key = JSON.stringify([bridge ?? "", podCIDR ?? "", specs]);
        if (this.applied.get(n.name) === key) continue;
        await syncServices(specs, { nodeNetns: n.netnsPath, podCIDR, bridge, serviceCIDR: SERVICE_CIDR });
        this.applied.set(n.name, key);
        this.applies++;
      } catch (e) {
        this.applied.delete(n.name);
        retry = true;
        this.log(`services on ${n.name}: ${(e as Error).message}`);
      }
    }
    return { retry, waitBridge };
  }

  /** Stops following the API; the tables stay (pods keep reaching Services) until remove(). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ownInformers) this.informers.stop();
    await this.running;
  }

  /** Removes the table from every node (the namespaces' removal would take it too). */
  async remove(): Promise<void> {
    for (const n of this.nodes) await removeServices({ nodeNetns: n.netnsPath });
  }
}
