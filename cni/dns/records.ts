// Cluster DNS records from Services, as the Kubernetes DNS specification lays them out:
//   <svc>.<ns>.svc.<domain>            A     the ClusterIP (headless: each ready endpoint's IP)
//   _<port>._<proto>.<svc>.<ns>.svc... SRV   port and target for each named port
//   <hostname>.<svc>.<ns>.svc...       A     a headless Service's endpoint with a hostname
// Pure: answer() maps a question to records or to "no such name" so it is testable alone.
import type { Answer, Question } from "dns-packet";

export interface DnsService {
  namespace: string;
  name: string;
  /** Absent or "None": headless. */
  clusterIP?: string;
  ports: { name?: string; protocol: "tcp" | "udp"; port: number }[];
  endpoints?: { ip: string; ready: boolean; hostname?: string }[];
}

export interface DnsAnswer {
  /** false: the name does not exist (NXDOMAIN); true with no answers: exists, no record of that type. */
  exists: boolean;
  answers: Answer[];
  /** Whether the name is inside the cluster domain at all (outside: REFUSED, keel forwards nowhere). */
  inZone: boolean;
}

const TTL = 5;

export class DnsRecords {
  private a = new Map<string, string[]>();
  private srv = new Map<string, { port: number; target: string }[]>();
  private names = new Set<string>();

  constructor(readonly domain = "cluster.local") {}

  /** Replaces every record with those of these Services. */
  setServices(services: DnsService[]): void {
    const a = new Map<string, string[]>();
    const srv = new Map<string, { port: number; target: string }[]>();
    const names = new Set<string>();
    const add = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);
    for (const s of services) {
      const base = `${s.name}.${s.namespace}.svc.${this.domain}`.toLowerCase();
      names.add(base);
      names.add(`${s.namespace}.svc.${this.domain}`.toLowerCase());
      const headless = !s.clusterIP || s.clusterIP === "None";
      const ready = (s.endpoints ?? []).filter((e) => e.ready);
      if (!headless) add(a, base, s.clusterIP!);
      else for (const e of ready) add(a, base, e.ip);
      for (const e of headless ? ready : []) {
        if (!e.hostname) continue;
        const host = `${e.hostname}.${base}`.toLowerCase();
        names.add(host);
        add(a, host, e.ip);
      }
      for (const p of s.ports) {
        if (!p.name) continue;
        const key = `_${p.name}._${p.protocol}.${base}`.toLowerCase();
        names.add(key);
        if (!headless) add(srv, key, { port: p.port, target: base });
        else for (const e of ready) add(srv, key, { port: p.port, target: e.hostname ? `${e.hostname}.${base}` : base });
      }
    }
    this.a = a;
    this.srv = srv;
    this.names = names;
  }

  answer(q: Question): DnsAnswer {
    const name = q.name.toLowerCase().replace(/\.$/, "");
    const inZone = name === this.domain || name.endsWith(`.${this.domain}`);
    if (!inZone) return { exists: false, answers: [], inZone };
    const exists = this.names.has(name) || name === this.domain || name === `svc.${this.domain}`;
    const answers: Answer[] = [];
    if (q.type === "A" || q.type === "ANY" as string) {
      for (const ip of this.a.get(name) ?? []) answers.push({ type: "A", name: q.name, ttl: TTL, class: "IN", data: ip });
    }
    if (q.type === "SRV" || q.type === "ANY" as string) {
      const list = this.srv.get(name) ?? [];
      for (const s of list) answers.push({ type: "SRV", name: q.name, ttl: TTL, class: "IN", data: { priority: 0, weight: Math.floor(100 / list.length), port: s.port, target: s.target } });
    }
    return { exists, answers, inZone };
  }
}

/** A pod's resolv.conf: the cluster DNS and the Kubernetes search path for its namespace. */
export function podResolvConf(namespace: string, nameserver: string, domain = "cluster.local"): string {
  return `nameserver ${nameserver}\nsearch ${namespace}.svc.${domain} svc.${domain} ${domain}\noptions ndots:5\n`;
}
