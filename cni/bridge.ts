// The bridge plugin's kernel work: a bridge in the node's namespace holding the gateway address,
// and per pod a veth pair whose one end is the pod's interface (address, default route) and the
// other a port of the bridge. Every step is idempotent so that ADD can be repeated. The work is
// netlink requests made in-process (cni/netlink.ts): no child process per step.
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import {
  addBridge,
  batch,
  deleteLink,
  getLink,
  isExists,
  ignoreGone,
  isNetnsUnusable,
  listAddresses,
  listRoutes,
  readSysctl,
  replaceAddress,
  replaceRoute,
  setLink,
  writeSysctl,
  type NetLink,
} from "./netlink.js";
import type { NetlinkError } from "./errors.js";

/** The host-side veth's name: keel + a hash of the container and interface (15 chars max). */
export function hostVethName(containerId: string, ifName: string): string {
  return "keel" + createHash("sha256").update(`${containerId}/${ifName}`).digest("hex").slice(0, 10);
}

/**
 * Bridges this process has configured: (namespace identity, bridge, gateway, mtu) → the bridge's
 * ifindex then. A repeat ADD then costs one lookup: the bridge is still there with the same index
 * (not deleted and re-made by someone), up, and the namespace is the same one (a path can name a
 * new namespace after a `cluster down` and `up` in one process, hence its inode in the key).
 */
const configured = new Map<string, number>();

function netnsIdentity(netns: string | undefined): string {
  try {
    const st = statSync(netns ?? "/proc/self/ns/net");
    return `${st.dev}:${st.ino}`;
  } catch {
    return `missing:${netns}`;
  }
}

export async function ensureBridge(nodeNetns: string | undefined, bridge: string, gatewayCidr: string, mtu: number): Promise<void> {
  const key = `${netnsIdentity(nodeNetns)}|${bridge}|${gatewayCidr}|${mtu}`;
  let link = await getLink(nodeNetns, bridge);
  if (link && link.up && link.mtu === mtu && configured.get(key) === link.index) return;
  if (!link) {
    try {
      await addBridge(nodeNetns, bridge, mtu);
    } catch (e) {
      // a concurrent ADD created it first
      if (!isExists(e)) throw e;
    }
  }
  await replaceAddress(nodeNetns, bridge, gatewayCidr);
  await setLink(nodeNetns, bridge, { mtu, up: true });
  // the node routes between its pods, the overlay and the Services: forwarding on, in this namespace only
  await ensureSysctl(nodeNetns, "net.ipv4.ip_forward", "1");
  link = await getLink(nodeNetns, bridge);
  if (link) configured.set(key, link.index);
}

export async function ensureSysctl(netns: string | undefined, key: string, value: string): Promise<void> {
  if ((await readSysctl(netns, key)) !== value) await writeSysctl(netns, key, value);
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
  // The usual case, a new pod: the whole set-up in one trip through the pool. If the pair (or
  // half of it) is there already, an ADD repeated or interrupted, the careful way below.
  try {
    return await configureVeth(s, true);
  } catch (e) {
    if (!(isExists(e) && (e as NetlinkError).op === "RTM_NEWLINK")) throw e;
  }
  const [podHas, hostHas] = await Promise.all([getLink(s.podNetns, s.ifName), getLink(s.nodeNetns, s.hostVeth)]);
  if (podHas && hostHas) return configureVeth(s, false);
  // a half-made pair from an interrupted ADD: start again
  if (hostHas) await deleteLink(s.nodeNetns, s.hostVeth).catch(ignoreGone);
  if (podHas) await deleteLink(s.podNetns, s.ifName).catch(ignoreGone);
  return configureVeth(s, true);
}

/**
 * One batch: (the pair, its pod end created directly in the pod's namespace, so nothing appears
 * in the node's under the pod's interface name even for a moment), the host end on the bridge,
 * the pod end's address, link and default route; then both ends' MACs.
 */
async function configureVeth(s: VethSpec, create: boolean): Promise<{ hostMac: string; podMac: string }> {
  const node = s.nodeNetns ?? null;
  const out = await batch((n) => {
    if (create) n.netLinkAddVeth(node, s.hostVeth, s.mtu, s.ifName, s.podNetns);
    // hairpin: a pod reaching itself through a NAT'ed address (its hostPort, a Service it backs)
    // is routed back out of the port it came in on; without hairpin the bridge drops it
    n.netLinkSet(node, s.hostVeth, { master: s.bridge, hairpin: true, up: true });
    n.netLinkSet(s.podNetns, "lo", { up: true });
    n.netAddrReplace(s.podNetns, s.ifName, s.addressCidr);
    n.netLinkSet(s.podNetns, s.ifName, { up: true });
    n.netRouteReplace(s.podNetns, { dst: "default", via: s.gateway, dev: s.ifName });
    n.netLinkGet(node, s.hostVeth);
    n.netLinkGet(s.podNetns, s.ifName);
  });
  const [host, pod] = out.slice(-2) as [NetLink | null, NetLink | null];
  return { hostMac: host?.mac ?? "", podMac: pod?.mac ?? "" };
}

export async function linkMac(netns: string | undefined, name: string): Promise<string> {
  return (await getLink(netns, name))?.mac ?? "";
}

/** Removes the pod's veth from whichever side still exists. Idempotent. */
export async function detachVeth(nodeNetns: string | undefined, hostVeth: string, podNetns: string | undefined, ifName: string): Promise<void> {
  if (podNetns) {
    // deleting either end removes the pair; a pod namespace that is gone has nothing left to remove
    await deleteLink(podNetns, ifName).catch((e: unknown) => {
      if (!isNetnsUnusable(e)) ignoreGone(e);
    });
  }
  await deleteLink(nodeNetns, hostVeth).catch(ignoreGone);
}

/** What CHECK compares: the pod interface's addresses and default gateway, the veth's master. */
export async function inspectPod(podNetns: string, ifName: string): Promise<{ addrs: string[]; defaultVia?: string }> {
  const addrs = (await listAddresses(podNetns, ifName)).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
  const routes = await listRoutes(podNetns);
  return { addrs, defaultVia: routes.find((r) => r.dst === "default")?.gateway };
}

export async function masterOf(netns: string | undefined, link: string): Promise<string | undefined> {
  return (await getLink(netns, link))?.master;
}
