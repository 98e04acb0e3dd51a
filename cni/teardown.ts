// Removing everything keel's networking made in a node's namespace (a node leaving the cluster,
// `keel cluster down` on a real machine): the bridge, the VXLAN device and keel's nftables
// tables. Pods' veths go with their namespaces or the bridge. Idempotent.
import { guardNodeNetns } from "./netns.js";
import { deleteLink, ignoreGone } from "./netlink.js";
import { deleteTable } from "./nft.js";
import { HOSTPORT_TABLE } from "./hostports.js";
import { SERVICES_TABLE } from "./services/proxy.js";
import { DEFAULT_BRIDGE } from "./pod-network.js";

export async function removeNodeNetwork(o: { nodeNetns?: string; bridge?: string; overlayDevice?: string } = {}): Promise<void> {
  guardNodeNetns(o.nodeNetns, "remove the node's network");
  for (const dev of [o.overlayDevice ?? "keelvx1", o.bridge ?? DEFAULT_BRIDGE]) {
    await deleteLink(o.nodeNetns, dev).catch(ignoreGone);
  }
  for (const t of [HOSTPORT_TABLE, SERVICES_TABLE]) await deleteTable(o.nodeNetns, "ip", t);
}
