// A pod's /etc/resolv.conf, as the kubelet computes it (pkg/kubelet/network/dns/dns.go): the
// pod's dnsPolicy picks the base (ClusterFirst: the cluster DNS and the search path of the pod's
// namespace; Default: the node's own resolv.conf; None: nothing), then spec.dnsConfig is merged
// in. The file is written once per pod (ROOT/pods/<uid>/resolv.conf) and bind-mounted into each
// of its containers, as container runtimes do with the sandbox's copy.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Pod } from "../api/index.js";
import { writeFileAtomicSync } from "../lib/atomic-file.js";
import type { Mount } from "../oci/runtime-spec.js";
import type { KubeletPaths } from "./paths.js";

/** The kubelet config's DNS settings (KubeletConfiguration clusterDNS / clusterDomain). */
export interface PodDnsOptions {
  /** The cluster DNS Service's ClusterIP(s). Without them ClusterFirst falls back to Default, as kubelet does. */
  clusterDNS?: string[];
  /** Default cluster.local. */
  clusterDomain?: string;
  /** The node's resolv.conf for dnsPolicy Default (default /etc/resolv.conf). */
  resolvConf?: string;
}

export interface PodDnsConfig {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

interface DnsConfigField {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

// resolv.conf limits glibc (and kubelet) honour.
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

const dedup = (xs: string[]) => [...new Set(xs)];

/** The parts of a resolv.conf text (nameserver, search, options lines). */
export function parseResolvConf(text: string): PodDnsConfig {
  const out: PodDnsConfig = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split("\n")) {
    const f = raw.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (f[0] === "nameserver" && f[1]) out.nameservers.push(f[1]);
    else if (f[0] === "search" || f[0] === "domain") out.searches = f.slice(1);
    else if (f[0] === "options") for (const o of f.slice(1)) { const [name, value] = o.split(":"); out.options.push(value === undefined ? { name: name! } : { name: name!, value }); }
  }
  return out;
}

/**
 * The DNS configuration of a pod; undefined when the container should keep its image's own
 * resolv.conf (Default policy on a kubelet with no node resolv.conf, and no dnsConfig).
 */
export function podDnsConfig(pod: Pod, o: PodDnsOptions = {}): PodDnsConfig | undefined {
  const spec = pod.spec ?? { containers: [] };
  const extra = (spec as { dnsConfig?: DnsConfigField }).dnsConfig;
  const policy = spec.dnsPolicy ?? "ClusterFirst";
  const domain = o.clusterDomain ?? "cluster.local";
  let type: "ClusterFirst" | "Default" | "None" =
    policy === "None" ? "None"
      : policy === "ClusterFirstWithHostNet" ? "ClusterFirst"
        : policy === "ClusterFirst" && !spec.hostNetwork ? "ClusterFirst" : "Default";
  if (type === "ClusterFirst" && !o.clusterDNS?.length) type = "Default";
  let base: PodDnsConfig;
  if (type === "None") base = { nameservers: [], searches: [], options: [] };
  else if (type === "ClusterFirst") {
    const ns = pod.metadata.namespace ?? "default";
    // The node's own search domains are not appended (kubelet does): a keel cluster's nodes
    // have no upstream resolver, and the cluster's search path is what pods rely on.
    base = { nameservers: [...o.clusterDNS!], searches: [`${ns}.svc.${domain}`, `svc.${domain}`, domain], options: [{ name: "ndots", value: "5" }] };
  } else {
    const file = o.resolvConf ?? "/etc/resolv.conf";
    if (!extra && !o.resolvConf) return undefined; // keel's historical behaviour: the image's own file
    base = existsSync(file) ? parseResolvConf(readFileSync(file, "utf8")) : { nameservers: [], searches: [], options: [] };
  }
  if (extra) {
    base.nameservers = dedup([...base.nameservers, ...(extra.nameservers ?? [])]);
    base.searches = dedup([...base.searches, ...(extra.searches ?? [])]);
    const opts = new Map(base.options.map((x) => [x.name, x]));
    for (const x of extra.options ?? []) opts.set(x.name, x);
    base.options = [...opts.values()];
  }
  base.nameservers = base.nameservers.slice(0, MAX_NAMESERVERS);
  base.searches = base.searches.slice(0, MAX_SEARCHES);
  return base;
}

export function formatResolvConf(c: PodDnsConfig): string {
  const lines = c.nameservers.map((n) => `nameserver ${n}`);
  if (c.searches.length) lines.push(`search ${c.searches.join(" ")}`);
  if (c.options.length) lines.push(`options ${c.options.map((x) => (x.value === undefined ? x.name : `${x.name}:${x.value}`)).join(" ")}`);
  return lines.join("\n") + "\n";
}

/** Writes the pod's resolv.conf (if it gets one) and returns the bind mount for a container. */
export function podDnsMounts(pod: Pod, paths: KubeletPaths, o: PodDnsOptions | undefined): Mount[] {
  const cfg = podDnsConfig(pod, o);
  if (!cfg) return [];
  const file = join(paths.podDir(pod.metadata.uid!), "resolv.conf");
  // Not fsync'd: written again at every container start.
  writeFileAtomicSync(file, formatResolvConf(cfg), 0o644, { durable: false });
  return [{ destination: "/etc/resolv.conf", type: "bind", source: file, options: ["rbind", "rprivate"] }];
}
