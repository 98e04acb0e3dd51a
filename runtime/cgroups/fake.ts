// A CgroupDriver that touches no kernel: it records every call and keeps cgroups in memory, so
// the runtime's lifecycle logic can be unit-tested without root (youki's recording syscall
// layer). It checks paths as the real drivers do and fails the way they fail on a missing cgroup.
import type { LinuxResources } from "../../oci/runtime-spec.js";
import type { CgroupDriver, CgroupPlacement, CgroupStats } from "./driver.js";
import { CgroupError } from "./errors.js";
import { splitCgroupsPath } from "./tree.js";

export interface FakeCgroupCall {
  op: "create" | "addProcess" | "update" | "freeze" | "thaw" | "killAll" | "destroy";
  path: string;
  resources?: LinuxResources;
  pid?: number;
  signal?: NodeJS.Signals | number;
}

interface FakeCgroup {
  resources: LinuxResources;
  pids: Set<number>;
  frozen: boolean;
  oomKilled: boolean;
}

export class FakeCgroupDriver implements CgroupDriver {
  readonly calls: FakeCgroupCall[] = [];
  readonly cgroups = new Map<string, FakeCgroup>();

  constructor(
    readonly version: 1 | 2 = 2,
    /** Where the fake cgroups appear to live (placement paths). */
    readonly root = "/fake-cgroup",
  ) {}

  private key(path: string): string {
    const sp = splitCgroupsPath(path);
    return (sp.absolute ? "/" : "") + sp.parts.join("/");
  }

  private get(path: string): FakeCgroup {
    const cg = this.cgroups.get(this.key(path));
    if (!cg) throw new CgroupError(`cgroup ${path} does not exist`, { path, file: "", code: "ENOENT", errno: 2 });
    return cg;
  }

  /** Test hook: mark a cgroup as having had an OOM kill. */
  simulateOomKill(path: string): void {
    this.get(path).oomKilled = true;
  }

  async create(path: string, resources: LinuxResources = {}): Promise<void> {
    this.calls.push({ op: "create", path, resources });
    const k = this.key(path);
    if (!this.cgroups.has(k)) this.cgroups.set(k, { resources: structuredClone(resources), pids: new Set(), frozen: false, oomKilled: false });
  }

  procsFiles(path: string): string[] {
    return this.placement(path).procsFiles;
  }

  placement(path: string): CgroupPlacement {
    const dir = `${this.root}/${this.key(path).replace(/^\//, "")}`;
    return this.version === 2
      ? { version: 2, procsFiles: [`${dir}/cgroup.procs`], dir }
      : { version: 1, procsFiles: [`${dir}/cgroup.procs`], hierarchies: [{ name: "fake", path: dir }] };
  }

  exists(path: string): boolean {
    return this.cgroups.has(this.key(path));
  }

  async addProcess(path: string, pid: number): Promise<void> {
    this.calls.push({ op: "addProcess", path, pid });
    this.get(path).pids.add(pid);
  }

  async update(path: string, resources: LinuxResources): Promise<void> {
    this.calls.push({ op: "update", path, resources });
    const cg = this.get(path);
    cg.resources = { ...cg.resources, ...structuredClone(resources) };
  }

  async stats(path: string): Promise<CgroupStats> {
    const cg = this.get(path);
    const limit = cg.resources.memory?.limit;
    return {
      cpu: { usageNs: 0, userNs: 0, systemNs: 0, periods: 0, throttledPeriods: 0, throttledNs: 0 },
      memory: { current: 0, peak: 0, limit: limit && limit > 0 ? limit : undefined, oomKills: cg.oomKilled ? 1 : 0, oomEvents: cg.oomKilled ? 1 : 0, stat: {} },
      pids: { current: cg.pids.size, limit: cg.resources.pids && cg.resources.pids.limit > 0 ? cg.resources.pids.limit : undefined, failures: 0 },
      io: { devices: [] },
      hugetlb: {},
    };
  }

  async freeze(path: string): Promise<void> {
    this.calls.push({ op: "freeze", path });
    this.get(path).frozen = true;
  }

  async thaw(path: string): Promise<void> {
    this.calls.push({ op: "thaw", path });
    this.get(path).frozen = false;
  }

  async killAll(path: string, signal: NodeJS.Signals | number = "SIGKILL"): Promise<void> {
    this.calls.push({ op: "killAll", path, signal });
    const cg = this.cgroups.get(this.key(path));
    if (cg && (signal === "SIGKILL" || signal === 9)) cg.pids.clear();
  }

  async pids(path: string): Promise<number[]> {
    return [...(this.cgroups.get(this.key(path))?.pids ?? [])];
  }

  async oomKilled(path: string): Promise<boolean> {
    return this.cgroups.get(this.key(path))?.oomKilled ?? false;
  }

  async destroy(path: string): Promise<void> {
    this.calls.push({ op: "destroy", path });
    const cg = this.cgroups.get(this.key(path));
    if (cg && cg.pids.size > 0)
      throw new CgroupError(`cannot rmdir ${path}: EBUSY (processes or child cgroups are still in it)`, { path, file: "", code: "EBUSY", errno: 16 });
    this.cgroups.delete(this.key(path));
  }
}
