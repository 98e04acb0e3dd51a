// keel-loopback: brings lo up in the pod's namespace (the reference loopback plugin's job), with
// one netlink request in-process (cni/netlink.ts) rather than an `ip` child.
import { existsSync } from "node:fs";
import { getLink, setLink } from "../netlink.js";
import { CheckFailedError } from "../errors.js";
import type { CniResult, PluginRequest } from "./protocol.js";
import { shapeResult } from "./protocol.js";

export async function keelLoopback(req: PluginRequest): Promise<CniResult | undefined> {
  const v = String(req.config.cniVersion);
  switch (req.command) {
    case "ADD":
      await setLink(req.netns, "lo", { up: true });
      return shapeResult({
        cniVersion: v,
        interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: req.netns }],
        ips: [{ address: "127.0.0.1/8", interface: 0 }],
        dns: {},
      });
    case "DEL":
      if (req.netns && existsSync(req.netns)) await setLink(req.netns, "lo", { up: false }).catch(() => undefined);
      return undefined;
    case "CHECK": {
      // as the reference plugin checks: lo is there and up
      const lo = await getLink(req.netns, "lo");
      if (!lo?.up) throw new CheckFailedError(req.containerId, `lo is ${lo ? "down" : "missing"} in ${req.netns}`);
      return undefined;
    }
    default:
      return undefined;
  }
}
