// Pod-level cgroups under a kubepods hierarchy, as kubelet lays them out: Guaranteed pods
// directly under the root, Burstable and BestEffort pods under their QoS level. A pod's cgroup
// carries the pod's own limits (the sum of its containers' when each has one), and its sandbox
// and containers are cgroups below it. Paths are relative, so they live under the kubelet's own
// cgroup (see DESIGN.md: keel never moves itself out of the cgroup the machine gave it).
import { parseQuantity, type Container, type Pod } from "../api/index.js";
import type { LinuxResources } from "../oci/runtime-spec.js";
import { detectCgroupDriver, type CgroupDriver } from "../runtime/cgroups/index.js";
import { qosClass } from "./container-spec.js";

/** Sum over app containers of one resource's limit, or undefined when any container has none. */
function sumLimits(containers: Container[], key: "memory" | "cpu", unit: (q: string) => bigint): bigint | undefined {
  let total = 0n;
  for (const c of containers) {
    const v = c.resources?.limits?.[key];
    if (v === undefined) return undefined;
    total += unit(String(v));
  }
  return total;
}

export function podResources(pod: Pod): LinuxResources {
  const apps = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  const r: LinuxResources = {};
  const bytes = (q: string) => parseQuantity(q).value();
  const milli = (q: string) => parseQuantity(q).milliValue();
  // The pod needs room for its largest init container too (they run alone).
  const maxInit = (key: "memory" | "cpu", unit: (q: string) => bigint) => inits.reduce((m, c) => {
    const v = c.resources?.limits?.[key];
    return v === undefined ? m : (unit(String(v)) > m ? unit(String(v)) : m);
  }, 0n);
  const mem = sumLimits(apps, "memory", bytes);
  if (mem !== undefined && apps.length) {
    const limit = Number(mem > maxInit("memory", bytes) ? mem : maxInit("memory", bytes));
    r.memory = { limit };
  }
  const cpu = sumLimits(apps, "cpu", milli);
  let requestMilli = 0n;
  for (const c of apps) { const q = c.resources?.requests?.cpu ?? c.resources?.limits?.cpu; if (q !== undefined) requestMilli += milli(String(q)); }
  r.cpu = { shares: Math.max(2, Math.floor(Number(requestMilli) * 1024 / 1000)) };
  if (cpu !== undefined && apps.length) {
    const m = cpu > maxInit("cpu", milli) ? cpu : maxInit("cpu", milli);
    r.cpu.period = 100000;
    r.cpu.quota = Math.max(1000, Number(m) * 100);
  }
  return r;
}

export class PodCgroups {
  constructor(readonly root: string, private readonly driver: CgroupDriver = detectCgroupDriver()) {}

  podPath(pod: Pod): string {
    const qos = qosClass(pod);
    const uid = pod.metadata.uid!.replace(/-/g, "_");
    return qos === "Guaranteed" ? `${this.root}/pod${uid}` : `${this.root}/${qos.toLowerCase()}/pod${uid}`;
  }

  /** Makes (or joins) the pod's cgroup with the pod's limits; returns its path. */
  async ensure(pod: Pod): Promise<string> {
    const path = this.podPath(pod);
    await this.driver.create(path, podResources(pod));
    return path;
  }

  async remove(pod: Pod): Promise<void> {
    await this.driver.destroy(this.podPath(pod));
  }

  /** Removes the QoS levels and the root (when the kubelet has no pods left). */
  async removeLevels(): Promise<void> {
    for (const p of [`${this.root}/burstable`, `${this.root}/besteffort`, this.root]) await this.driver.destroy(p).catch(() => {});
  }
}
