// The cgroup v1 driver: one directory per hierarchy (cpu, cpuacct, memory ... each its own
// mount, or co-mounted), each controller applied in its own hierarchy's directory.
import { existsSync } from "node:fs";
import { posix } from "node:path";
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { V1Hierarchy } from "../detect.js";
import type { CgroupDriver, CgroupPlacement, CgroupStats } from "../driver.js";
import { CgroupError, CgroupUnsupportedError } from "../errors.js";
import { CgroupDir, type CgroupWrite } from "../files.js";
import { pidsStats } from "../shared.js";
import { makeLevels, removeMade, removeEmptyAncestors, retryVanishedLevel, removeTree, resolveIn, signalEach, splitCgroupsPath, subtreePids, type SplitPath } from "../tree.js";
import { blkio, ioStatsV1 } from "./blkio.js";
import type { V1Controller } from "./controller.js";
import { cpu } from "./cpu.js";
import { cpuStatsV1 } from "./cpuacct.js";
import { cpuset, seedCpusets } from "./cpuset.js";
import { devices } from "./devices.js";
import { setFrozenV1 } from "./freezer.js";
import { hugetlb, hugetlbStatsV1 } from "./hugetlb.js";
import { memory, memoryStats, oomKilledV1 } from "./memory.js";
import { netCls, netPrio } from "./network.js";
import { pids } from "./pids.js";
import { rdma } from "./rdma.js";


/** Applied in runc's order: cpuset before anything can be scheduled, devices before memory. */
const CONTROLLERS: V1Controller[] = [cpuset, devices, memory, cpu, pids, blkio, hugetlb, netPrio, netCls, rdma];

export interface V1DriverOptions {
  /** Record every write (fixture tests). */
  journal?: CgroupWrite[];
  /** How long destroy waits for exiting processes to leave (default 5 s). */
  destroyTimeoutMs?: number;
  /** Hybrid machines: the cgroup2 mount beside the v1 hierarchies (named in errors only). */
  unifiedMountpoint?: string;
}

export class V1Driver implements CgroupDriver {
  readonly version = 1 as const;

  constructor(
    readonly hierarchies: V1Hierarchy[],
    private readonly opts: V1DriverOptions = {},
  ) {}

  private hierarchy(controller: string): V1Hierarchy | undefined {
    return this.hierarchies.find((h) => h.controllers.includes(controller));
  }

  private dirIn(h: V1Hierarchy, sp: SplitPath): CgroupDir {
    return new CgroupDir(resolveIn(h.mountpoint, h.ownDir, sp).dir, this.opts.journal);
  }

  /** The cgroup's directory in the hierarchy of `controller`, if that controller is mounted. */
  dir(path: string, controller: string): CgroupDir | undefined {
    const h = this.hierarchy(controller);
    return h && this.dirIn(h, splitCgroupsPath(path));
  }

  /** Refuses, before anything is written, what no hierarchy here can hold. */
  private check(r: LinuxResources): void {
    if (r.unified && Object.keys(r.unified).length > 0)
      throw new CgroupUnsupportedError("linux.resources.unified", "unified keys are cgroup v2 files, and this machine's controllers are cgroup v1");
    for (const c of CONTROLLERS) {
      if (!c.wants(r) || this.hierarchy(c.name)) continue;
      // On a hybrid machine a controller may sit in the cgroup2 hierarchy instead (hugetlb, on
      // these machines); keel keeps to the v1 hierarchies there, so say where it is.
      const elsewhere = this.opts.unifiedMountpoint ? ` (on this hybrid machine it may be in the cgroup2 hierarchy at ${this.opts.unifiedMountpoint}, which the v1 driver does not use)` : "";
      throw new CgroupUnsupportedError(c.field, `the cgroup v1 "${c.name}" controller is not mounted on this machine${elsewhere}`);
    }
  }

  private apply(sp: SplitPath, r: LinuxResources): void {
    for (const c of CONTROLLERS) {
      if (!c.wants(r)) continue;
      c.apply(this.dirIn(this.hierarchy(c.name)!, sp), r);
    }
  }

  async create(path: string, resources: LinuxResources = {}): Promise<void> {
    const sp = splitCgroupsPath(path);
    this.check(resources);
    await retryVanishedLevel(() => this.createOnce(sp, resources));
  }

  private async createOnce(sp: SplitPath, resources: LinuxResources): Promise<void> {
    // The hierarchies' directories together.
    const results = await Promise.allSettled(this.hierarchies.map((h) => makeLevels(resolveIn(h.mountpoint, h.ownDir, sp).base, sp.parts)));
    const made = results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    try {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
      for (const h of this.hierarchies) {
        const { base } = resolveIn(h.mountpoint, h.ownDir, sp);
        // Every level, not only the new ones: a level left empty by a crash between its
        // mkdir and its seeding would refuse every process below it (ENOSPC).
        if (h.controllers.includes("cpuset")) seedCpusets(sp.parts.map((_, i) => posix.join(base, ...sp.parts.slice(0, i + 1))), this.opts.journal);
      }
      this.apply(sp, resources);
    } catch (err) {
      removeMade(made);
      throw err;
    }
  }

  procsFiles(path: string): string[] {
    const sp = splitCgroupsPath(path);
    return this.hierarchies.map((h) => posix.join(this.dirIn(h, sp).path, "cgroup.procs"));
  }

  placement(path: string): CgroupPlacement {
    const sp = splitCgroupsPath(path);
    return {
      version: 1,
      procsFiles: this.procsFiles(path),
      hierarchies: this.hierarchies.map((h) => ({ name: h.controllers.join(","), path: this.dirIn(h, sp).path })),
    };
  }

  private mustExist(path: string): void {
    if (!this.exists(path)) {
      const h = this.hierarchies[0];
      throw new CgroupError(`cgroup ${path} does not exist`, { path: h ? this.dirIn(h, splitCgroupsPath(path)).path : path, file: "", code: "ENOENT", errno: 2 });
    }
  }

  exists(path: string): boolean {
    const sp = splitCgroupsPath(path);
    return this.hierarchies.length > 0 && this.hierarchies.every((h) => existsSync(this.dirIn(h, sp).path));
  }

  async addProcess(path: string, pid: number): Promise<void> {
    const sp = splitCgroupsPath(path);
    for (const h of this.hierarchies) this.dirIn(h, sp).write("cgroup.procs", pid);
  }

  async update(path: string, resources: LinuxResources): Promise<void> {
    this.check(resources);
    this.apply(splitCgroupsPath(path), resources);
  }

  async stats(path: string): Promise<CgroupStats> {
    this.mustExist(path);
    const d = (c: string) => this.dir(path, c);
    return {
      cpu: cpuStatsV1(d("cpuacct"), d("cpu")),
      memory: memoryStats(d("memory")),
      pids: pidsStats(d("pids")),
      io: ioStatsV1(d("blkio")),
      hugetlb: hugetlbStatsV1(d("hugetlb")),
    };
  }

  private freezer(path: string): CgroupDir {
    const dir = this.dir(path, "freezer");
    if (!dir) throw new CgroupUnsupportedError("freeze", 'the cgroup v1 "freezer" controller is not mounted on this machine');
    return dir;
  }

  async freeze(path: string): Promise<void> {
    await setFrozenV1(this.freezer(path), true);
  }

  async thaw(path: string): Promise<void> {
    await setFrozenV1(this.freezer(path), false);
  }

  /** The hierarchy whose cgroup.procs is read for "the processes of the container". */
  private primary(path: string): CgroupDir | undefined {
    for (const c of ["freezer", "pids", "memory", "cpu"]) {
      const d = this.dir(path, c);
      if (d) return d;
    }
    const h = this.hierarchies[0];
    return h && this.dirIn(h, splitCgroupsPath(path));
  }

  async pids(path: string): Promise<number[]> {
    const d = this.primary(path);
    return d ? subtreePids(d.path) : [];
  }

  /**
   * v1 has no cgroup.kill: freeze so nothing can fork between reading cgroup.procs and the
   * signal, signal every pid, thaw (a frozen task acts on its SIGKILL once thawed).
   */
  async killAll(path: string, signal: NodeJS.Signals | number = "SIGKILL"): Promise<void> {
    const freezer = this.dir(path, "freezer");
    if (!freezer) {
      signalEach(await this.pids(path), signal);
      return;
    }
    if (!existsSync(freezer.path)) return;
    // A paused container stays paused: only a freeze made here is undone.
    const wasFrozen = freezer.read("freezer.state").trim() === "FROZEN";
    await setFrozenV1(freezer, true);
    try {
      signalEach(subtreePids(freezer.path), signal);
    } finally {
      if (!wasFrozen) await setFrozenV1(freezer, false);
    }
  }

  async oomKilled(path: string): Promise<boolean> {
    const d = this.dir(path, "memory");
    return d !== undefined && existsSync(d.path) && oomKilledV1(d);
  }

  async destroy(path: string): Promise<void> {
    const sp = splitCgroupsPath(path);
    for (const h of this.hierarchies) {
      const { base, dir } = resolveIn(h.mountpoint, h.ownDir, sp);
      await removeTree(dir, this.opts.destroyTimeoutMs);
      // Levels keel made under its own cgroup ("keel" in "keel/abc") go once empty.
      if (!sp.absolute) removeEmptyAncestors(base, sp.parts);
    }
  }
}
