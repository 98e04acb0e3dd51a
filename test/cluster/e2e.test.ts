// A 3-node cluster end to end, as root, driven by real kubectl: a web Deployment spread over
// the nodes and its Service; a pod gets the cluster's resolv.conf, resolves the Service by its
// DNS name (busybox nslookup) and fetches from it by name and from every web pod by its IP
// across nodes; kubectl scale; a NodePort from the underlay side; a DaemonSet and a Job; one
// node's kubelet is killed, the node goes NotReady and its pod is recreated on another node;
// closing the cluster leaves nothing behind (leakcheck).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterUp, stateFile, type RunningCluster } from "../../cluster/index.js";
import { KUBECTL, runKubectl, waitFor, podLog as podLogOf } from "./fixtures.js";

const LEAKCHECK = "/work/shared/tools/leakcheck";
const TAG = `e${process.pid % 100000}`;
const GRACE_MS = 4000;

interface PodJson { metadata: { name: string; uid: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string; podIP?: string } }
interface NodeJson { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }

describe("a 3-node cluster end to end", { skip: !existsSync(KUBECTL) && "kubectl is not installed" }, () => {
  let dir = "";
  let cluster: RunningCluster | undefined;

  const kubectl = (args: string[], input?: string) => runKubectl(dir, join(dir, "admin.kubeconfig"), args, input);
  const getJson = async <T>(args: string[]) => JSON.parse(await kubectl([...args, "-o", "json"])) as T;
  const webPods = async () => (await getJson<{ items: PodJson[] }>(["get", "pods", "-l", "app=web"])).items;
  const podLog = (pod: PodJson): string => podLogOf(cluster!, pod);
  /** Runs a one-shot busybox pod on `node`; resolves with its phase and log. */
  const runPod = async (name: string, node: string, script: string) => {
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels: { app: "e2e-client" } },
      spec: { nodeName: node, restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script] }] },
    }));
    const p = await waitFor(`${name} finished`, async () => {
      const x = await getJson<PodJson>(["get", "pod", name]);
      return (x.status.phase === "Succeeded" || x.status.phase === "Failed") && x;
    });
    const log = podLog(p);
    await kubectl(["delete", "pod", name, "--wait=false"]);
    return { phase: p.status.phase, log };
  };
  // (no -T: this busybox's wget crashes with it)
  const fetch = (url: string, want: string) =>
    `ok=; for i in $(seq 1 20); do if wget -q -O - ${url} | grep -q ${want}; then ok=1; break; fi; sleep 0.5; done; [ -n "$ok" ] || { echo "FAIL no ${want} from ${url}"; exit 1; }; echo "ok ${url}"`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-e2e-"));
    cluster = await clusterUp({
      dataDir: dir, nodes: 3, listen: "127.0.0.1:0", name: TAG, stopGraceSec: 1, nodeMonitorGracePeriodMs: GRACE_MS,
      log: process.env.KEEL_TEST_LOG ? (m) => console.error(m) : undefined,
    });
  });
  after(async () => {
    await cluster?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it("has 3 Ready nodes and the kube-dns Service at its fixed ClusterIP", async () => {
    const nodes = (await getJson<{ items: NodeJson[] }>(["get", "nodes"])).items;
    const ready = nodes.filter((n) => n.status.conditions.some((c) => c.type === "Ready" && c.status === "True")).map((n) => n.metadata.name).sort();
    assert.deepEqual(ready, cluster!.nodes.map((n) => n.name).sort());
    assert.equal((await kubectl(["-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"])).trim(), cluster!.dnsIP);
  });

  let web: PodJson[] = [];
  it("runs a 3-replica web Deployment spread over the 3 nodes, with a Service", async () => {
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "default" },
      spec: {
        replicas: 3, selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "web" } } } }] } },
            containers: [{
              name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", ports: [{ name: "http", containerPort: 8080 }],
              command: ["sh", "-c", "mkdir -p /www && echo web-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"],
            }],
          },
        },
      },
    }));
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    }));
    web = await waitFor("3 web pods Running", async () => {
      const p = await webPods();
      return p.length === 3 && p.every((x) => x.status.phase === "Running" && x.status.podIP && x.spec.nodeName) && p;
    });
    assert.equal(new Set(web.map((p) => p.spec.nodeName)).size, 3, `pods on ${web.map((p) => p.spec.nodeName).join(", ")}`);
  });

  it("kubectl exec and top reach every node's kubelet through the API server; pods have their ServiceAccount token", async () => {
    for (const p of web) {
      const out = await kubectl(["exec", p.metadata.name, "--", "cat", "/www/index.html"]);
      assert.equal(out.trim(), `web-${p.metadata.name}`);
    }
    // Each pod got its ServiceAccount's token from its kubelet (on node credentials).
    const sa = await kubectl(["exec", web[0]!.metadata.name, "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace", "/var/run/secrets/kubernetes.io/serviceaccount/token"]);
    assert.match(sa, /^default[\s\S]*eyJ/);
    const top = await waitFor("kubectl top nodes", async () => {
      const t = await kubectl(["top", "nodes", "--no-headers"]);
      return cluster!.nodes.every((n) => t.includes(n.name)) && t;
    }, 30_000);
    assert.match(top, /\d+m\s+\d+%\s+\d+Mi\s+\d+%/);
  });

  it("gives pods the cluster's resolv.conf; a pod resolves the Service's DNS name and fetches from it by name, and from every web pod by IP", async () => {
    const n1 = cluster!.nodes[0]!.name;
    const script = [
      `cat /etc/resolv.conf`,
      `grep -qx "nameserver ${cluster!.dnsIP}" /etc/resolv.conf || { echo "FAIL nameserver"; exit 1; }`,
      `grep -qx "search default.svc.cluster.local svc.cluster.local cluster.local" /etc/resolv.conf || { echo "FAIL search"; exit 1; }`,
      `grep -qx "options ndots:5" /etc/resolv.conf || { echo "FAIL options"; exit 1; }`,
      `nslookup web.default.svc.cluster.local || { echo "FAIL nslookup"; exit 1; }`,
      fetch("http://web.default.svc.cluster.local/", "web-web-"),
      fetch("http://web/", "web-web-"),
      ...web.map((p) => fetch(`http://${p.status.podIP}:8080/`, `web-${p.metadata.name}`)),
    ].join("\n");
    const r = await runPod("dns-client", n1, script);
    assert.equal(r.phase, "Succeeded", `the client pod failed:\n${r.log}`);
    const svcIP = (await kubectl(["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"])).trim();
    assert.match(r.log, new RegExp(`Address:?\\s+(1: )?${svcIP.replace(/\./g, "\\.")}`), r.log);
  });

  it("kubectl scale: 4 replicas, then back to 3", async () => {
    await kubectl(["scale", "deployment", "web", "--replicas=4"]);
    await waitFor("4 web pods Running", async () => { const p = await webPods(); return p.length === 4 && p.every((x) => x.status.phase === "Running"); });
    await kubectl(["scale", "deployment", "web", "--replicas=3"]);
    web = await waitFor("3 web pods again", async () => {
      const p = (await webPods()).filter((x) => !x.metadata.deletionTimestamp);
      return p.length === 3 && p.every((x) => x.status.phase === "Running") && p;
    });
  });

  it("a NodePort answers on every node's address, from the underlay side", async () => {
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1", kind: "Service", metadata: { name: "web-np", namespace: "default" },
      spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
    }));
    const nodePort = Number((await kubectl(["get", "service", "web-np", "-o", "jsonpath={.spec.ports[0].nodePort}"])).trim());
    assert.ok(nodePort >= 30000 && nodePort < 32768, String(nodePort));
    const underlay = `keel-ul-${TAG}`;
    for (const n of cluster!.nodes) {
      const out = await waitFor(`NodePort ${n.ip}:${nodePort}`, () => new Promise<string | false>((resolve) => {
        execFile("ip", ["netns", "exec", underlay, "busybox", "wget", "-q", "-O", "-", `http://${n.ip}:${nodePort}/`], { timeout: 5000 }, (err, stdout) => resolve(!err && stdout));
      }), 20_000);
      assert.match(out, /^web-web-/);
    }
    await kubectl(["delete", "service", "web-np"]);
  });

  it("a DaemonSet has one pod per node; a Job runs to completion", async () => {
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: "default" },
      spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] }] } } },
    }));
    await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "batch/v1", kind: "Job", metadata: { name: "once", namespace: "default" },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "nslookup kube-dns.kube-system.svc.cluster.local && echo done"] }] } } },
    }));
    const agents = await waitFor("one agent pod Running per node", async () => {
      const p = (await getJson<{ items: PodJson[] }>(["get", "pods", "-l", "app=agent"])).items;
      return p.length === 3 && p.every((x) => x.status.phase === "Running") && p;
    });
    assert.deepEqual(agents.map((p) => p.spec.nodeName).sort(), cluster!.nodes.map((n) => n.name).sort());
    await waitFor("the Job complete", async () => {
      const j = await getJson<{ status: { succeeded?: number; failed?: number } }>(["get", "job", "once"]);
      if (j.status.failed) throw new Error("the Job's pod failed");
      return j.status.succeeded === 1;
    });
    await kubectl(["delete", "daemonset", "agent", "--wait=false"]);
    await kubectl(["delete", "job", "once", "--wait=false"]);
    await waitFor("the agent pods gone", async () => (await getJson<{ items: unknown[] }>(["get", "pods", "-l", "app=agent"])).items.length === 0);
  });

  it("a node whose kubelet is killed goes NotReady and its pod is recreated on another node", async () => {
    // a node holding a web pod, other than the first (where the client pods run)
    const lost = web.filter((p) => p.spec.nodeName !== cluster!.nodes[0]!.name).at(-1)!;
    assert.ok(lost, `a web pod off the first node (pods on ${web.map((p) => p.spec.nodeName).join(", ")})`);
    const victim = lost.spec.nodeName!;
    const t0 = Date.now();
    await cluster!.killKubelet(victim);
    await waitFor(`${victim} NotReady`, async () => {
      const n = await getJson<NodeJson>(["get", "node", victim]);
      return n.status.conditions.some((c) => c.type === "Ready" && c.status !== "True");
    }, GRACE_MS * 10);
    // The evicted pod stays Terminating (its kubelet is not there to confirm), as in Kubernetes;
    // the ReplicaSet replaces it at once.
    const now = await waitFor("3 web pods Running again, none on the dead node", async () => {
      const p = (await webPods()).filter((x) => !x.metadata.deletionTimestamp);
      return p.length === 3 && p.every((x) => x.status.phase === "Running" && x.spec.nodeName !== victim && x.metadata.uid !== lost.metadata.uid) && p;
    }, 60_000);
    const old = (await webPods()).find((x) => x.metadata.uid === lost.metadata.uid);
    assert.ok(!old || old.metadata.deletionTimestamp, "the dead node's pod is gone or Terminating");
    const secs = (Date.now() - t0) / 1000;
    console.log(`# node ${victim} dead → its pod Running elsewhere in ${secs.toFixed(1)} s (grace ${GRACE_MS / 1000} s)`);
    assert.ok(now.every((p) => p.spec.nodeName !== victim));
    // the Service follows: every answer now comes from a live pod
    const r = await runPod("dns-client-2", cluster!.nodes[0]!.name, fetch("http://web/", "web-web-"));
    assert.equal(r.phase, "Succeeded", r.log);
  });

  it("closing the cluster leaves nothing behind", async () => {
    await cluster!.close();
    cluster = undefined;
    assert.equal(existsSync(stateFile(dir)), false);
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
