// keel's CNI plugin executables, run the way a container runtime runs them (env + stdin, inside
// the node's namespace), side by side with Debian's reference plugins (bridge, host-local,
// loopback) on a second node with the same config shape.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, symlinkSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { CniNetwork, CniPluginError, invokePlugin, keelPluginDir, parseNetworkConfig, type NetworkConfigList, type PodAttachResult } from "../../cni/index.js";
import { NetLab, leftoverNetns } from "./fixtures.js";

const REF_DIR = "/usr/lib/cni";
const haveRef = existsSync(join(REF_DIR, "bridge")) && existsSync(join(REF_DIR, "host-local"));
const lab = new NetLab();
const SUBNET = "10.88.5.0/24";

interface Side {
  label: string;
  node: { name: string; path: string };
  dataDir: string;
  list: NetworkConfigList;
  net: CniNetwork;
}
const sides: Side[] = [];
let binDirs: string[];

function conflist(bridgeType: string, loopbackType: string, dataDir: string, stateDir: string): NetworkConfigList {
  return parseNetworkConfig(
    JSON.stringify({
      cniVersion: "1.0.0",
      name: "keeltest",
      plugins: [
        { type: loopbackType },
        { type: bridgeType, bridge: "keelbr0", isGateway: true, mtu: 1400, stateDir, ipam: { type: "host-local", ranges: [[{ subnet: SUBNET }]], dataDir } },
      ],
    }),
    "test.conflist",
  );
}

before(async () => {
  binDirs = [keelPluginDir(), REF_DIR];
  const kinds: [string, string, string][] = [["keel", "keel-bridge", "keel-loopback"]];
  if (haveRef) kinds.push(["reference", "bridge", "loopback"]);
  for (const [label, br, lo] of kinds) {
    const node = await lab.addNetns(`${label.slice(0, 3)}n`);
    const dataDir = lab.tempDir();
    const list = conflist(br, lo, dataDir, lab.tempDir());
    sides.push({ label, node, dataDir, list, net: new CniNetwork({ list, binDirs, nodeNetns: node.path, cacheDir: lab.tempDir() }) });
  }
});

after(async () => {
  await lab.cleanup();
  assert.deepEqual(await leftoverNetns(lab), []);
});

/** A result with what differs between runs (MACs, generated veth names, netns paths) masked. */
function shape(r: PodAttachResult): unknown {
  return {
    ip: r.ip,
    gateway: r.gateway,
    prefixLength: r.prefixLength,
    mac: /^[0-9a-f:]{17}$/.test(r.mac),
    interfaces: r.interfaces.map((i) => ({ sandbox: i.sandbox ? "pod" : undefined, mac: /^[0-9a-f:]{17}$/.test(i.mac), pod: i.sandbox ? i.name : undefined })),
  };
}

test("keel-bridge and the reference bridge give the same results, and pods reach each other", async () => {
  const shapes: unknown[] = [];
  for (const s of sides) {
    const p1 = await lab.addNetns(`${s.label.slice(0, 3)}1`);
    const p2 = await lab.addNetns(`${s.label.slice(0, 3)}2`);
    const r1 = await s.net.add({ containerId: `keel${s.label}1`, netns: p1.path, podName: "a", podNamespace: "default" });
    const r2 = await s.net.add({ containerId: `keel${s.label}2`, netns: p2.path });
    assert.equal(r1.ip, "10.88.5.2", s.label);
    assert.equal(r2.ip, "10.88.5.3", s.label);
    assert.ok(await lab.ping(p1.name, r2.ip), `${s.label}: pod 1 pings pod 2`);
    assert.ok(await lab.ping(p2.name, r1.gateway), `${s.label}: pod 2 pings the gateway`);
    const { stdout } = await lab.exec(p1.name, ["ip", "-o", "link", "show", "eth0"]);
    assert.match(stdout, /mtu 1400/, `${s.label}: MTU from the config`);
    await s.net.check({ containerId: `keel${s.label}1`, netns: p1.path });
    // the address books: one file per address, in the same layout
    assert.deepEqual(readdirSync(join(s.dataDir, "keeltest")).filter((n) => /^\d/.test(n)).sort(), ["10.88.5.2", "10.88.5.3"], s.label);
    shapes.push(shape(r1));
    await s.net.del({ containerId: `keel${s.label}1`, netns: p1.path });
    await s.net.del({ containerId: `keel${s.label}2`, netns: p2.path });
    await s.net.del({ containerId: `keel${s.label}2`, netns: p2.path });
    assert.deepEqual(readdirSync(join(s.dataDir, "keeltest")).filter((n) => /^\d/.test(n)), [], `${s.label}: DEL frees`);
    assert.doesNotMatch((await lab.exec(p1.name, ["ip", "-o", "link"])).stdout, /eth0/, `${s.label}: DEL removes eth0`);
  }
  if (shapes.length === 2) assert.deepEqual(shapes[0], shapes[1]);
});

test("raw protocol: VERSION, errors as CNI error JSON, like the reference", async () => {
  const keel = sides[0]!;
  const v = await invokePlugin({ command: "VERSION", type: "keel-bridge", binDirs, config: { cniVersion: "1.0.0" }, nodeNetns: keel.node.path });
  assert.ok((v!.supportedVersions as string[]).includes("1.0.0"));
  for (const type of haveRef ? ["keel-bridge", "bridge"] : ["keel-bridge"]) {
    const s = sides.find((x) => x.list.plugins[1]!.type === type)!;
    const config = { ...s.list.plugins[1]!, cniVersion: "1.0.0", name: "keeltest" };
    // a missing namespace: error code from the spec's range, message naming it, nothing created
    await assert.rejects(
      invokePlugin({ command: "ADD", type, binDirs, containerId: "keelerr", ifName: "eth0", netns: "/run/netns/keel-missing-ns", config, nodeNetns: s.node.path }),
      (e: unknown) => e instanceof CniPluginError && /keel-missing-ns/.test(e.message),
    );
    await assert.rejects(
      invokePlugin({ command: "ADD", type, binDirs, containerId: "keelerr", ifName: "eth0", config, nodeNetns: s.node.path }),
      (e: unknown) => e instanceof CniPluginError && e.cniCode === 4,
    );
  }
  await assert.rejects(
    invokePlugin({ command: "ADD", type: "keel-bridge", binDirs, containerId: "x", ifName: "eth0", netns: "/x", config: { cniVersion: "9.9.9", name: "n" }, nodeNetns: keel.node.path }),
    (e: unknown) => e instanceof CniPluginError && e.cniCode === 1,
  );
});

test("concurrent ADDs through separate plugin processes get distinct addresses; GC frees the rest", async () => {
  const keel = sides[0]!;
  const pods = await Promise.all(Array.from({ length: 6 }, (_, i) => lab.addNetns(`kc${i}`)));
  const results = await Promise.all(pods.map((p, i) => keel.net.add({ containerId: `keelpc${i}`, netns: p.path })));
  const ips = results.map((r) => r.ip);
  assert.equal(new Set(ips).size, 6, ips.join(" "));
  // GC keeps only the listed attachments
  const config = { ...keel.list.plugins[1]!, cniVersion: "1.1.0", name: "keeltest", "cni.dev/valid-attachments": [{ containerID: "keelpc0", ifname: "eth0" }] };
  await invokePlugin({ command: "GC", type: "keel-bridge", binDirs, config, nodeNetns: keel.node.path });
  assert.deepEqual(readdirSync(join(keel.dataDir, "keeltest")).filter((n) => /^\d/.test(n)), [ips[0]]);
  await Promise.all(pods.map((p, i) => keel.net.del({ containerId: `keelpc${i}`, netns: p.path })));
});

test("keel-bridge delegates IPAM to another plugin on CNI_PATH", { skip: !haveRef && "Debian containernetworking-plugins not installed" }, async () => {
  const keel = sides[0]!;
  const dir = lab.tempDir();
  mkdirSync(join(dir, "bin"));
  symlinkSync(join(REF_DIR, "host-local"), join(dir, "bin", "keel-ref-host-local"));
  const dataDir = lab.tempDir();
  const list = parseNetworkConfig(
    JSON.stringify({ cniVersion: "1.0.0", name: "keeldeleg", type: "keel-bridge", bridge: "keelbr1", stateDir: lab.tempDir(), ipam: { type: "keel-ref-host-local", subnet: "10.88.6.0/24", dataDir } }),
    "deleg.conf",
  );
  const net = new CniNetwork({ list, binDirs: [keelPluginDir(), join(dir, "bin")], nodeNetns: keel.node.path, cacheDir: lab.tempDir() });
  const p = await lab.addNetns("kd");
  const r = await net.add({ containerId: "keeldeleg1", netns: p.path });
  assert.equal(r.ip, "10.88.6.2");
  assert.ok(existsSync(join(dataDir, "keeldeleg", "10.88.6.2")));
  assert.ok(await lab.ping(p.name, "10.88.6.1"));
  await net.del({ containerId: "keeldeleg1", netns: p.path });
  assert.equal(existsSync(join(dataDir, "keeldeleg", "10.88.6.2")), false);
});
