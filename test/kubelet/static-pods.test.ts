// Standalone kubelet: static pod manifests in a directory become running pods, with real
// containers from the busybox image.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readCriLog } from "../../runtime/cri-log.js";
import { busyboxPod, startHarness, waitFor, writeManifest, type Harness } from "./helpers.js";

function ppidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

describe("kubelet: static pods", () => {
  let h: Harness;
  before(async () => { h = await startHarness(); });
  after(async () => { await h?.close(); });

  it("runs a static pod and its log shows its output", async () => {
    const file = writeManifest(h, "hello", busyboxPod("hello", {}, [{ name: "main", command: ["sh", "-c", "echo hello from $(POD_NAME) on $NODE; sleep 1000"], env: [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
    ] }]));
    const st = await waitFor("hello Running", () => { const s = h.statuses.get("hello"); return s?.phase === "Running" && s.conditions?.find((c) => c.type === "Ready")?.status === "True" && s; });
    assert.equal(st.containerStatuses?.[0].restartCount, 0);
    assert.ok(st.containerStatuses?.[0].state?.running?.startedAt);
    const w = [...h.core.workers.values()].find((x) => x.pod.metadata.name === "hello")!;
    const log = join(h.dir, "logs", `default_hello_${w.uid}`, "main", "0.log");
    const lines = await waitFor("log line", () => { const l = readCriLog(log); return l.length > 0 && l; });
    assert.equal(lines[0].line, "hello from hello on keel-test-node");
    assert.match(readFileSync(log, "utf8"), /^\S+ stdout F hello from hello/);
    rmSync(file);
    await waitFor("hello removed", () => !h.core.workers.has(w.uid));
    assert.equal(existsSync(join(h.dir, "logs", `default_hello_${w.uid}`)), false);
    assert.deepEqual(h.core.runtime.list(), []);
  });

  const worker = (name: string) => [...h.core.workers.values()].find((x) => x.pod.metadata.name === name)!;
  const status = (name: string) => h.statuses.get(name);

  it("restarts a crashing container with back-off, and restartCount grows", async () => {
    writeManifest(h, "crash", busyboxPod("crash", {}, [{ name: "c", command: ["sh", "-c", "echo run; exit 3"] }]));
    const st = await waitFor("restartCount >= 2", () => { const s = status("crash"); return (s?.containerStatuses?.[0].restartCount ?? 0) >= 2 && s; });
    assert.equal(st.phase, "Running");
    const cs = st.containerStatuses![0];
    assert.equal(cs.lastState?.terminated?.exitCode, 3);
    assert.equal(cs.lastState?.terminated?.reason, "Error");
    await waitFor("CrashLoopBackOff", () => status("crash")?.containerStatuses?.[0].state?.waiting?.reason === "CrashLoopBackOff");
    assert.ok(h.events.some((e) => e.startsWith("crash/c BackOff")));
    // one log file per restart
    const dir = join(h.dir, "logs", `default_crash_${worker("crash").uid}`, "c");
    assert.ok(readdirSync(dir).includes("1.log"));
    rmSync(join(h.manifests, "crash.json"));
  });

  it("restartPolicy Never: Failed or Succeeded, after init containers in order", async () => {
    writeManifest(h, "ok", busyboxPod("ok", { restartPolicy: "Never", initContainers: [
      { name: "i1", command: ["sh", "-c", "echo one > /work/order"], volumeMounts: [{ name: "w", mountPath: "/work" }] },
      { name: "i2", command: ["sh", "-c", "echo two >> /work/order"], volumeMounts: [{ name: "w", mountPath: "/work" }] },
    ], volumes: [{ name: "w", emptyDir: {} }] }, [{ name: "main", command: ["sh", "-c", "cat /work/order; test \"$(cat /work/order | tr '\\n' ,)\" = one,two,"], volumeMounts: [{ name: "w", mountPath: "/work" }] }]));
    writeManifest(h, "bad", busyboxPod("bad", { restartPolicy: "Never" }, [{ name: "main", command: ["sh", "-c", "exit 7"] }]));
    const ok = await waitFor("ok Succeeded", () => { const s = status("ok"); return (s?.phase === "Succeeded" || s?.phase === "Failed") && s; });
    assert.equal(ok.phase, "Succeeded", JSON.stringify(ok.containerStatuses));
    assert.equal(ok.initContainerStatuses?.length, 2);
    assert.equal(ok.containerStatuses?.[0].state?.terminated?.reason, "Completed");
    const bad = await waitFor("bad Failed", () => { const s = status("bad"); return s?.phase === "Failed" && s; });
    assert.equal(bad.containerStatuses?.[0].state?.terminated?.exitCode, 7);
    assert.equal(bad.containerStatuses?.[0].restartCount, 0);
    rmSync(join(h.manifests, "ok.json"));
    rmSync(join(h.manifests, "bad.json"));
  });

  it("restarts a container whose exec liveness probe fails", async () => {
    writeManifest(h, "live", busyboxPod("live", {}, [{
      name: "c", command: ["sh", "-c", "touch /tmp/healthy; sleep 1000"],
      livenessProbe: { exec: { command: ["test", "-e", "/tmp/nothing-here"] }, periodSeconds: 1, failureThreshold: 2 },
      readinessProbe: { exec: { command: ["test", "-e", "/tmp/healthy"] }, periodSeconds: 1 },
    }]));
    await waitFor("live ready", () => status("live")?.containerStatuses?.[0].ready === true);
    const st = await waitFor("restart after liveness failure", () => { const s = status("live"); return (s?.containerStatuses?.[0].restartCount ?? 0) >= 1 && s; }, 30_000);
    assert.equal(st.containerStatuses![0].lastState?.terminated?.exitCode, 137);
    assert.ok(h.events.some((e) => e.startsWith("live/c Unhealthy Liveness probe failed")));
    assert.ok(h.events.some((e) => e.startsWith("live/c Killing")));
    rmSync(join(h.manifests, "live.json"));
  });

  it("httpGet and tcpSocket probes reach the pod inside its own network namespace", async () => {
    writeManifest(h, "web", busyboxPod("web", {}, [{
      name: "httpd", command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"],
      ports: [{ name: "http", containerPort: 8080 }],
      readinessProbe: { httpGet: { path: "/index.html", port: "http" }, periodSeconds: 1 },
      livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
    }, {
      name: "never-ready", command: ["sleep", "1000"],
      readinessProbe: { httpGet: { path: "/missing", port: 8080 }, periodSeconds: 1 },
    }]));
    const st = await waitFor("httpd ready", () => { const s = status("web"); return s?.containerStatuses?.find((c) => c.name === "httpd")?.ready && s; });
    assert.equal(st.containerStatuses?.find((c) => c.name === "never-ready")?.ready, false);
    assert.equal(st.conditions?.find((c) => c.type === "Ready")?.status, "False");
    await waitFor("404 reported", () => h.events.some((e) => e.startsWith("web/never-ready Unhealthy Readiness probe failed: HTTP probe failed with statuscode: 404")));
    assert.equal(st.containerStatuses?.find((c) => c.name === "httpd")?.restartCount, 0);
    rmSync(join(h.manifests, "web.json"));
  });

  it("configMap and secret volumes and env come from manifests beside the pod", async () => {
    writeManifest(h, "cm", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { greeting: "hi there", "app.conf": "port=80\n" } });
    writeManifest(h, "sec", { apiVersion: "v1", kind: "Secret", metadata: { name: "creds" }, data: { password: Buffer.from("s3cret").toString("base64") } });
    writeManifest(h, "cfg", busyboxPod("cfg", { restartPolicy: "Never", volumes: [
      { name: "conf", configMap: { name: "settings", items: [{ key: "app.conf", path: "etc/app.conf" }] } },
      { name: "sec", secret: { secretName: "creds", defaultMode: 0o400 } },
    ] }, [{
      name: "c", command: ["sh", "-c", "echo \"$GREETING|$CFG_greeting|$PASS\"; cat /conf/etc/app.conf; cat /sec/password; echo; stat -c %a /sec/password"],
      env: [{ name: "GREETING", valueFrom: { configMapKeyRef: { name: "settings", key: "greeting" } } }, { name: "PASS", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } }],
      envFrom: [{ prefix: "CFG_", configMapRef: { name: "settings" } }],
      volumeMounts: [{ name: "conf", mountPath: "/conf" }, { name: "sec", mountPath: "/sec", readOnly: true }],
    }]));
    const st = await waitFor("cfg done", () => { const s = status("cfg"); return (s?.phase === "Succeeded" || s?.phase === "Failed") && s; });
    assert.equal(st.phase, "Succeeded", JSON.stringify(st.containerStatuses));
    const w = worker("cfg");
    const lines = readCriLog(h.core.paths.containerLog(w.pod, "c", 0)).map((l) => l.line);
    assert.deepEqual(lines, ["hi there|hi there|s3cret", "port=80", "s3cret", "400"]);
    for (const f of ["cm", "sec", "cfg"]) rmSync(join(h.manifests, `${f}.json`));
  });

  it("runs postStart and preStop hooks, and stops gracefully with SIGTERM", async () => {
    const hostDir = join(h.dir, "hooks-host");
    writeManifest(h, "hooks", busyboxPod("hooks", { terminationGracePeriodSeconds: 10, volumes: [{ name: "out", hostPath: { path: hostDir, type: "DirectoryOrCreate" } }] }, [{
      name: "c", command: ["sh", "-c", "trap 'echo term >> /out/log; exit 0' TERM; while :; do sleep 0.1; done"],
      volumeMounts: [{ name: "out", mountPath: "/out" }],
      lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo poststart >> /out/log"] } }, preStop: { exec: { command: ["sh", "-c", "echo prestop >> /out/log"] } } },
    }]));
    await waitFor("hooks running", () => status("hooks")?.phase === "Running");
    await waitFor("postStart ran", () => existsSync(join(hostDir, "log")) && readFileSync(join(hostDir, "log"), "utf8").includes("poststart"));
    const t0 = Date.now();
    rmSync(join(h.manifests, "hooks.json"));
    await waitFor("hooks removed", () => !worker("hooks"));
    assert.ok(Date.now() - t0 < 9000, "stopped by SIGTERM well before the grace period ended");
    assert.deepEqual(readFileSync(join(hostDir, "log"), "utf8").trim().split("\n"), ["poststart", "prestop", "term"]);
    // a hostPath volume's content stays
    assert.ok(existsSync(hostDir));
  });

  it("fails a pod that outlives activeDeadlineSeconds", async () => {
    writeManifest(h, "deadline", busyboxPod("deadline", { activeDeadlineSeconds: 2 }, [{ name: "c", command: ["sleep", "1000"] }]));
    const st = await waitFor("deadline exceeded", () => { const s = status("deadline"); return s?.phase === "Failed" && s; });
    assert.equal(st.reason, "DeadlineExceeded");
    rmSync(join(h.manifests, "deadline.json"));
  });

  it("rotates a container's log past its size, keeping a few files", async () => {
    writeManifest(h, "chatty", busyboxPod("chatty", {}, [{ name: "c", command: ["sh", "-c", "i=0; while :; do i=$((i+1)); echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; sleep 0.005; done"] }]));
    await waitFor("chatty running", () => status("chatty")?.phase === "Running");
    const dir = join(h.dir, "logs", `default_chatty_${worker("chatty").uid}`, "c");
    await waitFor("two rotations", () => readdirSync(dir).filter((n) => n.startsWith("0.log.")).length >= 2, 30_000);
    await new Promise((r) => setTimeout(r, 600));
    const files = readdirSync(dir);
    assert.ok(files.includes("0.log"));
    assert.ok(files.length <= 3, files.join(" "));
    assert.match(readFileSync(join(dir, files.find((n) => n.startsWith("0.log."))!), "utf8"), /stdout F line-\d+-x+/);
    rmSync(join(h.manifests, "chatty.json"));
  });

  it("shares the sandbox's uts and ipc namespaces; hostNetwork pods use the node's network", async () => {
    writeManifest(h, "hostnet", busyboxPod("hostnet", { restartPolicy: "Never", hostNetwork: true }, [{
      name: "c", command: ["sh", "-c", "hostname; readlink /proc/self/ns/net"],
    }]));
    writeManifest(h, "podnet", busyboxPod("podnet", { restartPolicy: "Never" }, [{
      name: "c", command: ["sh", "-c", "hostname; readlink /proc/self/ns/net"],
    }]));
    for (const name of ["hostnet", "podnet"]) await waitFor(`${name} done`, () => status(name)?.phase === "Succeeded");
    const out = (name: string) => readCriLog(h.core.paths.containerLog(worker(name).pod, "c", 0)).map((l) => l.line);
    const hostNs = readlinkSync("/proc/self/ns/net");
    assert.deepEqual(out("hostnet"), ["hostnet", hostNs]);
    assert.equal(out("podnet")[0], "podnet");
    assert.notEqual(out("podnet")[1], hostNs);
    for (const name of ["hostnet", "podnet"]) rmSync(join(h.manifests, `${name}.json`));
  });

  it("refuses an invalid manifest, naming the field, and starts nothing", async () => {
    writeManifest(h, "invalid", { apiVersion: "v1", kind: "Pod", metadata: { name: "invalid" }, spec: { containers: [{ name: "c" }] } });
    const err = await waitFor("manifest error", () => h.errors.find((e) => e.includes("invalid.json")));
    assert.match(err, /spec\.containers\[0\]\.image: Required value/);
    assert.equal(status("invalid"), undefined);
    rmSync(join(h.manifests, "invalid.json"));
  });

  it("a restarted kubelet re-adopts running containers without restarting them", async () => {
    writeManifest(h, "keep", busyboxPod("keep", {}, [{ name: "c", command: ["sleep", "1000"], resources: { limits: { memory: "64Mi", cpu: "250m" } } }]));
    const before = await waitFor("keep Running", () => { const s = status("keep"); return s?.phase === "Running" && s.containerStatuses?.[0].state?.running && s; });
    const w = worker("keep");
    // requests and limits reached the container's cgroup
    const stats = await h.core.runtime.stats(w.record.containers.c.runtimeId!);
    assert.equal(stats.memory.limit, 64 * 1024 * 1024);
    assert.equal(before.qosClass, "Guaranteed");
    // ... and the pod's own cgroup, under the kubepods hierarchy, carries the pod's limit
    const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => /:memory:/.test(l))?.split(":")[2];
    if (own !== undefined) {
      const podCg = join("/sys/fs/cgroup/memory", own, "keel-kubepods-keel-test-node", `pod${w.uid.replace(/-/g, "_")}`);
      assert.equal(readFileSync(join(podCg, "memory.limit_in_bytes"), "utf8").trim(), String(64 * 1024 * 1024));
    }
    const pidBefore = readFileSync(join(h.core.paths.containerDir(w.uid, w.record.containers.c.runtimeId!), "pid"), "utf8");
    const supBefore = w.record.supervisor?.pid;
    assert.ok(supBefore);
    await h.restart();
    const afterSt = await waitFor("keep status after restart", () => { const s = worker("keep")?.currentStatus; return s?.phase === "Running" && s; });
    assert.equal(afterSt.containerStatuses?.[0].restartCount, 0);
    assert.equal(afterSt.containerStatuses?.[0].state?.running?.startedAt, before.containerStatuses?.[0].state?.running?.startedAt);
    const w2 = worker("keep");
    assert.equal(readFileSync(join(h.core.paths.containerDir(w2.uid, w2.record.containers.c.runtimeId!), "pid"), "utf8"), pidBefore);
    // The same pod supervisor, still the container's parent (and the sandbox's).
    assert.equal(w2.record.supervisor?.pid, supBefore);
    assert.equal(ppidOf(Number(pidBefore)), supBefore);
    assert.equal(ppidOf(w2.record.sandbox!.pid), supBefore);
    assert.equal(w2.record.containers.c.attempts, 1);
    rmSync(join(h.manifests, "keep.json"));
    await waitFor("keep removed", () => !h.core.workers.has(w2.uid));
  });

  it("one supervisor per pod is the parent of its sandbox and containers; a pod whose supervisor dies starts over", async (t) => {
    const file = writeManifest(h, "twins", busyboxPod("twins", {}, [{ name: "a", command: ["sleep", "1000"] }, { name: "b", command: ["sleep", "1000"] }]));
    t.after(() => rmSync(file, { force: true }));
    await waitFor("twins Ready", () => { const s = status("twins"); return s?.conditions?.find((c) => c.type === "Ready")?.status === "True" && s; });
    const w = worker("twins");
    const sup = w.record.supervisor!.pid;
    assert.equal(readFileSync(`/proc/${sup}/comm`, "utf8").trim(), "keel-supervisor");
    for (const c of ["a", "b"]) assert.equal(ppidOf(Number(readFileSync(join(h.core.paths.containerDir(w.uid, w.record.containers[c].runtimeId!), "pid"), "utf8"))), sup);
    assert.equal(ppidOf(w.record.sandbox!.pid), sup);
    process.kill(sup, "SIGKILL");
    await waitFor("SandboxChanged", () => h.events.some((e) => e.startsWith("twins") && e.includes("SandboxChanged")));
    const again = await waitFor("twins Ready again with a new supervisor", () => {
      const s = status("twins");
      return s?.conditions?.find((c) => c.type === "Ready")?.status === "True" && s.containerStatuses?.every((c) => c.restartCount === 1 && c.state?.running) && s;
    });
    assert.notEqual(w.record.supervisor?.pid, sup);
    assert.equal(again.containerStatuses?.length, 2);
    rmSync(join(h.manifests, "twins.json"));
    await waitFor("twins removed", () => !h.core.workers.has(w.uid));
  });

  it("leaves nothing behind once the manifests are gone", async () => {
    await waitFor("all pods removed", () => h.core.workers.size === 0);
    assert.deepEqual(h.core.runtime.list(), []);
    assert.deepEqual(readdirSync(h.core.paths.podsDir), []);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(h.dir) || l.includes("keel-k8s-"));
    assert.deepEqual(mounts, []);
    const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => /:memory:/.test(l))?.split(":")[2];
    if (own !== undefined) assert.equal(existsSync(join("/sys/fs/cgroup/memory", own, "keel-kubepods-keel-test-node")), false);
  });
});
