// PodNetwork (bridge + host-local IPAM + hostPort) inside a node namespace the test creates.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { PodNetwork, HostNetnsRefusedError, InvalidNetworkConfigError, NetnsNotFoundError } from "../../cni/index.js";
import { NetLab, leftoverNetns } from "./fixtures.js";

const lab = new NetLab();
let node: { name: string; path: string };
let net: PodNetwork;
const POD_CIDR = "10.88.1.0/24";

before(async () => {
  node = await lab.addNetns("node");
  net = new PodNetwork({ nodeNetns: node.path, podCIDR: POD_CIDR, stateDir: lab.tempDir() });
});

after(async () => {
  await lab.cleanup();
  assert.deepEqual(await leftoverNetns(lab), []);
});

test("two pods on one node reach each other and their gateway", async () => {
  const a = await lab.addNetns("pa");
  const b = await lab.addNetns("pb");
  const ra = await net.add({ containerId: "keelpoda", netns: a.path, podName: "a", podNamespace: "default" });
  const rb = await net.add({ containerId: "keelpodb", netns: b.path });
  assert.equal(ra.gateway, "10.88.1.1");
  assert.equal(ra.prefixLength, 24);
  assert.notEqual(ra.ip, rb.ip);
  assert.match(ra.ip, /^10\.88\.1\.\d+$/);
  assert.match(ra.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(ra.interfaces.length, 2);
  assert.equal(ra.interfaces[1]!.name, "eth0");
  assert.equal(ra.interfaces[1]!.sandbox, a.path);
  assert.ok(await lab.ping(a.name, rb.ip), "pod a pings pod b");
  assert.ok(await lab.ping(b.name, ra.ip), "pod b pings pod a");
  assert.ok(await lab.ping(a.name, ra.gateway), "pod a pings its gateway");
  assert.ok(await lab.ping(a.name, "127.0.0.1"), "loopback is up in the pod");
  assert.ok(await lab.ping(node.name, rb.ip), "the node reaches the pod");
  await net.check({ containerId: "keelpoda", netns: a.path });
  // TCP between the pods
  await lab.tcpServer(b.name, 7000, "b");
  assert.deepEqual(await lab.tcpRequests(a.name, rb.ip, 7000, 1), ["b:hi"]);
  await net.del({ containerId: "keelpoda", netns: a.path });
  await net.del({ containerId: "keelpodb", netns: b.path });
});

test("ADD twice is idempotent; DEL frees the address and may be repeated", async () => {
  const p = await lab.addNetns("pi");
  const r1 = await net.add({ containerId: "keelidem", netns: p.path });
  const r2 = await net.add({ containerId: "keelidem", netns: p.path });
  assert.equal(r2.ip, r1.ip);
  assert.equal(r2.mac, r1.mac);
  assert.equal((await net.allocations()).get(r1.ip), "keelidem");
  await net.check({ containerId: "keelidem", netns: p.path });
  await net.del({ containerId: "keelidem", netns: p.path });
  assert.equal((await net.allocations()).has(r1.ip), false);
  await net.del({ containerId: "keelidem", netns: p.path });
  await assert.rejects(net.check({ containerId: "keelidem", netns: p.path }), /no ADD recorded/);
  const { stdout } = await lab.exec(p.name, ["ip", "-o", "link"]);
  assert.doesNotMatch(stdout, /eth0/);
});

test("DEL after the pod's namespace is gone still cleans the node side", async () => {
  const p = await lab.addNetns("pg");
  const r = await net.add({ containerId: "keelgone", netns: p.path });
  await lab.exec(node.name, ["ip", "link", "show", r.interfaces[0]!.name]);
  await lab.exec(node.name, ["true"]);
  await import("node:child_process").then(({ execFileSync }) => execFileSync("ip", ["netns", "del", p.name]));
  await net.del({ containerId: "keelgone", netns: p.path });
  assert.equal((await net.allocations()).has(r.ip), false);
  await assert.rejects(lab.exec(node.name, ["ip", "link", "show", r.interfaces[0]!.name]));
});

test("concurrent ADDs get distinct addresses", async () => {
  const pods = await Promise.all(Array.from({ length: 8 }, (_, i) => lab.addNetns(`pc${i}`)));
  const results = await Promise.all(pods.map((p, i) => net.add({ containerId: `keelconc${i}`, netns: p.path })));
  const ips = results.map((r) => r.ip);
  assert.equal(new Set(ips).size, ips.length, `distinct: ${ips.join(" ")}`);
  assert.ok(await lab.ping(pods[0]!.name, ips[7]!));
  await Promise.all(pods.map((p, i) => net.del({ containerId: `keelconc${i}`, netns: p.path })));
  assert.equal((await net.allocations()).size, 0);
});

test("hostPort is reachable from the node's namespace and from another pod", async () => {
  const srv = await lab.addNetns("ph");
  const cli = await lab.addNetns("pk");
  const r = await net.add({ containerId: "keelhp", netns: srv.path, portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: "tcp" }] });
  await net.add({ containerId: "keelhpc", netns: cli.path });
  await lab.tcpServer(srv.name, 8080, "srv");
  assert.deepEqual(await lab.tcpRequests(node.name, r.gateway, 18080, 2), ["srv:hi", "srv:hi"]);
  assert.deepEqual(await lab.tcpRequests(cli.name, r.gateway, 18080, 1), ["srv:hi"]);
  // the pod reaching its own hostPort (hairpin)
  assert.deepEqual(await lab.tcpRequests(srv.name, r.gateway, 18080, 1), ["srv:hi"]);
  await net.del({ containerId: "keelhp", netns: srv.path });
  await net.del({ containerId: "keelhpc", netns: cli.path });
  const { stdout } = await lab.exec(node.name, ["nft", "list", "tables"]);
  assert.doesNotMatch(stdout, /keel-hostports/, "the hostport table goes with the last mapping");
});

test("gc detaches the pods a restarted kubelet no longer has", async () => {
  const keepNs = await lab.addNetns("pk1");
  const goneNs = await lab.addNetns("pk2");
  await net.add({ containerId: "keelkeep", netns: keepNs.path });
  const gone = await net.add({ containerId: "keelgc", netns: goneNs.path, portMappings: [{ hostPort: 18081, containerPort: 80, protocol: "tcp" }] });
  assert.deepEqual(await net.gc(["keelkeep"]), ["keelgc"]);
  assert.deepEqual([...(await net.allocations()).values()], ["keelkeep"]);
  await assert.rejects(lab.exec(node.name, ["ip", "link", "show", gone.interfaces[0]!.name]));
  await net.check({ containerId: "keelkeep", netns: keepNs.path });
  await net.del({ containerId: "keelkeep", netns: keepNs.path });
});

test("bad input is refused with a typed error and changes nothing", async () => {
  assert.throws(() => new PodNetwork({ podCIDR: "10.88.1.0/33" }), InvalidNetworkConfigError);
  assert.throws(() => new PodNetwork({ podCIDR: "10.88.1.0/24", bridge: "a-name-far-too-long" }), /bridge/);
  await assert.rejects(net.add({ containerId: "keelnone", netns: "/run/netns/keel-does-not-exist" }), NetnsNotFoundError);
  const p = await lab.addNetns("pv");
  await assert.rejects(
    net.add({ containerId: "keelbadport", netns: p.path, portMappings: [{ hostPort: 70000, containerPort: 80, protocol: "tcp" }] }),
    /portMappings\[0\]\.hostPort/,
  );
  await assert.rejects(net.add({ containerId: "../x", netns: p.path }), /containerId/);
  assert.equal((await net.allocations()).size, 0);
});

test("the host's own network namespace is refused under tests", async () => {
  const p = await lab.addNetns("pw");
  const hostNet = new PodNetwork({ podCIDR: "10.88.9.0/24", stateDir: lab.tempDir() });
  await assert.rejects(hostNet.add({ containerId: "keelhost", netns: p.path }), HostNetnsRefusedError);
});
