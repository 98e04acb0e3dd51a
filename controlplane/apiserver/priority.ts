// Priority admission, as kube-apiserver's Priority plugin does it: a new Pod's
// spec.priorityClassName becomes spec.priority (and spec.preemptionPolicy); a Pod naming no
// class gets the global default class, or priority 0; an unknown class is refused. Only one
// PriorityClass may be the global default, and the built-in system classes cannot be deleted.
import type { Pod } from "../../api/core.js";
import type { ResourceInfo } from "../../api/registry.js";
import { DEFAULT_POD_PRIORITY, isSystemPriorityClass, type PriorityClass } from "../../api/scheduling.js";
import { forbidden } from "./errors.js";

export class PriorityAdmission {
  /**
   * `cached` gives the classes as an informer-style cache last saw them (a moment behind a
   * write); `fresh` reads them from the store, for the rare decisions that must not miss one.
   */
  constructor(
    private readonly cached: () => Promise<PriorityClass[]>,
    private readonly fresh: () => Promise<PriorityClass[]>,
  ) {}

  /** Fills spec.priority of a Pod being created from its class. */
  async admitPod(pod: Pod): Promise<void> {
    if (!pod.spec) return; // validation reports the missing spec
    const spec = pod.spec;
    const name = pod.metadata.name ?? pod.metadata.generateName ?? "";
    let classes = await this.cached();
    if (spec.priorityClassName && !classes.some((c) => c.metadata.name === spec.priorityClassName)) {
      // Maybe written a moment ago, through this server or another: read the store before refusing.
      classes = await this.fresh();
    }
    let priority = DEFAULT_POD_PRIORITY;
    let preemptionPolicy: string | undefined;
    if (spec.priorityClassName) {
      const pc = classes.find((c) => c.metadata.name === spec.priorityClassName);
      if (!pc) throw podForbidden(name, `no PriorityClass with name ${spec.priorityClassName} was found`);
      priority = pc.value;
      preemptionPolicy = pc.preemptionPolicy;
    } else {
      // Several defaults can exist after a race between two servers: the lowest wins.
      const def = classes.filter((c) => c.globalDefault).sort((a, b) => a.value - b.value)[0];
      if (def) {
        spec.priorityClassName = def.metadata.name;
        priority = def.value;
        preemptionPolicy = def.preemptionPolicy;
      }
    }
    if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
      throw podForbidden(name, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
    }
    spec.priority = priority;
    if (preemptionPolicy) {
      if (spec.preemptionPolicy && spec.preemptionPolicy !== preemptionPolicy) {
        throw podForbidden(name, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${preemptionPolicy} from the given PriorityClass name`);
      }
      spec.preemptionPolicy = preemptionPolicy;
    }
  }

  /** Refuses a second global default class. */
  async admitClass(r: ResourceInfo, pc: PriorityClass): Promise<void> {
    if (!pc.globalDefault) return;
    const other = (await this.fresh()).find((c) => c.globalDefault && c.metadata.name !== pc.metadata.name);
    if (other) {
      throw forbidden(`${r.plural} ${JSON.stringify(pc.metadata.name ?? "")} is forbidden: PriorityClass ${other.metadata.name} is already marked as default. Only one default can exist`,
        { name: pc.metadata.name ?? "", kind: r.plural, group: r.group });
    }
  }

  /** The built-in classes stay. */
  checkDelete(r: ResourceInfo, name: string): void {
    if (isSystemPriorityClass(name)) {
      throw forbidden(`${r.plural} ${JSON.stringify(name)} is forbidden: cannot delete built in priority classes`, { name, kind: r.plural, group: r.group });
    }
  }
}

function podForbidden(name: string, why: string) {
  return forbidden(`pods ${JSON.stringify(name)} is forbidden: ${why}`, { name, kind: "pods" });
}

export const isPriorityClass = (r: ResourceInfo): boolean => r.group === "scheduling.k8s.io" && r.kind === "PriorityClass";
