// Pods on keel's CNI: the test's "node" is a network namespace it creates (never the host's);
// the kubelet attaches each pod to the node's bridge, the pod reports its IP, and one pod
// reaches another by that IP.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniNetwork } from "../../kubelet/cni-network.js";
import { KubeletCore } from "../../kubelet/kubelet.js";
import { ManifestSource } from "../../kubelet/manifest-source.js";
import type { PodStatus } from "../../api/index.js";
import { busyboxPod, waitFor } from "./helpers.js";

describe("kubelet with CNI pod networking (inside a test node netns)", () => {
  const nodeNs = `keel-kn-${process.pid % 100000}`;
  let dir = "";
  let core: KubeletCore;
  let source: ManifestSource;
  const statuses = new Map<string, PodStatus>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "keel-kubelet-cni-"));
    mkdirSync(join(dir, "manifests"));
    execFileSync("ip", ["netns", "add", nodeNs]);
    execFileSync("ip", ["-n", nodeNs, "link", "set", "lo", "up"]);
    core = await KubeletCore.open({
      root: join(dir, "root"), logDir: join(dir, "logs"), nodeName: "keel-cni-node", syncIntervalMs: 100,
      network: new CniNetwork({ nodeNetns: `/run/netns/${nodeNs}`, bridge: `keelkb${process.pid % 10000}`, podCIDR: "10.209.7.0/24", stateDir: join(dir, "cni") }),
      onStatus: (pod, st) => statuses.set(pod.metadata.name!, st),
    });
    source = new ManifestSource({ dir: join(dir, "manifests"), nodeName: "keel-cni-node", intervalMs: 200, onPods: (p) => core.sync(p), onError: () => {} });
    await source.start();
  });
  after(async () => {
    await source?.stop();
    await core?.stopAll(0);
    await core?.close();
    try { execFileSync("ip", ["netns", "del", nodeNs]); } catch { /* not made */ }
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives pods addresses from the node's pod CIDR and they reach each other", async () => {
    writeFileSync(join(dir, "manifests", "server.json"), JSON.stringify(busyboxPod("server", {}, [{
      name: "httpd", command: ["sh", "-c", "mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www"],
      readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
    }])));
    const server = await waitFor("server ready", () => { const s = statuses.get("server"); return s?.conditions?.find((c) => c.type === "Ready")?.status === "True" && s; });
    assert.match(server.podIP ?? "", /^10\.209\.7\.\d+$/);
    writeFileSync(join(dir, "manifests", "client.json"), JSON.stringify(busyboxPod("client", { restartPolicy: "Never" }, [{
      name: "get", command: ["sh", "-c", `wget -q -O - http://${server.podIP}:8080/ && echo "my ip $MY_IP"`],
      env: [{ name: "MY_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
    }])));
    const client = await waitFor("client done", () => { const s = statuses.get("client"); return (s?.phase === "Succeeded" || s?.phase === "Failed") && s; });
    assert.equal(client.phase, "Succeeded", JSON.stringify(client.containerStatuses));
    assert.notEqual(client.podIP, server.podIP);
    const w = [...core.workers.values()].find((x) => x.pod.metadata.name === "client")!;
    const { readCriLog } = await import("../../runtime/cri-log.js");
    const lines = readCriLog(core.paths.containerLog(w.pod, "get", 0)).map((l) => l.line);
    assert.deepEqual(lines, ["hello-from-server", `my ip ${client.podIP}`]);
  });
});
