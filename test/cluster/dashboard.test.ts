// `keel dashboard` in headless Chromium (Debian's chromium driven by playwright-core): a 2-node
// cluster's page shows both nodes; applying a Deployment with kubectl makes its pods appear on
// the page (through watches and server-sent events, no reload) on the nodes they run on. The
// screenshot is kept as a test artifact (its path is printed).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterUp, type RunningCluster } from "../../cluster/index.js";
import { clusterView, startDashboard, type RunningDashboard } from "../../dashboard/index.js";
import { KUBECTL, runKubectl } from "./fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const TAG = `d${process.pid % 100000}`;

describe("keel dashboard in headless Chromium", () => {
  it("the view: nodes with allocatable and requested resources, pods placed, workloads", () => {
    const v = clusterView(
      [{ apiVersion: "v1", kind: "Node", metadata: { name: "n1" }, status: { allocatable: { cpu: "2", memory: "1Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] } } as never],
      [
        { apiVersion: "v1", kind: "Pod", metadata: { name: "a", namespace: "default" }, spec: { nodeName: "n1", containers: [{ name: "c", resources: { requests: { cpu: "250m", memory: "64Mi" } } }] }, status: { phase: "Running" } } as never,
        { apiVersion: "v1", kind: "Pod", metadata: { name: "b", namespace: "default" }, spec: { containers: [{ name: "c" }] }, status: { phase: "Pending" } } as never,
      ],
      [{ kind: "Deployment", items: [{ metadata: { name: "web", namespace: "default" }, spec: { replicas: 3 }, status: { readyReplicas: 1 } }] }],
    );
    assert.deepEqual(v.nodes[0]!.cpu, { allocatableMilli: 2000, requestedMilli: 250 });
    assert.deepEqual(v.nodes[0]!.memory, { allocatableBytes: 2 ** 30, requestedBytes: 64 * 2 ** 20 });
    assert.deepEqual(v.nodes[0]!.pods, { capacity: 110, count: 1 });
    assert.deepEqual(v.unscheduled.map((p) => p.name), ["b"]);
    assert.deepEqual(v.workloads, [{ kind: "Deployment", namespace: "default", name: "web", desired: 3, ready: 1 }]);
  });

  describe("against a live cluster", { skip: (!existsSync(KUBECTL) && "kubectl is not installed") || (!existsSync(CHROMIUM) && "chromium is not installed (Debian package chromium)") }, () => {
    let dir = "";
    let cluster: RunningCluster | undefined;
    let dash: RunningDashboard | undefined;
    let browser: import("playwright-core").Browser | undefined;
    const artifacts = mkdtempSync(join(tmpdir(), "keel-dashboard-artifacts-"));

    const kubectl = (args: string[], input?: string) => runKubectl(dir, join(dir, "admin.kubeconfig"), args, input);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "keel-dash-"));
      cluster = await clusterUp({ dataDir: dir, nodes: 2, listen: "127.0.0.1:0", name: TAG, stopGraceSec: 1 });
      dash = await startDashboard({ kubeconfig: cluster.kubeconfigPath, listen: "127.0.0.1:0" });
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    });
    after(async () => {
      await browser?.close().catch(() => {});
      await dash?.close().catch(() => {});
      await cluster?.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it("shows the nodes, then a Deployment's pods appear on them live", async () => {
      const page = await browser!.newPage({ viewport: { width: 1000, height: 700 } });
      await page.goto(dash!.url);
      for (const n of cluster!.nodes) await page.waitForSelector(`[data-node="${n.name}"][data-ready="true"]`, { timeout: 30_000 });
      await kubectl(["apply", "-f", "-"], JSON.stringify({
        apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "shown", namespace: "default" },
        spec: {
          replicas: 3, selector: { matchLabels: { app: "shown" } },
          template: { metadata: { labels: { app: "shown" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"], resources: { requests: { cpu: "100m", memory: "16Mi" } } }] } },
        },
      }));
      // no reload: the page learns of the pods from the event stream
      await page.waitForFunction(() => document.querySelectorAll('[data-node] [data-pod^="shown-"][data-phase="Running"]').length === 3, undefined, { timeout: 60_000 });
      await page.waitForSelector('[data-workload="Deployment/default/shown"]', { timeout: 30_000 });
      const placed = await page.$$eval('[data-node] [data-pod^="shown-"]', (els) => els.map((e) => e.closest("[data-node]")!.getAttribute("data-node")));
      const pods = (JSON.parse(await kubectl(["get", "pods", "-l", "app=shown", "-o", "json"])) as { items: { spec: { nodeName: string } }[] }).items.map((p) => p.spec.nodeName);
      assert.deepEqual(placed.sort(), pods.sort(), "each pod is shown on the node it runs on");
      const shot = join(artifacts, "dashboard.png");
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`# dashboard screenshot: ${shot}`);
      await kubectl(["delete", "deployment", "shown", "--wait=false"]);
      await page.waitForFunction(() => document.querySelectorAll('[data-pod^="shown-"]').length === 0, undefined, { timeout: 60_000 });
    });
  });
});
