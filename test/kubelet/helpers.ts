// Shared set-up for the kubelet tests: a temporary root and log directory, a manifests
// directory, and waiting for a pod's published status to satisfy a condition.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod, PodStatus } from "../../api/index.js";
import { KubeletCore } from "../../kubelet/kubelet.js";
import { ManifestSource } from "../../kubelet/manifest-source.js";
import { StaticConfigSource } from "../../kubelet/config-source.js";

export interface Harness {
  dir: string;
  manifests: string;
  core: KubeletCore;
  source: ManifestSource;
  statuses: Map<string, PodStatus>;
  events: string[];
  errors: string[];
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(o: { backoffBaseMs?: number; memoryAvailable?: () => number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "keel-kubelet-test-"));
  const manifests = join(dir, "manifests");
  mkdirSync(manifests);
  const statuses = new Map<string, PodStatus>();
  const events: string[] = [];
  const errors: string[] = [];
  const open = async () => {
    const configs = new StaticConfigSource();
    const core = await KubeletCore.open({
      configs,
      root: join(dir, "root"), logDir: join(dir, "logs"), nodeName: "keel-test-node",
      backoffBaseMs: o.backoffBaseMs ?? 300, backoffMaxMs: 2000, syncIntervalMs: 100,
      memoryAvailable: o.memoryAvailable ?? (() => Number.MAX_SAFE_INTEGER), evictionIntervalMs: 200,
      logMaxBytes: 4096, logMaxFiles: 3, logRotateIntervalMs: 200,
      onStatus: (pod, st) => statuses.set(pod.metadata.name!, st),
      onEvent: (pod, _t, reason, msg, c) => events.push(`${pod.metadata.name}/${c ?? ""} ${reason} ${msg}`),
    });
    const source = new ManifestSource({
      dir: manifests, nodeName: "keel-test-node", intervalMs: 200,
      configs, onPods: (pods) => core.sync(pods), onError: (f, e) => errors.push(`${f}: ${e.message}`),
    });
    await source.start();
    return { core, source };
  };
  let cur = await open();
  const h: Harness = {
    dir, manifests, statuses, events, errors,
    get core() { return cur.core; },
    get source() { return cur.source; },
    async restart() {
      await cur.source.stop();
      await cur.core.close();
      cur = await open();
    },
    async close() {
      await cur.source.stop().catch(() => {});
      await cur.core.stopAll(0).catch(() => {});
      await cur.core.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  } as Harness;
  return h;
}

export function writeManifest(h: Harness, name: string, pod: Record<string, unknown>): string {
  const file = join(h.manifests, `${name}.json`);
  writeFileSync(file, JSON.stringify(pod));
  return file;
}

export function busyboxPod(name: string, spec: Record<string, unknown>, containers: Record<string, unknown>[]): Pod {
  return {
    apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" },
    spec: {
      terminationGracePeriodSeconds: 2, ...spec,
      ...(spec.initContainers ? { initContainers: (spec.initContainers as Record<string, unknown>[]).map((c) => ({ image: "busybox", imagePullPolicy: "IfNotPresent", ...c })) } : {}),
      containers: containers.map((c) => ({ image: "busybox", imagePullPolicy: "IfNotPresent", ...c })) },
  } as Pod;
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
