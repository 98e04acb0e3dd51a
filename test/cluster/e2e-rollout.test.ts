// A 3-node cluster end to end, driven by real kubectl, for what moves: a rolling update of a
// web Deployment under a steady request loop from a client pod fails no request (readiness
// gates the new pods into the Service, preStop keeps the old ones serving until their
// endpoints are gone); an HPA on CPU utilization scales a Deployment up while one of its pods
// burns CPU, and back down once it stops. Closing the cluster leaves nothing behind.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterUp, type RunningCluster } from "../../cluster/index.js";
import { KUBECTL, runKubectl, waitFor, podLog as podLogOf } from "./fixtures.js";

const LEAKCHECK = "/work/shared/tools/leakcheck";
const TAG = `r${process.pid % 100000}`;

interface PodJson { metadata: { name: string; uid: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] } }

const isReady = (p: PodJson) => p.status.phase === "Running" && !!p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");

describe("a 3-node cluster: rolling update and autoscaling", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, () => {
  let dir = "";
  let cluster: RunningCluster | undefined;

  const kubectl = (args: string[], input?: string, timeout = 60_000) => runKubectl(dir, join(dir, "admin.kubeconfig"), args, input, timeout);
  const apply = (obj: unknown) => kubectl(["apply", "-f", "-"], JSON.stringify(obj));
  const getJson = async <T>(args: string[]) => JSON.parse(await kubectl([...args, "-o", "json"])) as T;
  const podsOf = async (app: string) => (await getJson<{ items: PodJson[] }>(["get", "pods", "-l", `app=${app}`])).items;
  const podLog = (pod: PodJson): string => podLogOf(cluster!, pod);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-e2e-roll-"));
    cluster = await clusterUp({
      dataDir: dir, nodes: 3, listen: "127.0.0.1:0", name: TAG, stopGraceSec: 1, hpaSyncPeriodMs: 1000,
      log: process.env.KEEL_TEST_LOG ? (m) => console.error(m) : undefined,
    });
  });
  after(async () => {
    await cluster?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it("a rolling update under a steady request loop fails no request (readiness honoured)", async () => {
    const webTemplate = (version: string) => ({
      metadata: { labels: { app: "web" } },
      spec: {
        // preStop sleeps while the endpoint controller and every node's proxy drop the pod;
        // only then does the container get SIGTERM.
        terminationGracePeriodSeconds: 6,
        containers: [{
          name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", ports: [{ name: "http", containerPort: 8080 }],
          env: [{ name: "VERSION", value: version }],
          // A short start-up delay, so a pod that is Running but not yet serving would be seen;
          // on SIGTERM the server stops at once (httpd as PID 1 would ignore it and live out the
          // grace period), so only the preStop delay keeps a terminating pod serving.
          command: ["sh", "-c", "sleep 1; mkdir -p /www && echo web-$VERSION-$(hostname) > /www/index.html && httpd -f -p 8080 -h /www & trap 'kill $!; exit 0' TERM; wait"],
          readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
          lifecycle: { preStop: { exec: { command: ["sleep", "3"] } } },
        }],
      },
    });
    await apply({
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 3, selector: { matchLabels: { app: "web" } },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: webTemplate("v1"),
      },
    });
    await apply({
      apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    const before = await waitFor("3 web pods Ready", async () => {
      const p = (await podsOf("web")).filter((x) => !x.metadata.deletionTimestamp);
      return p.length === 3 && p.every(isReady) && p;
    });
    const svcIP = (await kubectl(["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"])).trim();

    // The client: requests the Service back to back until /tmp/stop appears, one line per
    // failure, a count at the end. It first waits for the Service to answer once (the proxy
    // on its node may not have the Service yet) so only failures during the rollout count.
    // (no -T: this busybox's wget crashes with it)
    const client = "rollout-client";
    await apply({
      apiVersion: "v1", kind: "Pod", metadata: { name: client, namespace: "default", labels: { app: "e2e-client" } },
      spec: {
        nodeName: cluster!.nodes[0]!.name, restartPolicy: "Never", terminationGracePeriodSeconds: 1,
        containers: [{
          name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", [
            `until wget -q -O /dev/null http://${svcIP}/; do sleep 0.2; done`,
            `touch /tmp/started; ok=0; fail=0`,
            `while [ ! -f /tmp/stop ]; do`,
            `  if out=$(wget -q -O - http://${svcIP}/ 2>&1) && echo "$out" | grep -q '^web-'; then ok=$((ok+1)); else fail=$((fail+1)); echo "FAIL $(date +%T) $out"; fi`,
            `  sleep 0.05`,
            `done`,
            `echo "RESULT ok=$ok fail=$fail"`,
          ].join("\n")],
        }],
      },
    });
    await waitFor("the client looping", async () => { await kubectl(["exec", client, "--", "test", "-f", "/tmp/started"]); return true; }, 60_000);

    await kubectl(["set", "env", "deployment/web", "VERSION=v2"]);
    await kubectl(["rollout", "status", "deployment/web", "--timeout=120s"], undefined, 130_000);
    // a few more requests against the new pods only
    await new Promise((r) => setTimeout(r, 1500));
    await kubectl(["exec", client, "--", "touch", "/tmp/stop"]);
    const done = await waitFor("the client finished", async () => {
      const x = await getJson<PodJson>(["get", "pod", client]);
      return (x.status.phase === "Succeeded" || x.status.phase === "Failed") && x;
    }, 30_000);
    const log = podLog(done);
    await kubectl(["delete", "pod", client, "--wait=false"]);
    const m = /RESULT ok=(\d+) fail=(\d+)/.exec(log);
    assert.ok(m, `the client's result line:\n${log}`);
    console.log(`# rolling update: ${m[1]} requests, ${m[2]} failed`);
    assert.equal(Number(m[2]), 0, `requests failed during the rollout:\n${log}`);
    assert.ok(Number(m[1]) > 10, `too few requests to tell: ${m[1]}`);

    const now = await waitFor("3 new web pods, the old ones gone", async () => {
      const p = await podsOf("web");
      return p.length === 3 && p.every((x) => isReady(x) && !x.metadata.deletionTimestamp) && p;
    }, 60_000);
    const oldUids = new Set(before.map((p) => p.metadata.uid));
    assert.ok(now.every((p) => !oldUids.has(p.metadata.uid)), "every pod was replaced");
    const page = await kubectl(["exec", now[0]!.metadata.name, "--", "cat", "/www/index.html"]);
    assert.match(page, /^web-v2-/);
    await kubectl(["delete", "deployment", "web", "--wait=false"]);
    await kubectl(["delete", "service", "web", "--wait=false"]);
  });

  it("an HPA scales a CPU-burning Deployment up under load and back down after", async () => {
    // Each pod burns a CPU (up to its 200m limit) while /tmp/burn exists, and idles otherwise.
    await apply({
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "burn", namespace: "default" },
      spec: {
        replicas: 1, selector: { matchLabels: { app: "burn" } },
        template: {
          metadata: { labels: { app: "burn" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{
              name: "c", image: "busybox", imagePullPolicy: "IfNotPresent",
              resources: { requests: { cpu: "100m" }, limits: { cpu: "200m" } },
              command: ["sh", "-c", "while true; do if [ -f /tmp/burn ]; then :; else sleep 0.5; fi; done"],
            }],
          },
        },
      },
    });
    const [first] = await waitFor("the burn pod Ready", async () => {
      const p = (await podsOf("burn")).filter((x) => !x.metadata.deletionTimestamp);
      return p.length === 1 && p.every(isReady) && p;
    });
    await apply({
      apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "burn", namespace: "default" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "burn" },
        minReplicas: 1, maxReplicas: 3,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      },
    });
    interface HpaJson { status?: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: unknown[]; conditions?: { type: string; status: string; message?: string }[] } }
    const hpaState = async () => {
      const h = await getJson<HpaJson>(["get", "hpa", "burn"]);
      const d = await getJson<{ spec: { replicas: number } }>(["get", "deployment", "burn"]);
      return { replicas: d.spec.replicas, status: h.status };
    };
    // idle: the HPA reads metrics and stays at 1
    await waitFor("the HPA reading metrics", async () => {
      const s = await hpaState();
      return s.status?.conditions?.some((c) => c.type === "ScalingActive" && c.status === "True") && s.status.currentMetrics?.length;
    }, 60_000);
    assert.equal((await hpaState()).replicas, 1);

    await kubectl(["exec", first!.metadata.name, "--", "touch", "/tmp/burn"]);
    const t0 = Date.now();
    await waitFor("the HPA scaling up", async () => (await hpaState()).replicas > 1, 90_000).catch(async (e) => { throw new Error(`${(e as Error).message}; last HPA status ${JSON.stringify((await hpaState()).status)}`); });
    await waitFor("more burn pods Running", async () => (await podsOf("burn")).filter(isReady).length > 1, 60_000);
    console.log(`# HPA scaled up ${((Date.now() - t0) / 1000).toFixed(1)} s after the load began`);

    await kubectl(["exec", first!.metadata.name, "--", "rm", "-f", "/tmp/burn"]);
    const t1 = Date.now();
    await waitFor("the HPA scaling back down to 1", async () => (await hpaState()).replicas === 1, 90_000).catch(async (e) => { throw new Error(`${(e as Error).message}; last HPA status ${JSON.stringify((await hpaState()).status)}`); });
    console.log(`# HPA scaled down ${((Date.now() - t1) / 1000).toFixed(1)} s after the load stopped`);
    await kubectl(["delete", "hpa", "burn", "--wait=false"]);
    await kubectl(["delete", "deployment", "burn", "--wait=false"]);
  });

  it("closing the cluster leaves nothing behind", async () => {
    await cluster!.close();
    cluster = undefined;
    const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(TAG));
    assert.deepEqual(netns, []);
    if (existsSync(LEAKCHECK)) {
      let out = "";
      try { out = execFileSync(LEAKCHECK, ["--pattern", `${TAG}|${dir}`], { encoding: "utf8" }); } catch (e) { out = String((e as { stdout?: string }).stdout ?? ""); }
      const mine = out.split("\n").filter((l) => l.includes(TAG) || l.includes(dir));
      assert.deepEqual(mine, [], out);
    }
  });
});
