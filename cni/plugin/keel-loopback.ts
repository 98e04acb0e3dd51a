// keel-loopback: brings lo up in the pod's namespace (the reference loopback plugin's job).
import { existsSync } from "node:fs";
import { runIn } from "../netns.js";
import type { CniResult, PluginRequest } from "./protocol.js";
import { shapeResult } from "./protocol.js";

export async function keelLoopback(req: PluginRequest): Promise<CniResult | undefined> {
  const v = String(req.config.cniVersion);
  switch (req.command) {
    case "ADD":
      await runIn(req.netns, ["ip", "link", "set", "dev", "lo", "up"], "bring loopback up in pod");
      return shapeResult({
        cniVersion: v,
        interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: req.netns }],
        ips: [{ address: "127.0.0.1/8", interface: 0 }],
        dns: {},
      });
    case "DEL":
      if (req.netns && existsSync(req.netns)) await runIn(req.netns, ["ip", "link", "set", "dev", "lo", "down"], "bring loopback down in pod").catch(() => undefined);
      return undefined;
    case "CHECK":
      await runIn(req.netns, ["ip", "link", "show", "dev", "lo", "up"], "check loopback in pod");
      return undefined;
    default:
      return undefined;
  }
}
