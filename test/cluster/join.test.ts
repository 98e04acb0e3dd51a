// `keel join`, kubeadm-style, across a network boundary: a cluster (its store in a real etcd) and a
// "machine" that is a network namespace this test makes, plugged into the cluster's underlay and
// nothing else, so it reaches the API server only over TCP at the underlay address. There `keel
// join` (another process) checks the CA pin and the token, gets node credentials, and its kubelet
// runs a pod; a wrong pin or token is refused; its own service proxy and DNS server let its pods
// reach a Service by ClusterIP and by name. A second API server on the same etcd sees it all.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { clusterNames, clusterUp, type RunningCluster } from "../../cluster/index.js";
import { createNodeNetns, removeNetns } from "../../cluster/network.js";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { etcdMissing, startEtcd, type EtcdServer } from "../controlplane/etcd-fixture.js";
import { KUBECTL, podLog, runKubectl, waitFor } from "./fixtures.js";

const TAG = `j${process.pid % 100000}`;
const JOIN_NETNS = `keel-jn-${TAG}`;
const JOIN_NODE = `keel-jn-${TAG}`;
const here = dirname(fileURLToPath(import.meta.url));

describe("keel join: a node from another network namespace, over TCP to the underlay", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, () => {
  let dir = "";
  let harness = "";
  let etcd: EtcdServer | undefined;
  let cluster: RunningCluster | undefined;
  let second: RunningApiServer | undefined;
  let joiner: ChildProcess | undefined;
  let joinerOut = "";

  const kubectl = (kubeconfig: string, args: string[], input?: string) => runKubectl(dir, kubeconfig, args, input);
  const admin = () => join(dir, "admin.kubeconfig");
  /** `keel ARGS` inside the join namespace (the "other machine"). */
  const keelThere = (args: string[]) => spawn("nsenter", [`--net=/run/netns/${JOIN_NETNS}`, process.execPath, harness, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const runThere = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = keelThere(args);
    let out = "";
    c.stdout!.on("data", (d) => { out += String(d); });
    c.stderr!.on("data", (d) => { out += String(d); });
    const t = setTimeout(() => c.kill("SIGKILL"), 60_000);
    c.once("exit", (code) => { clearTimeout(t); resolve({ code, out }); });
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-join-"));
    harness = join(dir, "keel.mjs");
    const commander = pathToFileURL(createRequire(import.meta.url).resolve("commander")).href;
    const cli = pathToFileURL(join(here, "..", "..", "cli", "commands", "cluster.js")).href;
    writeFileSync(harness, `import { Command } from ${JSON.stringify(commander)};\nimport { register } from ${JSON.stringify(cli)};\n`
      + `const p = new Command("keel"); register(p);\nawait p.parseAsync(process.argv.slice(2), { from: "user" });\n`);
    if (!etcdMissing()) etcd = await startEtcd();
    cluster = await clusterUp({
      dataDir: dir, nodes: 1, listen: "127.0.0.1:0", name: TAG, stopGraceSec: 1, store: etcd?.spec,
      log: process.env.KEEL_TEST_LOG ? (m) => console.error(m) : undefined,
    });
    // The other machine: a namespace whose only interface is a port on the cluster's underlay.
    await createNodeNetns({ netns: JOIN_NETNS, underlayNetns: clusterNames(TAG).underlay, port: "jn", ip: "10.250.0.200", prefixLength: 24 });
  });
  after(async () => {
    if (joiner && joiner.exitCode === null) {
      joiner.kill("SIGTERM");
      await new Promise((r) => { const t = setTimeout(() => { joiner!.kill("SIGKILL"); r(undefined); }, 30_000); joiner!.once("exit", () => { clearTimeout(t); r(undefined); }); });
    }
    await second?.close().catch(() => {});
    await cluster?.close().catch(() => {});
    await removeNetns(JOIN_NETNS).catch(() => {});
    await etcd?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it("up prints a kubeadm-style join command: the underlay API address, a bootstrap token, the CA hash", () => {
    const j = cluster!.join;
    assert.equal(j.server, "https://10.250.0.1:6443");
    assert.match(j.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.match(j.caCertHash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(readFileSync(join(dir, "join-command"), "utf8").trim(), j.command);
    // the join namespace cannot reach the host's loopback API server: only the underlay
    const port = new URL(cluster!.url).port;
    assert.throws(() => execFileSync("nsenter", [`--net=/run/netns/${JOIN_NETNS}`, "busybox", "nc", "-w", "1", "127.0.0.1", port], { stdio: "pipe", input: "" }));
  });

  it("refuses a wrong CA pin and a wrong token", async () => {
    const j = cluster!.join;
    const badHash = await runThere(["join", "--server", j.server, "--token", j.token, "--ca-cert-hash", `sha256:${"0".repeat(64)}`, "--node-name", JOIN_NODE, "--data-dir", join(dir, "bad")]);
    assert.notEqual(badHash.code, 0);
    assert.match(badHash.out, /cluster CA's hash is sha256:[0-9a-f]{64}, not the pinned/);
    const badToken = await runThere(["join", "--server", j.server, "--token", "abcdef.0123456789abcdef", "--ca-cert-hash", j.caCertHash, "--node-name", JOIN_NODE, "--data-dir", join(dir, "bad")]);
    assert.notEqual(badToken.code, 0);
    assert.match(badToken.out, /not signed with token abcdef/);
  });

  it("joins: the node registers with its own credentials, goes Ready and runs a pod", async () => {
    const j = cluster!.join;
    mkdirSync(join(dir, "jn"), { recursive: true });
    joiner = keelThere(["join", "--server", j.server, "--token", j.token, "--ca-cert-hash", j.caCertHash, "--node-name", JOIN_NODE, "--data-dir", join(dir, "jn")]);
    joiner.stdout!.on("data", (d) => { joinerOut += String(d); });
    joiner.stderr!.on("data", (d) => { joinerOut += String(d); });
    await waitFor(`${JOIN_NODE} Ready`, async () => {
      if (joiner!.exitCode !== null) throw new Error(`keel join exited ${joiner!.exitCode}: ${joinerOut}`);
      const n = JSON.parse(await kubectl(admin(), ["get", "node", JOIN_NODE, "-o", "json"])) as { status: { conditions?: { type: string; status: string }[]; addresses?: { type: string; address: string }[] } };
      return n.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") && n;
    }, 60_000).catch((e: Error) => { throw new Error(`${e.message}\nkeel join said:\n${joinerOut}`); }).then((n) => assert.deepEqual(n.status.addresses?.find((a) => a.type === "InternalIP")?.address, "10.250.0.200"));
    const kc = readFileSync(join(dir, "jn", "kubelet.kubeconfig"), "utf8");
    // through the node's local forwarder to the underlay address (k3s's agent load balancer)
    assert.match(kc, /server: https:\/\/127\.0\.0\.1:\d+/);
    assert.match(kc, new RegExp(`system:node:${JOIN_NODE}`));
    await kubectl(admin(), ["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Pod", metadata: { name: "on-joined", namespace: "default", labels: { app: "keel-joined-web" } },
      spec: { nodeName: JOIN_NODE, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "mkdir -p /www && echo joined-node > /www/index.html && exec httpd -f -p 8080 -h /www"] }] },
    }));
    const pod = await waitFor("the pod on the joined node Running", async () => {
      const p = JSON.parse(await kubectl(admin(), ["get", "pod", "on-joined", "-o", "json"])) as { status: { phase?: string; podIP?: string } };
      return p.status.phase === "Running" && !!p.status.podIP && p;
    }, 60_000);
    assert.match(pod.status.podIP!, /^10\.244\.\d+\.\d+$/);
    // the overlay: VTEPs published on the Nodes, so a pod on the cluster's node reaches it by IP
    const n = JSON.parse(await kubectl(admin(), ["get", "node", JOIN_NODE, "-o", "json"])) as { metadata: { annotations?: Record<string, string> } };
    assert.match(n.metadata.annotations?.["flannel.alpha.coreos.com/backend-data"] ?? "", /VtepMAC/);
    await kubectl(admin(), ["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Pod", metadata: { name: "to-joined", namespace: "default" },
      spec: { nodeName: cluster!.nodes[0]!.name, restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent",
        command: ["sh", "-c", `for i in $(seq 1 30); do wget -q -O - http://${pod.status.podIP}:8080/ | grep -q joined-node && exit 0; sleep 0.5; done; exit 1`] }] },
    }));
    const phase = await waitFor("the client on the cluster's node finished", async () => {
      const p = (JSON.parse(await kubectl(admin(), ["get", "pod", "to-joined", "-o", "json"])) as { status: { phase?: string } }).status.phase;
      return (p === "Succeeded" || p === "Failed") && p;
    }, 60_000);
    assert.equal(phase, "Succeeded", "a pod on the cluster's node could not reach the pod on the joined node over the overlay");
    await kubectl(admin(), ["delete", "pod", "to-joined", "--wait=false"]);
  });

  it("a pod on the joined node reaches a Service by ClusterIP and by DNS name (the node's own proxy and DNS server), as a pod on the cluster's node does", async () => {
    await kubectl(admin(), ["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Service", metadata: { name: "joined-web", namespace: "default" },
      spec: { selector: { app: "keel-joined-web" }, ports: [{ port: 80, targetPort: 8080 }] },
    }));
    const clusterIP = (await kubectl(admin(), ["get", "service", "joined-web", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    assert.match(clusterIP, /^10\.96\.\d+\.\d+$/);
    // the cluster names the joined node's address in kube-dns's slice: its proxy sends DNS there
    await waitFor("the joined node in kube-dns's endpoints", async () => {
      const s = JSON.parse(await kubectl(admin(), ["get", "endpointslice", "-n", "kube-system", "kube-dns-nodes", "-o", "json"])) as { endpoints: { addresses: string[]; nodeName?: string }[] };
      return s.endpoints.some((e) => e.nodeName === JOIN_NODE && e.addresses[0] === "10.250.0.200");
    }, 30_000);
    const name = "joined-web.default.svc.cluster.local";
    const script = [
      `grep -qx "nameserver 10.96.0.10" /etc/resolv.conf || { echo "FAIL resolv.conf"; cat /etc/resolv.conf; exit 1; }`,
      `for i in $(seq 1 40); do`,
      `  nslookup ${name} && wget -q -O - http://${name}/ | grep -q joined-node && wget -q -O - http://${clusterIP}/ | grep -q joined-node && wget -q -O - http://joined-web/ | grep -q joined-node && { echo OK; exit 0; }`,
      `  sleep 0.5`,
      `done`,
      `exit 1`,
    ].join("\n");
    // The same client on the joined node (its own proxy and DNS, the endpoint beside it) and on
    // the cluster's node (the cluster's proxy and DNS, the endpoint across the overlay).
    const runClient = async (pod: string, nodeName: string) => {
      await kubectl(admin(), ["apply", "-f", "-"], JSON.stringify({
        apiVersion: "v1", kind: "Pod", metadata: { name: pod, namespace: "default" },
        spec: { nodeName, restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script] }] },
      }));
      const x = await waitFor(`the client ${pod} finished`, async () => {
        const o = JSON.parse(await kubectl(admin(), ["get", "pod", pod, "-o", "json"])) as { metadata: { name: string; uid: string }; spec: { nodeName?: string }; status: { phase?: string } };
        return (o.status.phase === "Succeeded" || o.status.phase === "Failed") && o;
      }, 60_000);
      const joinedLogs = join(dir, "jn", "logs", `default_${pod}_${x.metadata.uid}`, "c");
      const log = nodeName !== JOIN_NODE ? podLog(cluster!, x) : existsSync(joinedLogs) ? readdirSync(joinedLogs).map((f) => readFileSync(join(joinedLogs, f), "utf8")).join("") : "(no log)";
      await kubectl(admin(), ["delete", "pod", pod, "--wait=false"]);
      return { phase: x.status.phase, log };
    };
    const [near, far] = await Promise.all([runClient("svc-client", JOIN_NODE), runClient("svc-client-far", cluster!.nodes[0]!.name)]);
    const table = () => { try { return execFileSync("ip", ["netns", "exec", JOIN_NETNS, "nft", "list", "table", "ip", "keel-services"], { encoding: "utf8" }); } catch (e) { return String(e); } };
    assert.equal(near.phase, "Succeeded", `the client pod on the joined node failed:\n${near.log}\nits node's table:\n${table()}\nkeel join said:\n${joinerOut.slice(-3000)}`);
    assert.match(near.log, new RegExp(`Address:?\\s+(1: )?${clusterIP.replace(/\./g, "\\.")}`), near.log);
    assert.equal(far.phase, "Succeeded", `the client pod on the cluster's node failed:\n${far.log}`);
    // the node's table holds the Service (ClusterIP, and kube-dns sent to this node's own address)
    assert.match(table(), new RegExp(`ip daddr ${clusterIP.replace(/\./g, "\\.")} tcp dport 80`));
    assert.match(table(), /dnat to 10\.250\.0\.200:53/);
  });

  it("with the store in etcd, a second API server on the same etcd serves the same cluster", { skip: etcdMissing() ?? false }, async () => {
    const dir2 = join(dir, "api2");
    mkdirSync(dir2, { mode: 0o700 });
    cpSync(join(dir, "pki"), join(dir2, "pki"), { recursive: true });
    second = await startApiServer({ dataDir: dir2, listen: "127.0.0.1:0", store: etcd!.spec });
    const names = (await kubectl(join(dir2, "admin.kubeconfig"), ["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"])).split(/\s+/).sort();
    assert.deepEqual(names, [cluster!.nodes[0]!.name, JOIN_NODE].sort());
    assert.match(await kubectl(join(dir2, "admin.kubeconfig"), ["get", "pod", "on-joined", "-o", "jsonpath={.spec.nodeName}"]), new RegExp(JOIN_NODE));
  });

  it("leaves on SIGTERM, stopping its pods", async () => {
    await kubectl(admin(), ["delete", "pod", "on-joined", "--wait=false"]);
    joiner!.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => joiner!.once("exit", (c) => r(c)));
    assert.equal(code, 0, joinerOut);
    // the machine is left as it was: no pod bridge, VXLAN device or keel table in its namespace
    const links = execFileSync("ip", ["-n", JOIN_NETNS, "-o", "link", "show"], { encoding: "utf8" });
    assert.deepEqual(links.split("\n").filter((l) => /^\d+: keel/.test(l)), []);
    assert.doesNotMatch(execFileSync("ip", ["netns", "exec", JOIN_NETNS, "nft", "list", "tables"], { encoding: "utf8" }), /keel/);
  });
});
