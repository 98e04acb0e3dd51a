// IPv4 address and CIDR arithmetic (keel's pod network is IPv4).
import { InvalidNetworkConfigError } from "./errors.js";

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit number. */
  network: number;
  prefixLength: number;
  /** Number of addresses in the range, network and broadcast included. */
  size: number;
}

export function parseIpv4(s: string, field = "address"): number {
  const parts = s.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new InvalidNetworkConfigError(field, `${JSON.stringify(s)} is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function parseCidr(s: string, field = "cidr"): Ipv4Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(s);
  if (!m || Number(m[2]) > 32) throw new InvalidNetworkConfigError(field, `${JSON.stringify(s)} is not an IPv4 CIDR`);
  const prefixLength = Number(m[2]);
  const size = 2 ** (32 - prefixLength);
  const addr = parseIpv4(m[1]!, field);
  const network = addr - (addr % size);
  return { network, prefixLength, size };
}

export function formatCidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.network)}/${c.prefixLength}`;
}

export function cidrContains(c: Ipv4Cidr, ip: number): boolean {
  return ip >= c.network && ip < c.network + c.size;
}

/** The conventional gateway: the first usable address. */
export function gatewayOf(c: Ipv4Cidr): number {
  return c.network + 1;
}
