// The VXLAN overlay between two node namespaces joined by an underlay bridge (in a third
// namespace): pods on different nodes reach each other by IP, nodes reach remote pods, a
// Service on one node balances over endpoints on both, and a node leaving takes its routes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PodNetwork, Overlay, syncServices, removeNodeNetwork, type OverlayPeer } from "../../cni/index.js";
import { NetLab, leftoverNetns, buildUnderlay } from "./fixtures.js";

const run = promisify(execFile);
const lab = new NetLab();
interface Node {
  name: string;
  path: string;
  ip: string;
  podCIDR: string;
  net: PodNetwork;
  overlay: Overlay;
  peer?: OverlayPeer;
  pod?: { name: string; path: string; ip: string };
}
const nodes: Node[] = [];
let underlay: { name: string };

before(async () => {
  const specs = [
    { ip: "10.200.0.1", podCIDR: "10.88.1.0/24" },
    { ip: "10.200.0.2", podCIDR: "10.88.2.0/24" },
  ];
  for (const [i, s] of specs.entries()) {
    const ns = await lab.addNetns(`n${i}`);
    const state = lab.tempDir();
    nodes.push({
      ...ns,
      ...s,
      net: new PodNetwork({ nodeNetns: ns.path, podCIDR: s.podCIDR, clusterCIDR: "10.88.0.0/16", mtu: 1450, stateDir: state }),
      overlay: new Overlay({ nodeNetns: ns.path, localIP: s.ip, podCIDR: s.podCIDR, underlayDevice: "ul0" }),
    });
  }
  underlay = await buildUnderlay(lab, nodes);
  // the underlay's own side gets an address too: a client outside every node
  await run("ip", ["-n", underlay.name, "addr", "add", "10.200.0.9/24", "dev", "keelul0"]);
  for (const n of nodes) {
    const { vtepMac } = await n.overlay.ensure();
    n.peer = { nodeIP: n.ip, podCIDR: n.podCIDR, vtepMac };
  }
  const peers = nodes.map((n) => n.peer!);
  for (const n of nodes) await n.overlay.syncOverlay(peers);
  for (const [i, n] of nodes.entries()) {
    const ns = await lab.addNetns(`op${i}`);
    const r = await n.net.add({ containerId: `keelov${i}`, netns: ns.path });
    n.pod = { ...ns, ip: r.ip };
  }
});

after(async () => {
  await lab.cleanup();
  assert.deepEqual(await leftoverNetns(lab), []);
});

test("pods on two nodes reach each other over VXLAN (ping and TCP)", async () => {
  const [a, b] = nodes as [Node, Node];
  assert.match(a.pod!.ip, /^10\.88\.1\./);
  assert.match(b.pod!.ip, /^10\.88\.2\./);
  assert.ok(await lab.ping(a.pod!.name, b.pod!.ip), "pod A pings pod B");
  assert.ok(await lab.ping(b.pod!.name, a.pod!.ip), "pod B pings pod A");
  assert.ok(await lab.ping(a.name, b.pod!.ip), "node A reaches pod B");
  await lab.tcpServer(b.pod!.name, 9000, "podb");
  assert.deepEqual(await lab.tcpRequests(a.pod!.name, b.pod!.ip, 9000, 3), ["podb:hi", "podb:hi", "podb:hi"]);
  // the traffic really crossed the VXLAN device
  const { stdout } = await run("ip", ["-n", a.name, "-j", "-s", "link", "show", "dev", a.overlay.device]);
  const stats = (JSON.parse(stdout) as { stats64: { tx: { packets: number } } }[])[0]!.stats64;
  assert.ok(stats.tx.packets > 0);
});

test("a Service balances over endpoints on both nodes: from a node, a pod, and by NodePort from the underlay", async () => {
  const [a, b] = nodes as [Node, Node];
  await lab.tcpServer(a.pod!.name, 9001, "poda");
  await lab.tcpServer(b.pod!.name, 9001, "podb");
  await syncServices(
    [{ namespace: "default", name: "web", clusterIP: "10.96.0.20", ports: [{ protocol: "tcp", port: 80, targetPort: 9001 }], endpoints: [{ ip: a.pod!.ip, ready: true }, { ip: b.pod!.ip, ready: true }] }],
    { nodeNetns: a.path, podCIDR: a.podCIDR, bridge: "keel0", serviceCIDR: "10.96.0.0/16" },
  );
  const r = await lab.tcpRequests(a.name, "10.96.0.20", 80, 30);
  assert.deepEqual(new Set(r), new Set(["poda:hi", "podb:hi"]), r.join(" "));
  // NodePort from the underlay, outside every node: endpoints on both nodes answer
  await syncServices(
    [{ namespace: "default", name: "web", clusterIP: "10.96.0.20", ports: [{ protocol: "tcp", port: 80, targetPort: 9001, nodePort: 30090 }], endpoints: [{ ip: a.pod!.ip, ready: true }, { ip: b.pod!.ip, ready: true }] }],
    { nodeNetns: a.path, podCIDR: a.podCIDR, bridge: "keel0", serviceCIDR: "10.96.0.0/16" },
  );
  const np = await lab.tcpRequests(underlay.name, a.ip, 30090, 30);
  assert.deepEqual(new Set(np), new Set(["poda:hi", "podb:hi"]), np.join(" "));
  // the same Service programmed on node B (each node runs the proxy): a pod on B reaches it too
  await syncServices(
    [{ namespace: "default", name: "web", clusterIP: "10.96.0.20", ports: [{ protocol: "tcp", port: 80, targetPort: 9001 }], endpoints: [{ ip: a.pod!.ip, ready: true }, { ip: b.pod!.ip, ready: true }] }],
    { nodeNetns: b.path, podCIDR: b.podCIDR, bridge: "keel0", serviceCIDR: "10.96.0.0/16" },
  );
  const fromB = await lab.tcpRequests(b.pod!.name, "10.96.0.20", 80, 30);
  assert.deepEqual(new Set(fromB), new Set(["poda:hi", "podb:hi"]), fromB.join(" "));
});

test("syncOverlay is idempotent and removes a node that left", async () => {
  const [a, b] = nodes as [Node, Node];
  const peers = nodes.map((n) => n.peer!);
  const show = async () => (await run("ip", ["-n", a.name, "route", "show", "dev", a.overlay.device])).stdout + (await run("bridge", ["-n", a.name, "fdb", "show", "dev", a.overlay.device])).stdout;
  const before = await show();
  await a.overlay.syncOverlay(peers);
  assert.equal(await show(), before);
  assert.match(before, /10\.88\.2\.0\/24 via 10\.88\.2\.0/);
  await a.overlay.syncOverlay([a.peer!]);
  const after = await show();
  assert.doesNotMatch(after, /10\.88\.2\.0/);
  assert.doesNotMatch(after, new RegExp(b.peer!.vtepMac));
  assert.equal(await lab.ping(a.pod!.name, b.pod!.ip), false);
  await a.overlay.syncOverlay(peers);
  assert.ok(await lab.ping(a.pod!.name, b.pod!.ip));
  await a.overlay.remove();
  await a.overlay.remove();
});

test("removeNodeNetwork leaves the node's namespace as it found it", async () => {
  const [, b] = nodes as [Node, Node];
  await syncServices([], { nodeNetns: b.path });
  await b.net.del({ containerId: "keelov1", netns: b.pod!.path });
  await removeNodeNetwork({ nodeNetns: b.path });
  await removeNodeNetwork({ nodeNetns: b.path });
  const links = (await run("ip", ["-n", b.name, "-o", "link"])).stdout;
  assert.doesNotMatch(links, /keel0|keelvx1/);
  assert.match(links, /ul0/);
  assert.equal((await run("ip", ["netns", "exec", b.name, "nft", "list", "tables"])).stdout.trim(), "");
});
