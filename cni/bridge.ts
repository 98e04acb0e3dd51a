// The bridge plugin's kernel work: a bridge in the node's namespace holding the gateway address,
// and per pod a veth pair whose one end is the pod's interface (address, default route) and the
// other a port of the bridge. Every step is idempotent so that ADD can be repeated.
import { createHash } from "node:crypto";
import { ipJson, linkExists, runIn } from "./netns.js";
import { NetCommandError } from "./errors.js";

/** The host-side veth's name: keel + a hash of the container and interface (15 chars max). */
export function hostVethName(containerId: string, ifName: string): string {
  return "keel" + createHash("sha256").update(`${containerId}/${ifName}`).digest("hex").slice(0, 10);
}

export async function ensureBridge(nodeNetns: string | undefined, bridge: string, gatewayCidr: string, mtu: number): Promise<void> {
  if (!(await linkExists(nodeNetns, bridge))) {
    try {
      await runIn(nodeNetns, ["ip", "link", "add", "name", bridge, "mtu", String(mtu), "type", "bridge"], `create bridge ${bridge}`);
    } catch (e) {
      // a concurrent ADD created it first
      if (!(e instanceof NetCommandError && /File exists/.test(e.stderr))) throw e;
    }
  }
  await runIn(nodeNetns, ["ip", "addr", "replace", gatewayCidr, "dev", bridge], `set gateway ${gatewayCidr} on bridge ${bridge}`);
  await runIn(nodeNetns, ["ip", "link", "set", "dev", bridge, "mtu", String(mtu), "up"], `bring bridge ${bridge} up`);
  // the node routes between its pods, the overlay and the Services: forwarding on, in this namespace only
  await ensureSysctl(nodeNetns, "net.ipv4.ip_forward", "1");
}

export async function ensureSysctl(netns: string | undefined, key: string, value: string): Promise<void> {
  const { stdout } = await runIn(netns, ["sysctl", "-n", key], `read ${key}`);
  if (stdout.trim() !== value) await runIn(netns, ["sysctl", "-q", "-w", `${key}=${value}`], `set ${key}=${value}`);
}

export interface VethSpec {
  nodeNetns: string | undefined;
  bridge: string;
  hostVeth: string;
  podNetns: string;
  ifName: string;
  mtu: number;
  /** "10.88.1.5/24" */
  addressCidr: string;
  gateway: string;
}

/** Creates (or completes) the pod's veth; returns the MACs of both ends. */
export async function attachVeth(s: VethSpec): Promise<{ hostMac: string; podMac: string }> {
  const podHas = await linkExists(s.podNetns, s.ifName);
  const hostHas = await linkExists(s.nodeNetns, s.hostVeth);
  if (!podHas || !hostHas) {
    // a half-made pair from an interrupted ADD: start again
    if (hostHas) await runIn(s.nodeNetns, ["ip", "link", "del", "dev", s.hostVeth], `remove stale veth ${s.hostVeth}`);
    if (podHas) await runIn(s.podNetns, ["ip", "link", "del", "dev", s.ifName], `remove stale ${s.ifName} in pod`);
    await runIn(
      s.nodeNetns,
      ["ip", "link", "add", "name", s.hostVeth, "mtu", String(s.mtu), "type", "veth", "peer", "name", s.ifName, "mtu", String(s.mtu), "netns", s.podNetns],
      `create veth ${s.hostVeth} <-> ${s.ifName} in ${s.podNetns}`,
    );
  }
  await runIn(s.nodeNetns, ["ip", "link", "set", "dev", s.hostVeth, "master", s.bridge, "up"], `attach ${s.hostVeth} to bridge ${s.bridge}`);
  // hairpin: a pod reaching itself through a NAT'ed address (its hostPort, a Service it backs)
  // is routed back out of the port it came in on; without hairpin the bridge drops it
  await runIn(s.nodeNetns, ["ip", "link", "set", "dev", s.hostVeth, "type", "bridge_slave", "hairpin", "on"], `set hairpin mode on ${s.hostVeth}`);
  await runIn(s.podNetns, ["ip", "link", "set", "dev", "lo", "up"], "bring loopback up in pod");
  await runIn(s.podNetns, ["ip", "addr", "replace", s.addressCidr, "dev", s.ifName], `set ${s.addressCidr} on ${s.ifName} in pod`);
  await runIn(s.podNetns, ["ip", "link", "set", "dev", s.ifName, "up"], `bring ${s.ifName} up in pod`);
  await runIn(s.podNetns, ["ip", "route", "replace", "default", "via", s.gateway, "dev", s.ifName], `default route via ${s.gateway} in pod`);
  return { hostMac: await linkMac(s.nodeNetns, s.hostVeth), podMac: await linkMac(s.podNetns, s.ifName) };
}

export async function linkMac(netns: string | undefined, name: string): Promise<string> {
  const links = await ipJson<{ address?: string }[]>(netns, ["link", "show", "dev", name], `read MAC of ${name}`);
  return links[0]?.address ?? "";
}

/** Removes the pod's veth from whichever side still exists. Idempotent. */
export async function detachVeth(nodeNetns: string | undefined, hostVeth: string, podNetns: string | undefined, ifName: string): Promise<void> {
  if (podNetns && (await linkExists(podNetns, ifName).catch(() => false))) {
    await runIn(podNetns, ["ip", "link", "del", "dev", ifName], `remove ${ifName} in pod`).catch(ignoreGone);
  }
  if (await linkExists(nodeNetns, hostVeth)) {
    await runIn(nodeNetns, ["ip", "link", "del", "dev", hostVeth], `remove veth ${hostVeth}`).catch(ignoreGone);
  }
}

function ignoreGone(e: unknown): void {
  if (e instanceof NetCommandError && /Cannot find device|does not exist/.test(e.stderr)) return;
  throw e;
}

/** What CHECK compares: the pod interface's addresses and default gateway, the veth's master. */
export async function inspectPod(podNetns: string, ifName: string): Promise<{ addrs: string[]; defaultVia?: string }> {
  const ifs = await ipJson<{ addr_info?: { family: string; local: string; prefixlen: number }[] }[]>(podNetns, ["addr", "show", "dev", ifName], `read ${ifName} in pod`);
  const addrs = (ifs[0]?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
  const routes = await ipJson<{ dst: string; gateway?: string }[]>(podNetns, ["route", "show", "default"], "read pod routes");
  return { addrs, defaultVia: routes.find((r) => r.dst === "default")?.gateway };
}

export async function masterOf(netns: string | undefined, link: string): Promise<string | undefined> {
  const l = await ipJson<{ master?: string }[]>(netns, ["link", "show", "dev", link], `read master of ${link}`);
  return l[0]?.master;
}
