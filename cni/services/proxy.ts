// The service proxy (kube-proxy's nftables mode, reduced to keel's needs): every Service's
// ClusterIP:port (and NodePort on the node's local addresses) is DNAT'ed to one of its ready
// endpoints chosen at random, inside the node's namespace. syncServices rebuilds the whole
// table `keel-services` from the list it is given, in one nftables transaction, so calling it
// twice with the same list changes nothing and a Service left out of the list disappears.
import { replaceTable, deleteTable, nftIdent } from "../nft.js";
import { guardNodeNetns } from "../netns.js";
import { replaceRoute } from "../netlink.js";
import { parseIpv4, parseCidr, formatCidr } from "../cidr.js";
import { InvalidNetworkConfigError } from "../errors.js";

export const SERVICES_TABLE = "keel-services";
/** The packet mark bit asking for masquerade (kube-proxy's 0x4000). */
const MASQ_MARK = "0x00004000";

export interface ServicePort {
  name?: string;
  protocol: "tcp" | "udp";
  /** The ClusterIP's port. */
  port: number;
  /** The endpoints' port. */
  targetPort: number;
  nodePort?: number;
}

export interface ServiceEndpoint {
  ip: string;
  /** Only ready endpoints receive traffic. */
  ready: boolean;
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  /** Absent or "None" for a headless Service (no proxying: DNS only). */
  clusterIP?: string;
  ports: ServicePort[];
  endpoints: ServiceEndpoint[];
  /** ClientIP: a client keeps reaching the same endpoint for affinityTimeoutSeconds (default 10800, Kubernetes' default). */
  sessionAffinity?: "None" | "ClientIP";
  affinityTimeoutSeconds?: number;
}

export interface ProxyOptions {
  /** Path of the node's network namespace; default: this process's. */
  nodeNetns?: string;
  /** The node's pod CIDR and bridge: a pod reaching a Service whose endpoint sits on the same
   *  bridge is masqueraded, so the reply comes back through the node and is un-NATed. */
  podCIDR?: string;
  bridge?: string;
  /** The Service CIDR (e.g. 10.96.0.0/16). With bridge, a route for it is kept on the bridge so
   *  that the node's own connections to a ClusterIP have a route to start from even on a node
   *  with no default route (the DNAT then picks the endpoint). */
  serviceCIDR?: string;
}

function checkPort(v: number | undefined, field: string): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new InvalidNetworkConfigError(field, `${v} is not a port (1-65535)`);
}

/** The table's text for a list of Services (exported for tests and for `keel` to show). */
export function renderServices(services: ServiceSpec[], opts: ProxyOptions = {}): string {
  const dispatch: string[] = [];
  const nodePorts: string[] = [];
  const reject: string[] = [];
  const chains: string[] = [];
  const sets: string[] = [];
  const sorted = [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  for (const svc of sorted) {
    const where = `service ${svc.namespace}/${svc.name}`;
    if (!svc.clusterIP || svc.clusterIP === "None") continue; // headless
    parseIpv4(svc.clusterIP, `${where}: clusterIP`);
    const ready = svc.endpoints.filter((e) => e.ready);
    ready.forEach((e, i) => parseIpv4(e.ip, `${where}: endpoints[${i}].ip`));
    svc.ports.forEach((p, pi) => {
      checkPort(p.port, `${where}: ports[${pi}].port`);
      checkPort(p.targetPort, `${where}: ports[${pi}].targetPort`);
      checkPort(p.nodePort, `${where}: ports[${pi}].nodePort`);
      if (p.protocol !== "tcp" && p.protocol !== "udp") throw new InvalidNetworkConfigError(`${where}: ports[${pi}].protocol`, `${JSON.stringify(p.protocol)} is not tcp or udp`);
      const chain = `svc_${nftIdent(svc.namespace)}_${nftIdent(svc.name)}_${pi}`;
      if (ready.length === 0) {
        reject.push(`    ip daddr ${svc.clusterIP} ${p.protocol} dport ${p.port} reject`);
        if (p.nodePort) reject.push(`    fib daddr type local ${p.protocol} dport ${p.nodePort} reject`);
        return;
      }
      dispatch.push(`    ip daddr ${svc.clusterIP} ${p.protocol} dport ${p.port} goto ${chain}`);
      // NodePort traffic is masqueraded (externalTrafficPolicy Cluster): the endpoint may be on
      // another node, whose reply must come back through this one to be un-NATed
      if (p.nodePort) nodePorts.push(`    ${p.protocol} dport ${p.nodePort} meta mark set meta mark or ${MASQ_MARK} goto ${chain}`);
      // ClientIP affinity (kube-proxy's nftables design): each endpoint remembers its clients in a
      // set with a timeout; a client found in a set goes to that endpoint before the random pick
      const affinity = svc.sessionAffinity === "ClientIP";
      const timeout = svc.affinityTimeoutSeconds ?? 10800;
      if (affinity && (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400)) {
        throw new InvalidNetworkConfigError(`${where}: affinityTimeoutSeconds`, `${timeout} is out of range (1-86400)`);
      }
      const sticky: string[] = [];
      const epChains = ready.map((e, ei) => {
        const name = `${chain}_ep${ei}`;
        const remember = affinity ? `    update @${name}_clients { ip saddr }\n` : "";
        if (affinity) {
          sets.push(`  set ${name}_clients {\n    type ipv4_addr\n    flags dynamic,timeout\n    timeout ${timeout}s\n  }`);
          sticky.push(`    ip saddr @${name}_clients goto ${name}`);
        }
        chains.push(`  chain ${name} {\n${remember}    meta l4proto ${p.protocol} dnat to ${e.ip}:${p.targetPort}\n  }`);
        return `${ei} : goto ${name}`;
      });
      chains.push(`  chain ${chain} {\n${sticky.map((l) => l + "\n").join("")}    numgen random mod ${ready.length} vmap { ${epChains.join(", ")} }\n  }`);
    });
  }
  const masq: string[] = [`    meta mark & ${MASQ_MARK} == ${MASQ_MARK} masquerade`];
  if (opts.podCIDR && opts.bridge) {
    masq.push(`    ct status dnat ip saddr ${formatCidr(parseCidr(opts.podCIDR, "podCIDR"))} oifname "${opts.bridge}" masquerade`);
  }
  return [
    ...sets,
    "  chain services {",
    ...dispatch,
    "    fib daddr type local jump nodeports",
    "  }",
    "  chain nodeports {",
    ...nodePorts,
    "  }",
    ...chains,
    "  chain nat_prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    jump services\n  }",
    "  chain nat_output {\n    type nat hook output priority -100; policy accept;\n    jump services\n  }",
    `  chain nat_postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n${masq.join("\n")}\n  }`,
    // a Service with no ready endpoint refuses connections at once rather than letting them hang
    `  chain no_endpoints {\n${reject.join("\n")}\n  }`,
    "  chain filter_input {\n    type filter hook input priority filter; policy accept;\n    ct state new jump no_endpoints\n  }",
    "  chain filter_output {\n    type filter hook output priority filter; policy accept;\n    ct state new jump no_endpoints\n  }",
    "  chain filter_forward {\n    type filter hook forward priority filter; policy accept;\n    ct state new jump no_endpoints\n  }",
  ].join("\n");
}

export async function syncServices(services: ServiceSpec[], opts: ProxyOptions = {}): Promise<void> {
  guardNodeNetns(opts.nodeNetns, "program Services");
  const body = renderServices(services, opts);
  if (opts.serviceCIDR && opts.bridge) {
    const cidr = formatCidr(parseCidr(opts.serviceCIDR, "serviceCIDR"));
    await replaceRoute(opts.nodeNetns, { dst: cidr, dev: opts.bridge });
  }
  await replaceTable(opts.nodeNetns, "ip", SERVICES_TABLE, body);
}

/** Removes the proxy's table (the node is going away). */
export async function removeServices(opts: ProxyOptions = {}): Promise<void> {
  guardNodeNetns(opts.nodeNetns, "remove Services");
  await deleteTable(opts.nodeNetns, "ip", SERVICES_TABLE);
}
