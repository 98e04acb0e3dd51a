// pod-network: attaching a pod to its node's network (CNI ADD: veth pair, bridge port, address,
// routes) and detaching it (DEL), three ways, in the same run, in network namespaces this bench
// makes (nothing in the host's):
//  - keel in-process (cni/PodNetwork, the kubelet's path: netlink and nftables from the addon);
//  - keel's CNI plugin executables (keel-loopback + keel-bridge) run by the CNI exec protocol, as
//    containerd or podman would run them;
//  - the reference plugins (loopback + bridge + host-local, Debian's containernetworking-plugins),
//    run the same way.
// The plugins run inside the node's namespace (nsenter), as a plugin treats the namespace it runs
// in as the host's. Per pod: ADD and DEL one after another (p50/p99), then a burst of pods added
// at once (as a kubelet does when a Deployment lands) and removed. --quick: fewer pods.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniNetwork, keelPluginDir, parseNetworkConfig, PodNetwork, type PodAttachment } from "../cni/index.js";
import { summarize } from "./lib/stats.js";
import { writeReport, type Row } from "./lib/report.js";
import { reexecInPrivateMountNs } from "./lib/private-ns.js";

const REF_DIR = "/usr/lib/cni";

interface Attacher {
  add(p: PodAttachment): Promise<unknown>;
  del(p: PodAttachment): Promise<void>;
}

interface Measured { subject: string; add: number[]; del: number[]; burstAddMs: number; burstDelMs: number; n: number; burst: number }

async function measure(subject: string, net: Attacher, pods: string[], burstPods: string[], tag: string): Promise<Measured> {
  const att = (i: number, netns: string) => ({ containerId: `${tag}${i}`, netns: `/run/netns/${netns}`, ifName: "eth0", podName: `p${i}`, podNamespace: "bench" });
  // warm-up: the node's bridge is made by the first pod
  await net.add(att(9999, pods[0]!));
  await net.del(att(9999, pods[0]!));
  const add: number[] = [], del: number[] = [];
  for (let i = 0; i < pods.length; i++) {
    const a = att(i, pods[i]!);
    let t = performance.now();
    await net.add(a);
    add.push(performance.now() - t);
    t = performance.now();
    await net.del(a);
    del.push(performance.now() - t);
  }
  const burst = burstPods.map((ns, i) => att(1000 + i, ns));
  let t = performance.now();
  await Promise.all(burst.map((a) => net.add(a)));
  const burstAddMs = performance.now() - t;
  t = performance.now();
  await Promise.all(burst.map((a) => net.del(a)));
  const burstDelMs = performance.now() - t;
  console.log(`${subject}: ADD p50 ${summarize(add).p50_ms.toFixed(1)} ms, DEL p50 ${summarize(del).p50_ms.toFixed(1)} ms, ${burst.length} at once ${burstAddMs.toFixed(0)} ms`);
  return { subject, add, del, burstAddMs, burstDelMs, n: pods.length, burst: burst.length };
}

export async function main({ quick }: { quick: boolean; argv: string[] }): Promise<void> {
  reexecInPrivateMountNs({ hideCgroup2: false });
  process.env.KEEL_TEST = "1"; // keel's own guard: never the host's namespace
  const n = quick ? 10 : 40;
  const burstN = quick ? 10 : 30;
  const tag = `keel-bpn${process.pid % 100000}`;
  const haveRef = existsSync(join(REF_DIR, "bridge")) && existsSync(join(REF_DIR, "host-local")) && existsSync(join(REF_DIR, "loopback"));
  const kinds = ["inproc", "keelexec", ...(haveRef ? ["refexec"] : [])];
  const nodes = kinds.map((k) => `${tag}-${k}`);
  const pods = Array.from({ length: n }, (_, i) => `${tag}-p${i}`);
  const burstPods = Array.from({ length: burstN }, (_, i) => `${tag}-b${i}`);
  const names = [...nodes, ...pods, ...burstPods];
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-pod-network-"));
  const results: Measured[] = [];
  try {
    for (const name of names) execFileSync("ip", ["netns", "add", name]);
    const conflist = (bridgeType: string, loopbackType: string, sub: string) => parseNetworkConfig(JSON.stringify({
      cniVersion: "1.0.0", name: `keelbench${sub}`,
      plugins: [
        { type: loopbackType },
        { type: bridgeType, bridge: "keelbr0", isGateway: true, mtu: 1450, stateDir: join(dir, `state-${sub}`), ipam: { type: "host-local", ranges: [[{ subnet: "10.78.0.0/16" }]], dataDir: join(dir, `ipam-${sub}`) } },
      ],
    }), `${sub}.conflist`);
    const binDirs = [keelPluginDir(), REF_DIR];
    const nets: [string, Attacher][] = [
      ["keel in-process (the kubelet's path)", new PodNetwork({ nodeNetns: `/run/netns/${nodes[0]}`, podCIDR: "10.78.0.0/16", stateDir: join(dir, "inproc"), mtu: 1450 })],
      ["keel CNI plugins (exec)", new CniNetwork({ list: conflist("keel-bridge", "keel-loopback", "keel"), binDirs, nodeNetns: `/run/netns/${nodes[1]}`, cacheDir: join(dir, "cache-keel") })],
    ];
    if (haveRef) nets.push(["reference CNI plugins 1.1.1 (exec)", new CniNetwork({ list: conflist("bridge", "loopback", "ref"), binDirs, nodeNetns: `/run/netns/${nodes[2]}`, cacheDir: join(dir, "cache-ref") })]);
    for (const [subject, net] of nets) results.push(await measure(subject, net, pods, burstPods, `keelbpn${results.length}x`));
  } finally {
    for (const name of names) {
      try {
        execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
      } catch {
        // not made
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: Row[] = results.map((m) => {
    const a = summarize(m.add), d = summarize(m.del);
    return { subject: m.subject, add_p50_ms: a.p50_ms, add_p99_ms: a.p99_ms, del_p50_ms: d.p50_ms, burst_add_ms: Math.round(m.burstAddMs), burst_del_ms: Math.round(m.burstDelMs), n: m.n, burst: m.burst };
  });
  const keel = results[0]!, ref = results.find((r) => r.subject.startsWith("reference"));
  const ratios: Record<string, number> = {};
  if (ref) {
    ratios["reference plugins ADD p50 / keel in-process"] = summarize(ref.add).p50_ms / summarize(keel.add).p50_ms;
    ratios["reference plugins burst ADD / keel in-process"] = ref.burstAddMs / keel.burstAddMs;
    ratios["keel plugins ADD p50 / reference plugins"] = summarize(results[1]!.add).p50_ms / summarize(ref.add).p50_ms;
  }
  const out = writeReport({
    name: "pod-network", title: "Attaching a pod to its node's network (CNI ADD/DEL): keel in-process vs CNI plugin executables",
    params: { pods: n, burst: burstN, quick, referencePlugins: haveRef ? "containernetworking-plugins 1.1.1 (Debian)" : "not installed" },
    rows, ratios,
    chart: { figure: "add_p50_ms", unit: "ms" },
    notes: [
      "Each subject has its own node namespace with a bridge keelbr0 (gateway 10.78.0.1/16, MTU 1450); each pod its own namespace. ADD: loopback up, a veth pair with the pod's end as eth0, an address from host-local IPAM, a default route; DEL removes them.",
      "The executables run inside the node's namespace under nsenter (the CNI exec protocol: CNI_* in the environment, the config on stdin), as a runtime in that namespace would run them; keel's plugins are Node programs, the reference plugins Go binaries.",
      "burst: that many pods added at once (Promise.all), then removed at once: a kubelet's view of a Deployment landing on the node.",
    ],
  });
  console.log(`→ ${out.md}`);
}
