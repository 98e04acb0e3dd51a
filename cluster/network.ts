// The cluster's own network, made entirely of namespaces keel creates (the host's network
// namespace is never touched): an underlay namespace holding a bridge, and per node a namespace
// whose eth0 is a veth on that bridge with the node's address. Pod bridges, the VXLAN overlay and
// the service tables then live inside each node's namespace (cni/). Namespaces are made and
// removed with `ip netns` (its bind mounts under /run/netns are the convention other tools read);
// links and addresses inside them are netlink requests made in-process (cni/netlink.ts).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { NetnsExistsError } from "./errors.js";
import { addBridge, addVeth, replaceAddress, setLink } from "../cni/netlink.js";

export const UNDERLAY_BRIDGE = "keelul0";

export class NetworkSetupError extends Error {
  override name = "NetworkSetupError";
  constructor(readonly argv: string[], readonly stderr: string) {
    super(`\`${argv.join(" ")}\` failed: ${stderr.trim()}`);
  }
}

function ip(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, (err, _out, stderr) => (err ? reject(new NetworkSetupError(["ip", ...args], String(stderr || err.message))) : resolve()));
  });
}

export const netnsPath = (name: string) => `/run/netns/${name}`;
export const netnsExists = (name: string) => existsSync(netnsPath(name));

async function addNetns(name: string): Promise<void> {
  if (netnsExists(name)) throw new NetnsExistsError(name);
  await ip("netns", "add", name);
  await setLink(netnsPath(name), "lo", { up: true });
}

/** The underlay: a namespace with one bridge, the "switch" every node is plugged into. */
export async function createUnderlay(netns: string): Promise<void> {
  await addNetns(netns);
  await addBridge(netnsPath(netns), UNDERLAY_BRIDGE, 1500);
  await setLink(netnsPath(netns), UNDERLAY_BRIDGE, { up: true });
}

/**
 * A node: its namespace, and a veth pair made inside the underlay namespace whose far end is
 * moved straight into the node's as eth0 (so no interface ever exists in the host's namespace).
 */
export async function createNodeNetns(o: { netns: string; underlayNetns: string; port: string; ip: string; prefixLength: number }): Promise<void> {
  await addNetns(o.netns);
  await addVeth(netnsPath(o.underlayNetns), o.port, 1500, "eth0", netnsPath(o.netns));
  await setLink(netnsPath(o.underlayNetns), o.port, { master: UNDERLAY_BRIDGE, up: true });
  await replaceAddress(netnsPath(o.netns), "eth0", `${o.ip}/${o.prefixLength}`);
  await setLink(netnsPath(o.netns), "eth0", { up: true });
}

/**
 * Gives the underlay bridge an address inside the underlay namespace: the API server's address
 * for nodes joining over the underlay (the host's own namespace still gets nothing).
 */
export async function addUnderlayAddress(netns: string, address: string, prefixLength: number): Promise<void> {
  await replaceAddress(netnsPath(netns), UNDERLAY_BRIDGE, `${address}/${prefixLength}`);
}

/** Deletes a named namespace; its interfaces (veths, bridges, VXLAN) and nft tables go with it. */
export async function removeNetns(name: string): Promise<void> {
  if (!netnsExists(name)) return;
  await ip("netns", "del", name);
}
