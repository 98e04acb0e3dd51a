// The service proxy: a ClusterIP (and NodePort) DNAT'ed to ready endpoints at random, in a node
// namespace the test creates; syncServices is idempotent and one transaction.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PodNetwork, syncServices, removeServices, InvalidNetworkConfigError, type ServiceSpec } from "../../cni/index.js";
import { renderServices } from "../../cni/services/proxy.js";
import { NetLab, leftoverNetns } from "./fixtures.js";

const run = promisify(execFile);
const lab = new NetLab();
let node: { name: string; path: string };
let net: PodNetwork;
const pods: { name: string; path: string; ip: string }[] = [];
const POD_CIDR = "10.88.3.0/24";

before(async () => {
  node = await lab.addNetns("node");
  net = new PodNetwork({ nodeNetns: node.path, podCIDR: POD_CIDR, stateDir: lab.tempDir() });
  for (const name of ["a", "b", "c"]) {
    const ns = await lab.addNetns(`s${name}`);
    const r = await net.add({ containerId: `keelsvc${name}`, netns: ns.path });
    pods.push({ ...ns, ip: r.ip });
  }
  await lab.tcpServer(pods[0]!.name, 8080, "a");
  await lab.tcpServer(pods[1]!.name, 8080, "b");
});

after(async () => {
  await lab.cleanup();
  assert.deepEqual(await leftoverNetns(lab), []);
});

function web(readyB = true): ServiceSpec {
  return {
    namespace: "default",
    name: "web",
    clusterIP: "10.96.0.10",
    ports: [{ name: "http", protocol: "tcp", port: 80, targetPort: 8080, nodePort: 30080 }],
    endpoints: [
      { ip: pods[0]!.ip, ready: true },
      { ip: pods[1]!.ip, ready: readyB },
    ],
  };
}

const opts = () => ({ nodeNetns: node.path, podCIDR: POD_CIDR, bridge: "keel0", serviceCIDR: "10.96.0.0/16" });

async function table(): Promise<string> {
  return (await run("ip", ["netns", "exec", node.name, "nft", "list", "table", "ip", "keel-services"])).stdout;
}

test("a ClusterIP load-balances over both ready endpoints, from the node and from a pod", async () => {
  await syncServices([web()], opts());
  const fromNode = await lab.tcpRequests(node.name, "10.96.0.10", 80, 40);
  assert.deepEqual(new Set(fromNode), new Set(["a:hi", "b:hi"]), fromNode.join(" "));
  const fromPod = await lab.tcpRequests(pods[2]!.name, "10.96.0.10", 80, 40);
  assert.deepEqual(new Set(fromPod), new Set(["a:hi", "b:hi"]), fromPod.join(" "));
  // an endpoint reaching the Service it backs (hairpin through the bridge)
  const fromA = await lab.tcpRequests(pods[0]!.name, "10.96.0.10", 80, 20);
  assert.deepEqual(new Set(fromA), new Set(["a:hi", "b:hi"]), fromA.join(" "));
});

test("NodePort on the node's addresses", async () => {
  await syncServices([web()], opts());
  const r = await lab.tcpRequests(node.name, "10.88.3.1", 30080, 20);
  assert.deepEqual(new Set(r), new Set(["a:hi", "b:hi"]), r.join(" "));
});

test("sync is idempotent; a not-ready endpoint gets nothing; no endpoints refuses; removal clears", async () => {
  await syncServices([web()], opts());
  const first = await table();
  await syncServices([web()], opts());
  assert.equal(await table(), first);

  await syncServices([web(false)], opts());
  const onlyA = await lab.tcpRequests(node.name, "10.96.0.10", 80, 20);
  assert.deepEqual(new Set(onlyA), new Set(["a:hi"]));

  await syncServices([{ ...web(), endpoints: [] }], opts());
  assert.deepEqual(await lab.tcpRequests(node.name, "10.96.0.10", 80, 1), ["ERR:ECONNREFUSED"]);

  // headless Services are not proxied
  await syncServices([{ ...web(), clusterIP: "None" }], opts());
  assert.doesNotMatch(await table(), /10\.96\.0\.10/);

  await syncServices([], opts());
  assert.doesNotMatch(await table(), /dnat to/);
  await removeServices(opts());
  await removeServices(opts());
  const { stdout } = await run("ip", ["netns", "exec", node.name, "nft", "list", "tables"]);
  assert.doesNotMatch(stdout, /keel-services/);
});

test("a bad Service is refused, naming the field, and the table in force stays", async () => {
  await syncServices([web()], opts());
  const before = await table();
  const bad: ServiceSpec = { ...web(), ports: [{ protocol: "tcp", port: 0, targetPort: 8080 }] };
  await assert.rejects(syncServices([bad], opts()), (e: unknown) => e instanceof InvalidNetworkConfigError && /default\/web: ports\[0\]\.port/.test(e.message));
  assert.throws(() => renderServices([{ ...web(), clusterIP: "10.96.0.300" }]), /clusterIP/);
  assert.equal(await table(), before);
  await removeServices(opts());
});

test("sessionAffinity ClientIP keeps a client on one endpoint", async () => {
  await syncServices([{ ...web(), sessionAffinity: "ClientIP", affinityTimeoutSeconds: 60 }], opts());
  const fromNode = await lab.tcpRequests(node.name, "10.96.0.10", 80, 15);
  assert.equal(new Set(fromNode).size, 1, fromNode.join(" "));
  assert.match(fromNode[0]!, /^[ab]:hi$/);
  await syncServices([web()], opts());
  await removeServices(opts());
});
