// Entry of keel's CNI plugin executables (cni/bin/keel-bridge, cni/bin/keel-loopback): the
// wrapper passes the plugin's name as the first argument.
import { runPlugin } from "./protocol.js";
import { keelBridge } from "./keel-bridge.js";
import { keelLoopback } from "./keel-loopback.js";

const plugins = { "keel-bridge": keelBridge, "keel-loopback": keelLoopback } as const;
const name = process.argv[2] as keyof typeof plugins;
const handler = plugins[name];
if (!handler) {
  process.stderr.write(`usage: main.js ${Object.keys(plugins).join("|")}\n`);
  process.exit(2);
}
process.exitCode = await runPlugin(handler);
