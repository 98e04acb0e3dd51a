// The addon's in-process network primitives (cni/netlink.ts over native/src/netlink.cc, nft.cc),
// inside namespaces the test creates: links, veth peers placed in another namespace, addresses,
// routes, neighbours, FDB, sysctls and nftables scripts; failures carry errno and names; and a
// pod's ADD and DEL start no child process.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import childProcess from "node:child_process";
import { syncBuiltinESMExports } from "node:module";
import * as nl from "../../cni/netlink.js";
import { listTable, replaceTable, deleteTable } from "../../cni/nft.js";
import { NetlinkError, NftError, PodNetwork } from "../../cni/index.js";
import { NetLab, leftoverNetns } from "./fixtures.js";

const lab = new NetLab();
let a: { name: string; path: string };
let b: { name: string; path: string };

before(async () => {
  a = await lab.addNetns("nla");
  b = await lab.addNetns("nlb");
});

after(async () => {
  await lab.cleanup();
  assert.deepEqual(await leftoverNetns(lab), []);
});

function netlinkError(code: string, op: string, object: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof NetlinkError, `a NetlinkError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(typeof e.errno, "number");
    assert.ok(e.errno > 0);
    assert.equal(e.op, op);
    assert.equal(e.netns, a.path);
    assert.match(e.object, object);
    assert.match(e.message, object);
    assert.ok(e.message.includes(a.path), "the message names the namespace");
    return true;
  };
}

test("a bridge: create, look up, refuse a second, delete, and a missing one is null", async () => {
  assert.equal(await nl.getLink(a.path, "keelnlbr0"), null);
  await nl.addBridge(a.path, "keelnlbr0", 1400);
  const br = await nl.getLink(a.path, "keelnlbr0");
  assert.ok(br);
  assert.equal(br.kind, "bridge");
  assert.equal(br.mtu, 1400);
  assert.equal(br.up, false);
  assert.match(br.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(await nl.getLink(b.path, "keelnlbr0"), null, "nothing in the other namespace");
  await assert.rejects(nl.addBridge(a.path, "keelnlbr0", 1400), netlinkError("EEXIST", "RTM_NEWLINK", /bridge keelnlbr0/));
  await assert.rejects(nl.addBridge(a.path, "keelnlbr0", 1400), (e: unknown) => nl.isExists(e) && /File exists/.test((e as Error).message));
  await nl.setLink(a.path, "keelnlbr0", { up: true, mtu: 1450 });
  assert.deepEqual(
    (({ up, mtu }) => ({ up, mtu }))((await nl.getLink(a.path, "keelnlbr0"))!),
    { up: true, mtu: 1450 },
  );
  await nl.deleteLink(a.path, "keelnlbr0");
  await assert.rejects(nl.deleteLink(a.path, "keelnlbr0"), netlinkError("ENODEV", "RTM_DELLINK", /link keelnlbr0/));
  await assert.rejects(nl.deleteLink(a.path, "keelnlbr0"), (e: unknown) => nl.isGone(e));
});

test("a veth's peer is created directly in the other namespace; master and hairpin are set", async () => {
  await nl.addBridge(a.path, "keelnlbr1", 1500);
  await nl.addVeth(a.path, "keelnlv1", 1500, "keelnlpeer", b.path);
  assert.equal(await nl.getLink(a.path, "keelnlpeer"), null, "the peer is not in the first namespace");
  const peer = await nl.getLink(b.path, "keelnlpeer");
  assert.equal(peer?.kind, "veth");
  await nl.setLink(a.path, "keelnlv1", { master: "keelnlbr1", hairpin: true, up: true });
  const port = await nl.getLink(a.path, "keelnlv1");
  assert.equal(port?.master, "keelnlbr1");
  assert.equal(port?.up, true);
  const { stdout } = await lab.exec(a.name, ["ip", "-d", "link", "show", "dev", "keelnlv1"]);
  assert.match(stdout, /hairpin on/);
  await assert.rejects(nl.setLink(a.path, "keelnlv1", { master: "keelnlnone" }), netlinkError("ENODEV", "RTM_GETLINK", /link keelnlnone/));
  // deleting one end removes both
  await nl.deleteLink(b.path, "keelnlpeer");
  assert.equal(await nl.getLink(a.path, "keelnlv1"), null);
  await nl.deleteLink(a.path, "keelnlbr1");
});

test("addresses and routes: replace is idempotent, lists show them, the kernel's refusal is kept", async () => {
  await nl.addBridge(a.path, "keelnlbr2", 1500);
  await nl.setLink(a.path, "keelnlbr2", { up: true });
  await nl.replaceAddress(a.path, "keelnlbr2", "10.66.0.1/24");
  await nl.replaceAddress(a.path, "keelnlbr2", "10.66.0.1/24");
  const addrs = (await nl.listAddresses(a.path, "keelnlbr2")).filter((x) => x.family === "inet");
  assert.deepEqual(addrs, [{ family: "inet", local: "10.66.0.1", prefixlen: 24 }]);
  await nl.replaceRoute(a.path, { dst: "10.67.0.0/16", dev: "keelnlbr2" });
  await nl.replaceRoute(a.path, { dst: "default", via: "10.66.0.254", dev: "keelnlbr2" });
  await nl.replaceRoute(a.path, { dst: "default", via: "10.66.0.254", dev: "keelnlbr2" });
  await nl.replaceRoute(a.path, { dst: "10.68.0.0/24", via: "10.68.0.0", dev: "keelnlbr2", onlink: true });
  const routes = await nl.listRoutes(a.path, "keelnlbr2");
  const by = (d: string) => routes.find((r) => r.dst === d);
  assert.equal(by("default")?.gateway, "10.66.0.254");
  assert.equal(by("10.67.0.0/16")?.dev, "keelnlbr2");
  assert.equal(by("10.68.0.0/24")?.onlink, true);
  assert.ok(by("10.66.0.0/24"), "the address's own prefix route");
  const { stdout } = await lab.exec(a.name, ["ip", "route", "show", "default"]);
  assert.match(stdout, /default via 10\.66\.0\.254 dev keelnlbr2/);
  await assert.rejects(nl.replaceRoute(a.path, { dst: "default", via: "10.99.0.1", dev: "keelnlbr2" }), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, "ENETUNREACH");
    assert.match(e.object, /route default via 10\.99\.0\.1 dev keelnlbr2/);
    return true;
  });
  await nl.deleteRoute(a.path, { dst: "10.67.0.0/16", dev: "keelnlbr2" });
  await assert.rejects(nl.deleteRoute(a.path, { dst: "10.67.0.0/16", dev: "keelnlbr2" }), (e: unknown) => nl.isGone(e));
  assert.equal((await nl.listRoutes(a.path, "keelnlbr2")).some((r) => r.dst === "10.67.0.0/16"), false);
  await assert.rejects(nl.listAddresses(a.path, "keelnlnone"), netlinkError("ENODEV", "RTM_GETLINK", /keelnlnone/));
  await nl.deleteLink(a.path, "keelnlbr2");
});

test("a VXLAN device with its neighbour and FDB entries", async () => {
  await nl.addVxlan(a.path, { name: "keelnlvx", vni: 42, local: "10.69.0.1", port: 8472, mtu: 1450, mac: "02:6b:65:65:6c:01" });
  const vx = await nl.getLink(a.path, "keelnlvx");
  assert.equal(vx?.kind, "vxlan");
  assert.equal(vx?.mac, "02:6b:65:65:6c:01");
  await nl.replaceFdb(a.path, { dev: "keelnlvx", mac: "02:6b:65:65:6c:02", dst: "10.69.0.2" });
  await nl.replaceFdb(a.path, { dev: "keelnlvx", mac: "02:6b:65:65:6c:02", dst: "10.69.0.2" });
  await nl.replaceNeighbour(a.path, { dev: "keelnlvx", dst: "10.70.0.0", lladdr: "02:6b:65:65:6c:02" });
  assert.deepEqual(
    (await nl.listFdb(a.path, "keelnlvx")).filter((f) => f.dst).map(({ mac, dst, permanent }) => ({ mac, dst, permanent })),
    [{ mac: "02:6b:65:65:6c:02", dst: "10.69.0.2", permanent: true }],
  );
  assert.deepEqual(await nl.listNeighbours(a.path, "keelnlvx"), [{ dst: "10.70.0.0", lladdr: "02:6b:65:65:6c:02", permanent: true }]);
  const { stdout } = await lab.exec(a.name, ["ip", "-d", "link", "show", "dev", "keelnlvx"]);
  assert.match(stdout, /vxlan id 42 local 10\.69\.0\.1 .*dstport 8472 nolearning/);
  await nl.deleteNeighbour(a.path, { dev: "keelnlvx", dst: "10.70.0.0" });
  await nl.deleteFdb(a.path, { dev: "keelnlvx", mac: "02:6b:65:65:6c:02", dst: "10.69.0.2" });
  assert.deepEqual(await nl.listNeighbours(a.path, "keelnlvx"), []);
  assert.deepEqual((await nl.listFdb(a.path, "keelnlvx")).filter((f) => f.dst), []);
  await nl.deleteLink(a.path, "keelnlvx");
});

test("sysctls are read and written in the namespace given, and only there", async () => {
  assert.equal(await nl.readSysctl(b.path, "net.ipv4.ip_forward"), "0");
  await nl.writeSysctl(a.path, "net.ipv4.ip_forward", "1");
  assert.equal(await nl.readSysctl(a.path, "net.ipv4.ip_forward"), "1");
  assert.equal(await nl.readSysctl(b.path, "net.ipv4.ip_forward"), "0");
  await assert.rejects(nl.readSysctl(a.path, "net.ipv4.keel_none"), (e: unknown) => e instanceof NetlinkError && e.code === "ENOENT" && /sysctl net\.ipv4\.keel_none/.test(e.message));
});

test("nftables: a table is loaded, listed and removed in its namespace; a bad script is refused with nft's words", async () => {
  assert.equal(await listTable(a.path, "ip", "keelnltest"), undefined);
  const body = "  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;\n    tcp dport 8080 dnat to 10.66.0.9:80\n  }";
  await replaceTable(a.path, "ip", "keelnltest", body);
  await replaceTable(a.path, "ip", "keelnltest", body);
  const listed = await listTable(a.path, "ip", "keelnltest");
  assert.match(listed ?? "", /tcp dport 8080 dnat to 10\.66\.0\.9:80/);
  assert.equal(await listTable(b.path, "ip", "keelnltest"), undefined, "not in the other namespace");
  await assert.rejects(replaceTable(a.path, "ip", "keelnltest", "  chain c {\n    no such thing\n  }"), (e: unknown) => {
    assert.ok(e instanceof NftError, String(e));
    assert.equal(e.code, "EINVAL");
    assert.match(e.stderr, /syntax error/i);
    assert.match(e.message, /load nftables table ip keelnltest/);
    assert.equal(e.netns, a.path);
    return true;
  });
  assert.match((await listTable(a.path, "ip", "keelnltest")) ?? "", /dport 8080/, "the table in force stays");
  await deleteTable(a.path, "ip", "keelnltest");
  await deleteTable(a.path, "ip", "keelnltest");
  assert.equal(await listTable(a.path, "ip", "keelnltest"), undefined);
});

test("a namespace that is not there is named in the error", async () => {
  await assert.rejects(nl.getLink("/run/netns/keel-no-such-netns", "lo"), (e: unknown) => {
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, "ENOENT");
    assert.ok(nl.isNetnsUnusable(e));
    assert.equal(nl.isGone(e), false, "a missing namespace is not a missing link");
    assert.match(e.message, /keel-no-such-netns/);
    return true;
  });
});

test("calls into several namespaces at once each land in their own, and the pool threads come back", async () => {
  await nl.addBridge(a.path, "keelnlonlya", 1500);
  await nl.addBridge(b.path, "keelnlonlyb", 1500);
  const calls: Promise<string>[] = [];
  for (let i = 0; i < 64; i++) {
    const [ns, other] = i % 2 ? [a, b] : [b, a];
    const mine = ns === a ? "keelnlonlya" : "keelnlonlyb";
    const theirs = other === a ? "keelnlonlya" : "keelnlonlyb";
    calls.push(Promise.all([nl.getLink(ns.path, mine), nl.getLink(ns.path, theirs)]).then(([m, t]) => `${m !== null}/${t !== null}`));
    // and in this process's own namespace (read-only): it must never see the test's links
    calls.push(nl.getLink(undefined, mine).then((l) => `own:${l !== null}`));
  }
  const seen = await Promise.all(calls);
  assert.deepEqual(new Set(seen), new Set(["true/false", "own:false"]));
  await nl.deleteLink(a.path, "keelnlonlya");
  await nl.deleteLink(b.path, "keelnlonlyb");
});

test("a node's bridge is configured once, then looked up; one deleted behind keel's back is made again", async () => {
  const node = await lab.addNetns("nlbr");
  const pod1 = await lab.addNetns("nlq1");
  const pod2 = await lab.addNetns("nlq2");
  const net = new PodNetwork({ nodeNetns: node.path, podCIDR: "10.72.0.0/24", stateDir: lab.tempDir() });
  await net.add({ containerId: "keelnlbr1", netns: pod1.path });
  const first = await nl.getLink(node.path, "keel0");
  assert.equal(first?.up, true);
  await nl.deleteLink(node.path, "keel0");
  await net.add({ containerId: "keelnlbr2", netns: pod2.path });
  const again = await nl.getLink(node.path, "keel0");
  assert.ok(again?.up, "the bridge is back, up");
  assert.deepEqual((await nl.listAddresses(node.path, "keel0")).filter((x) => x.family === "inet").map((x) => `${x.local}/${x.prefixlen}`), ["10.72.0.1/24"]);
  assert.equal(await nl.readSysctl(node.path, "net.ipv4.ip_forward"), "1");
  await net.del({ containerId: "keelnlbr1", netns: pod1.path });
  await net.del({ containerId: "keelnlbr2", netns: pod2.path });
});

test("a pod's ADD, CHECK and DEL start no child process", async (t) => {
  const node = await lab.addNetns("nln");
  const pod = await lab.addNetns("nlp");
  const net = new PodNetwork({ nodeNetns: node.path, podCIDR: "10.71.0.0/24", stateDir: lab.tempDir() });
  const cp = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = ["spawn", "execFile", "exec", "fork", "spawnSync", "execFileSync", "execSync"];
  const saved = names.map((n) => cp[n]!);
  const spawned: string[] = [];
  names.forEach((n, i) => {
    cp[n] = (...args: unknown[]) => {
      spawned.push(`${n} ${String(args[0])}`);
      return saved[i]!(...args);
    };
  });
  syncBuiltinESMExports();
  t.after(() => {
    names.forEach((n, i) => (cp[n] = saved[i]!));
    syncBuiltinESMExports();
  });
  const p = { containerId: "keelnlnochild", netns: pod.path, portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" as const }] };
  const r = await net.add(p);
  await net.add(p);
  await net.check(p);
  await net.del(p);
  await net.del(p);
  assert.deepEqual(spawned, []);
  assert.match(r.ip, /^10\.71\.0\.\d+$/);
});

test("a batch runs its calls in order as one job across namespaces, and stops at the first failure", async () => {
  const out = await nl.batch((n) => {
    n.netLinkAddBridge(a.path, "keelnlbt0", 1500);
    n.netLinkAddBridge(b.path, "keelnlbt1", 1500);
    n.netLinkSet(a.path, "keelnlbt0", { up: true });
    n.netLinkGet(a.path, "keelnlbt0");
    n.netLinkGet(b.path, "keelnlbt1");
    n.netLinkGet(b.path, "keelnlbt0");
  });
  assert.equal(out.length, 6);
  assert.equal((out[3] as nl.NetLink).up, true);
  assert.equal((out[4] as nl.NetLink).name, "keelnlbt1");
  assert.equal(out[5], null, "each call ran in its own namespace");
  // the second call fails (it exists): its error, with its namespace; the third never runs
  await assert.rejects(nl.batch((n) => {
    n.netLinkSet(b.path, "keelnlbt1", { mtu: 1400 });
    n.netLinkAddBridge(a.path, "keelnlbt0", 1500);
    n.netLinkDel(b.path, "keelnlbt1");
  }), netlinkError("EEXIST", "RTM_NEWLINK", /bridge keelnlbt0/));
  assert.equal((await nl.getLink(b.path, "keelnlbt1"))?.mtu, 1400, "the call before the failure ran, the one after did not");
  await nl.batch((n) => {
    n.netLinkDel(a.path, "keelnlbt0");
    n.netLinkDel(b.path, "keelnlbt1");
  });
  assert.equal(await nl.getLink(a.path, "keelnlbt0"), null);
});
