// `clusterUp` end to end, as root: a 2-node cluster (each node a network namespace the cluster
// makes), real kubectl sees both nodes Ready, a Deployment's pods run on the nodes with pod
// IPs, and closing the cluster leaves no namespace, interface or state file behind.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterNames, clusterStatus, clusterUp, stateFile, type RunningCluster } from "../../cluster/index.js";
import { KUBECTL, runKubectl, waitFor } from "./fixtures.js";

const TAG = `t${process.pid % 100000}`;

interface PodJson { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }

const netnsList = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
const ours = (text: string) => text.split("\n").filter((l) => l.includes(`keel-node-${TAG}-`) || l.includes(`keel-ul-${TAG}`));

describe("keel cluster up: 2 nodes in their own network namespaces", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, () => {
  let dir = "";
  let cluster: RunningCluster | undefined;

  const kubectl = (args: string[], input?: string) => runKubectl(dir, join(dir, "admin.kubeconfig"), args, input);
  const pods = async () => (JSON.parse(await kubectl(["get", "pods", "-l", "app=sleeper", "-o", "json"])) as { items: PodJson[] }).items;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-cluster-"));
    cluster = await clusterUp({
      dataDir: dir, nodes: 2, listen: "127.0.0.1:0", name: TAG, stopGraceSec: 1,
      log: process.env.KEEL_TEST_LOG ? (m) => console.error(m) : undefined,
    });
  });
  after(async () => {
    await cluster?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes one network namespace per node, with the node's address on the underlay", () => {
    const names = clusterNames(TAG);
    assert.deepEqual(cluster!.nodes.map((n) => n.netns), [names.node(1), names.node(2)]);
    for (const n of cluster!.nodes) {
      const addrs = execFileSync("ip", ["-n", n.netns, "-4", "-o", "addr", "show", "dev", "eth0"], { encoding: "utf8" });
      assert.match(addrs, new RegExp(`inet ${n.ip.replace(/\./g, "\\.")}/24`));
    }
  });

  it("kubectl sees 2 Ready nodes", async () => {
    const out = JSON.parse(await kubectl(["get", "nodes", "-o", "json"])) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] };
    const ready = out.items.filter((n) => n.status.conditions.some((c) => c.type === "Ready" && c.status === "True")).map((n) => n.metadata.name).sort();
    assert.deepEqual(ready, cluster!.nodes.map((n) => n.name).sort());
  });

  it("runs a Deployment's pods on the nodes with pod IPs, and deletes them", async () => {
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "sleeper", namespace: "default" },
      spec: {
        replicas: 2, selector: { matchLabels: { app: "sleeper" } },
        template: { metadata: { labels: { app: "sleeper" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] } },
      },
    }));
    const running = await waitFor("2 pods Running with pod IPs", async () => {
      const p = await pods();
      return p.length === 2 && p.every((x) => x.status.phase === "Running" && x.status.podIP && x.spec.nodeName) && p;
    });
    const nodeNames = cluster!.nodes.map((n) => n.name);
    for (const p of running) {
      assert.ok(nodeNames.includes(p.spec.nodeName!), `${p.metadata.name} on ${p.spec.nodeName}`);
      assert.match(p.status.podIP!, /^10\.244\.\d+\.\d+$/);
    }
    assert.notEqual(running[0]!.status.podIP, running[1]!.status.podIP);
    const st = await clusterStatus({ dataDir: dir });
    assert.equal(st.processAlive, true);
    assert.deepEqual(st.nodes.map((n) => n.ready), [true, true]);
    assert.equal(st.pods.filter((p) => p.name.startsWith("sleeper-") && p.phase === "Running").length, 2);

    await kubectl(["delete", "deployment", "sleeper", "--wait=false"]);
    await waitFor("the Deployment's pods gone", async () => (await pods()).length === 0);
  });

  it("a pod on one node reaches a pod on the other by its IP (VXLAN overlay) and by its Service's ClusterIP", async () => {
    const [n1, n2] = cluster!.nodes;
    const pod = (name: string, nodeName: string, restartPolicy: string, command: string[]) => ({
      apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels: { app: "overlay", role: name } },
      spec: { nodeName, restartPolicy, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command }] },
    });
    await kubectl(["apply", "-f", "-"], JSON.stringify(pod("web", n2!.name, "Always",
      ["sh", "-c", "mkdir -p /www && echo hello-across-nodes > /www/index.html && exec httpd -f -p 8080 -h /www"])));
    const get = async (name: string) => JSON.parse(await kubectl(["get", "pod", name, "-o", "json"])) as PodJson;
    const web = await waitFor("web Running", async () => { const p = await get("web"); return p.status.phase === "Running" && !!p.status.podIP && p; });
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" },
      spec: { selector: { role: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
    }));
    const clusterIP = (await kubectl(["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    assert.match(clusterIP, /^10\.96\.\d+\.\d+$/);
    // (no -T: this busybox's wget crashes with it)
    const fetch = (url: string) => `ok=; for i in $(seq 1 20); do if wget -q -O - ${url} | grep -q hello-across-nodes; then ok=1; break; fi; sleep 0.5; done; [ -n "$ok" ] || { echo "no answer from ${url}"; exit 1; }`;
    await kubectl(["apply", "-f", "-"], JSON.stringify(pod("client", n1!.name, "Never",
      ["sh", "-c", `${fetch(`http://${web.status.podIP}:8080/`)}; ${fetch(`http://${clusterIP}/`)}`])));
    const client = await waitFor("client finished", async () => { const p = await get("client"); return (p.status.phase === "Succeeded" || p.status.phase === "Failed") && p; });
    assert.equal(client.status.phase, "Succeeded", "the client pod on node 1 could not fetch from the web pod on node 2 (by pod IP, then ClusterIP)");
    await kubectl(["delete", "service", "web"]);
    await kubectl(["delete", "pod", "-l", "app=overlay", "--wait=false"]);
    await waitFor("overlay pods gone", async () => (JSON.parse(await kubectl(["get", "pods", "-l", "app=overlay", "-o", "json"])) as { items: unknown[] }).items.length === 0);
  });

  it("close removes every namespace and interface it made, and its state", async () => {
    await cluster!.close();
    cluster = undefined;
    assert.deepEqual(ours(netnsList()), []);
    const hostLinks = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
    assert.deepEqual(hostLinks.split("\n").filter((l) => /keel/.test(l)), []);
    assert.equal(existsSync(stateFile(dir)), false);
  });
});
