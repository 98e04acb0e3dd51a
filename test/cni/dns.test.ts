// keel's cluster DNS: Service names answered over UDP and TCP on loopback, and from a pod in a
// node namespace through busybox's resolver.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { promises as dns } from "node:dns";
import { connect } from "node:net";
import { spawn } from "node:child_process";
import dnsPacket from "dns-packet";
import { ClusterDns, podResolvConf, PodNetwork, type DnsService } from "../../cni/index.js";
import { NetLab, leftoverNetns } from "./fixtures.js";

const services: DnsService[] = [
  { namespace: "default", name: "web", clusterIP: "10.96.0.10", ports: [{ name: "http", protocol: "tcp", port: 80 }] },
  {
    namespace: "db",
    name: "pg",
    clusterIP: "None",
    ports: [{ name: "pg", protocol: "tcp", port: 5432 }],
    endpoints: [
      { ip: "10.88.1.5", ready: true, hostname: "pg-0" },
      { ip: "10.88.2.6", ready: true, hostname: "pg-1" },
      { ip: "10.88.2.7", ready: false, hostname: "pg-2" },
    ],
  },
];

const server = new ClusterDns();
let addr: { host: string; port: number };
const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
const lab = new NetLab();

before(async () => {
  server.setServices(services);
  addr = await server.listen();
  resolver.setServers([`${addr.host}:${addr.port}`]);
});
after(async () => {
  await server.close();
  await lab.cleanup();
  assert.deepEqual(await leftoverNetns(lab), []);
});

test("A records: a ClusterIP, a headless Service's ready endpoints, its pods by hostname", async () => {
  assert.deepEqual(await resolver.resolve4("web.default.svc.cluster.local"), ["10.96.0.10"]);
  assert.deepEqual((await resolver.resolve4("pg.db.svc.cluster.local")).sort(), ["10.88.1.5", "10.88.2.6"]);
  assert.deepEqual(await resolver.resolve4("pg-1.pg.db.svc.cluster.local"), ["10.88.2.6"]);
  assert.deepEqual(await resolver.resolve4("WEB.Default.svc.cluster.local."), ["10.96.0.10"]);
});

test("SRV records for named ports", async () => {
  const srv = await resolver.resolveSrv("_http._tcp.web.default.svc.cluster.local");
  assert.deepEqual(srv.map((s) => [s.name, s.port]), [["web.default.svc.cluster.local", 80]]);
  const pg = await resolver.resolveSrv("_pg._tcp.pg.db.svc.cluster.local");
  assert.deepEqual(pg.map((s) => s.name).sort(), ["pg-0.pg.db.svc.cluster.local", "pg-1.pg.db.svc.cluster.local"]);
});

test("unknown names are NXDOMAIN, names outside the cluster are refused; updates take effect", async () => {
  await assert.rejects(resolver.resolve4("nope.default.svc.cluster.local"), (e: NodeJS.ErrnoException) => e.code === "ENOTFOUND");
  await assert.rejects(resolver.resolve4("example.com"), (e: NodeJS.ErrnoException) => e.code === "EREFUSED");
  server.setServices([...services, { namespace: "default", name: "api", clusterIP: "10.96.0.11", ports: [] }]);
  assert.deepEqual(await resolver.resolve4("api.default.svc.cluster.local"), ["10.96.0.11"]);
  server.setServices(services);
  await assert.rejects(resolver.resolve4("api.default.svc.cluster.local"), (e: NodeJS.ErrnoException) => e.code === "ENOTFOUND");
});

test("TCP transport", async () => {
  const sock = connect(addr.port, addr.host);
  await new Promise((r) => sock.once("connect", r));
  sock.write(dnsPacket.streamEncode({ type: "query", id: 7, questions: [{ type: "A", name: "web.default.svc.cluster.local" }] }));
  const reply = await new Promise<Buffer>((res) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) res(buf);
    });
  });
  sock.destroy();
  const p = dnsPacket.streamDecode(reply);
  assert.equal(p.id, 7);
  assert.deepEqual(p.answers?.map((a) => (a as { data: string }).data), ["10.96.0.10"]);
});

test("resolv.conf for a pod", () => {
  assert.equal(podResolvConf("default", "10.96.0.10"), "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
});

test("a pod resolves a Service through the DNS server in its node's namespace", async () => {
  const node = await lab.addNetns("dn");
  const pod = await lab.addNetns("dp");
  const net = new PodNetwork({ nodeNetns: node.path, podCIDR: "10.88.7.0/24", stateDir: lab.tempDir() });
  const r = await net.add({ containerId: "keeldnspod", netns: pod.path });
  // the server runs inside the node's namespace on its bridge address, port 53
  const script = `
    import(${JSON.stringify(new URL("../../cni/dns/server.js", import.meta.url).href)}).then(async ({ ClusterDns }) => {
      const s = new ClusterDns({ host: ${JSON.stringify(r.gateway)}, port: 53 });
      s.setServices(${JSON.stringify(services)});
      await s.listen();
      console.log("ready");
    });`;
  const child = spawn("ip", ["netns", "exec", node.name, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  lab.children.push(child);
  await new Promise<void>((res, rej) => {
    child.stdout!.once("data", () => res());
    child.once("exit", (c) => rej(new Error(`DNS server exited ${c}`)));
  });
  const { stdout } = await lab.exec(pod.name, ["busybox", "nslookup", "web.default.svc.cluster.local", r.gateway]);
  assert.match(stdout, /Address:?\s+10\.96\.0\.10/);
});
