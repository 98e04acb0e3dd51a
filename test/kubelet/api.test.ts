// The kubelet under an in-process keel API server, driven with real kubectl: a pod bound to the
// node runs and reports its status; kubectl delete stops it gracefully; the node registers and
// renews its Lease; a restarted kubelet re-adopts its pods with restartCount unchanged.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lease, Node, Pod } from "../../api/index.js";
import { startApiServer, type RunningApiServer } from "../../controlplane/apiserver/index.js";
import { KubeClient, R } from "../../controlplane/kit/index.js";
import { startKubelet, type RunningKubelet } from "../../kubelet/index.js";
import { waitFor } from "./helpers.js";
import { KUBECTL, runKubectl } from "../fixtures/kubectl.js";

const NODE = "keel-kubelet-test-node";

describe("kubelet under the API server", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, () => {
  let dir = "";
  let server: RunningApiServer;
  let kubelet: RunningKubelet | undefined;
  let client: KubeClient;

  const kubectl = (args: string[], input?: string) => runKubectl(dir, server.kubeconfigPath, args, input);
  const start = () => startKubelet({
    kubeconfig: server.kubeconfigPath, nodeName: NODE, root: join(dir, "kubelet"), logDir: join(dir, "logs"),
    hostIP: "127.0.0.1", listen: "127.0.0.1:0", backoffBaseMs: 300, log: process.env.KEEL_TEST_LOG ? (m) => console.error(m) : undefined, syncIntervalMs: 100, leaseRenewMs: 500, nodeStatusMs: 1000,
  });
  const getPod = (name: string) => client.get<Pod>(R.pods, "default", name).catch(() => undefined);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-kubelet-api-"));
    server = await startApiServer({ dataDir: join(dir, "api"), listen: "127.0.0.1:0" });
    client = new KubeClient(server.kubeconfigPath, "keel-kubelet-test");
    kubelet = await start();
  });
  after(async () => {
    if (kubelet) { await kubelet.core.stopAll(0).catch(() => {}); await kubelet.close().catch(() => {}); }
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers its Node with capacity and conditions, and renews its Lease", async () => {
    const node = await client.get<Node>(R.nodes, undefined, NODE);
    assert.ok(Number(node.status?.capacity?.cpu) >= 1);
    assert.match(String(node.status?.allocatable?.memory), /Ki$/);
    assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
    assert.equal(node.status?.conditions?.find((c) => c.type === "MemoryPressure")?.status, "False");
    assert.deepEqual(node.status?.addresses?.[0], { type: "InternalIP", address: "127.0.0.1" });
    const l1 = await client.get<Lease>(R.leases, "kube-node-lease", NODE);
    const renewed = await waitForAsync(async () => {
      const l2 = await client.get<Lease>(R.leases, "kube-node-lease", NODE);
      return l2.spec?.renewTime !== l1.spec?.renewTime && l2;
    });
    assert.equal(renewed.spec?.holderIdentity, NODE);
  });

  it("runs a pod created with kubectl, reports its status, and kubectl delete stops it", async () => {
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default" },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 5, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.1; done"] }] },
    }));
    const pod = await waitForAsync(async () => { const p = await getPod("web"); return p?.status?.phase === "Running" && p.status.conditions?.find((c) => c.type === "Ready")?.status === "True" && p; });
    const cs = pod.status!.containerStatuses![0];
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state?.running?.startedAt);
    assert.match(cs.imageID, /^sha256:/);
    assert.equal(pod.status?.hostIP, "127.0.0.1");
    const out = await kubectl(["get", "pod", "web", "-o", "jsonpath={.status.phase} {.status.containerStatuses[0].ready}"]);
    assert.equal(out, "Running true");
    // Events recorded for the pod
    const events = await waitForAsync(async () => {
      const list = await client.list(R.events, "default");
      const reasons = list.items.filter((e) => (e as unknown as { involvedObject: { name: string } }).involvedObject.name === "web").map((e) => (e as unknown as { reason: string }).reason);
      return ["Pulled", "Created", "Started"].every((r) => reasons.includes(r)) && reasons;
    });
    assert.ok(events.includes("Started"));
    // The kubelet's own endpoint
    const base = kubelet!.url!;
    assert.equal(await (await fetch(`${base}/healthz`)).text(), "ok");
    const local = await (await fetch(`${base}/pods`)).json() as { items: Pod[] };
    assert.deepEqual(local.items.map((p) => p.metadata.name), ["web"]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /kubelet_running_containers\{container_state="running"\} 1/);
    assert.match(metrics, /kubelet_pod_start_duration_seconds_count 1/);
    // where the start went, step by step (one container: each step once)
    for (const step of ["queue", "supervisor", "sandbox", "image", "container"]) assert.match(metrics, new RegExp(`keel_kubelet_pod_start_step_duration_seconds_count\\{step="${step}"\\} 1`));
    assert.match(metrics, /kubelet_runtime_operations_duration_seconds_count\{operation_type="start_container"\} 2/, "the sandbox and the container");
    const summary = await (await fetch(`${base}/stats/summary`)).json() as { pods: { containers: { memory?: { usageBytes: number } }[] }[] };
    assert.ok((summary.pods[0].containers[0].memory?.usageBytes ?? 0) > 0);
    assert.equal(await (await fetch(`${base}/containerLogs/default/web/c`)).text(), "up\n");
    const uid = pod.metadata.uid!;
    await kubectl(["delete", "pod", "web", "--wait=true", "--timeout=30s"]);
    assert.equal(await getPod("web"), undefined);
    await waitFor("worker gone", () => !kubelet!.core.workers.has(uid));
    assert.deepEqual(kubelet!.core.runtime.list(), []);
  });

  it("a restarted kubelet re-adopts its pods; restartCount unchanged and status current", async () => {
    await client.create<Pod>(R.pods, "default", {
      metadata: { name: "steady", namespace: "default" },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: ["sleep", "1000"] }] },
    } as Pod);
    const before = await waitForAsync(async () => { const p = await getPod("steady"); return p?.status?.phase === "Running" && p; }).catch(async (e) => { console.error(JSON.stringify(await getPod("steady"))); throw e; });
    await kubelet!.close();
    kubelet = undefined;
    kubelet = await start();
    const w = await waitFor("re-adopted worker", () => kubelet!.core.workers.get(before.metadata.uid!));
    await waitFor("status", () => w.currentStatus?.phase === "Running");
    const after = (await getPod("steady"))!;
    assert.equal(after.status?.containerStatuses?.[0].restartCount, 0);
    assert.equal(after.status?.containerStatuses?.[0].containerID, before.status?.containerStatuses?.[0].containerID);
    assert.equal(w.record.containers.c.attempts, 1);
    await client.delete(R.pods, "default", "steady");
    await waitForAsync(async () => (await getPod("steady")) === undefined);
    await waitFor("steady gone", () => kubelet!.core.workers.size === 0);
  });

  it("restarts a container whose image kubectl changes", async () => {
    await client.create<Pod>(R.pods, "default", {
      metadata: { name: "img", namespace: "default" },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: ["sleep", "1000"] }] },
    } as Pod);
    await waitForAsync(async () => (await getPod("img"))?.status?.phase === "Running");
    await kubectl(["set", "image", "pod/img", "c=localhost/busybox"]);
    const p = await waitForAsync(async () => { const x = await getPod("img"); const cs = x?.status?.containerStatuses?.[0]; return cs?.restartCount === 1 && cs.state?.running && x; });
    assert.equal(p.status?.containerStatuses?.[0].image, "localhost/busybox");
    await client.delete(R.pods, "default", "img");
    await waitForAsync(async () => (await getPod("img")) === undefined);
  });

  it("keeps its pods running while the API server is down, and catches up when it returns", async () => {
    const mk = (name: string, policy: string, cmd: string[]) => client.create<Pod>(R.pods, "default", {
      metadata: { name, namespace: "default" },
      spec: { nodeName: NODE, restartPolicy: policy, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: cmd }] },
    } as Pod);
    await mk("longrun", "Always", ["sleep", "1000"]);
    await mk("shortjob", "Never", ["sh", "-c", "sleep 3"]);
    const before = await waitForAsync(async () => { const p = await getPod("longrun"); return p?.status?.phase === "Running" && p; });
    await waitForAsync(async () => (await getPod("shortjob"))?.status?.phase === "Running");
    const port = new URL(server.url).port;
    await server.close();
    const w = [...kubelet!.core.workers.values()].find((x) => x.pod.metadata.name === "shortjob")!;
    await waitFor("shortjob finished on the node", () => w.currentStatus?.phase === "Succeeded", 20_000);
    server = await startApiServer({ dataDir: join(dir, "api"), listen: `127.0.0.1:${port}` });
    client.close();
    client = new KubeClient(server.kubeconfigPath, "keel-kubelet-test");
    const job = await waitForAsync(async () => { const p = await getPod("shortjob"); return p?.status?.phase === "Succeeded" && p; });
    assert.equal(job.status?.containerStatuses?.[0].state?.terminated?.exitCode, 0);
    const after = (await getPod("longrun"))!;
    assert.equal(after.status?.phase, "Running");
    assert.equal(after.status?.containerStatuses?.[0].restartCount, 0);
    assert.equal(after.status?.containerStatuses?.[0].containerID, before.status?.containerStatuses?.[0].containerID);
    for (const name of ["longrun", "shortjob"]) await client.delete(R.pods, "default", name);
    await waitFor("pods gone", () => kubelet!.core.workers.size === 0, 30_000);
  });

  it("attaches pods with the podCIDR the control plane assigns to its Node (inside a test node netns)", async () => {
    const ns = `keel-kan-${process.pid % 100000}`;
    const node2 = "keel-kubelet-cni-node";
    execFileSync("ip", ["netns", "add", ns]);
    let k2: RunningKubelet | undefined;
    try {
      k2 = await startKubelet({
        kubeconfig: server.kubeconfigPath, nodeName: node2, root: join(dir, "kubelet2"), logDir: join(dir, "logs2"), hostIP: "127.0.0.1",
        syncIntervalMs: 100, leaseRenewMs: 500, nodeStatusMs: 300,
        cni: { nodeNetns: `/run/netns/${ns}`, bridge: `keelkab${process.pid % 1000}`, stateDir: join(dir, "cni2") },
      });
      await client.patch<Node>(R.nodes, undefined, node2, { spec: { podCIDR: "10.211.3.0/24", podCIDRs: ["10.211.3.0/24"] } });
      await client.create<Pod>(R.pods, "default", {
        metadata: { name: "netpod", namespace: "default" },
        spec: { nodeName: node2, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: ["sleep", "1000"] }] },
      } as Pod);
      const p = await waitForAsync(async () => { const x = await getPod("netpod"); return x?.status?.phase === "Running" && !!x.status.podIP && x; });
      assert.match(p.status!.podIP!, /^10\.211\.3\.\d+$/);
      await client.delete(R.pods, "default", "netpod");
      await waitForAsync(async () => (await getPod("netpod")) === undefined);
    } finally {
      if (k2) { await k2.core.stopAll(0).catch(() => {}); await k2.close(); }
      execFileSync("ip", ["netns", "del", ns]);
    }
  });
});

async function waitForAsync<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}
