// The cgroup v2 driver: one directory in the unified hierarchy. Controllers must be enabled in
// every ancestor's cgroup.subtree_control, and the kernel lets a non-root cgroup do that only
// while it has no processes of its own ("no internal processes"). keel's cgroups hang below
// the cgroup keel runs in; the levels keel makes ("keel" in "keel/<id>") hold no processes and
// get every available controller enabled, as runc does. The cgroup keel runs in already has
// processes (keel's own), so it must have the controllers enabled already (the root cgroup,
// exempt from the rule, or a delegated parent); keel never moves processes to make room.
import { existsSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { posix } from "node:path";
import type { LinuxResources } from "../../../oci/runtime-spec.js";
import type { CgroupDriver, CgroupPlacement, CgroupStats } from "../driver.js";
import { CgroupDelegationError, CgroupError, CgroupUnsupportedError } from "../errors.js";
import { CgroupDir, type CgroupWrite } from "../files.js";
import { pidsStats } from "../shared.js";
import { removeMade, makeLevels, removeEmptyAncestors, retryVanishedLevel, removeTree, signalEach, splitCgroupsPath, subtreePids, type SplitPath } from "../tree.js";
import type { V2Controller } from "./controller.js";
import { cpu, cpuStatsV2 } from "./cpu.js";
import { cpuset } from "./cpuset.js";
import { devices } from "./devices.js";
import { setFrozenV2 } from "./freezer.js";
import { hugetlb, hugetlbStatsV2 } from "./hugetlb.js";
import { io, ioStatsV2 } from "./io.js";
import { memory, memoryStatsV2, oomKilledV2 } from "./memory.js";
import { pids } from "./pids.js";
import { rdma } from "./rdma.js";
import { unified, unifiedKeyController } from "./unified.js";

/** Applied in this order; `unified` last so its keys override. */
const CONTROLLERS: V2Controller[] = [devices, cpuset, memory, cpu, pids, io, hugetlb, rdma, unified];

export interface V2DriverOptions {
  journal?: CgroupWrite[];
  destroyTimeoutMs?: number;
}

const words = (text: string | undefined) => (text ?? "").split(/\s+/).filter(Boolean);

export class V2Driver implements CgroupDriver {
  readonly version = 2 as const;

  /**
   * @param mountpoint the cgroup2 mount (/sys/fs/cgroup)
   * @param ownDir the cgroup of the process running keel, under which relative paths go
   */
  constructor(
    readonly mountpoint: string,
    readonly ownDir: string,
    private readonly opts: V2DriverOptions = {},
  ) {}

  private resolve(path: string): { sp: SplitPath; base: string; dir: CgroupDir } {
    const sp = splitCgroupsPath(path);
    const base = sp.absolute ? this.mountpoint : this.ownDir;
    return { sp, base, dir: new CgroupDir(posix.join(base, ...sp.parts), this.opts.journal) };
  }

  /** The controllers `r` needs enabled, checking first what v2 cannot do at all. */
  private needed(r: LinuxResources): string[] {
    const out = new Set<string>();
    for (const c of CONTROLLERS) {
      c.check?.(r);
      if (c.name && c.wants(r)) out.add(c.name);
    }
    for (const key of Object.keys(r.unified ?? {})) {
      const c = unifiedKeyController(key);
      if (c) out.add(c);
    }
    return [...out];
  }

  /**
   * Enables controllers in `dirPath`'s cgroup.subtree_control. In the levels keel makes, every
   * available one (so a later update can set any of them, as runc does); in the cgroup keel
   * runs in, which is not keel's, only the ones this spec needs. Where the kernel refuses, the
   * needed ones must already be on.
   */
  private enableControllers(dirPath: string, needed: string[], everyAvailable = true): void {
    const dir = new CgroupDir(dirPath, this.opts.journal);
    const available = words(dir.read("cgroup.controllers"));
    const enabled = new Set(words(dir.read("cgroup.subtree_control")));
    const absent = needed.filter((c) => !available.includes(c));
    if (absent.length > 0)
      throw new CgroupUnsupportedError(
        `controllers ${absent.join(", ")}`,
        `not available to cgroups under ${dirPath} (its cgroup.controllers: ${available.join(" ") || "none"}); the parent cgroup does not delegate them`,
        { path: dirPath, file: "cgroup.controllers" },
      );
    const toEnable = (everyAvailable ? available : needed).filter((c) => !enabled.has(c));
    if (toEnable.length === 0) return;
    const missing = needed.filter((c) => !enabled.has(c));
    try {
      dir.write("cgroup.subtree_control", toEnable.map((c) => `+${c}`).join(" "));
    } catch (err) {
      if (missing.length === 0) return; // what this spec needs is on already
      if (err instanceof CgroupError && err.code === "EBUSY") throw new CgroupDelegationError(dirPath, missing, err);
      // Some controller refused (e.g. a threaded subtree): enable just the needed ones.
      for (const c of missing) dir.write("cgroup.subtree_control", `+${c}`);
    }
  }

  async create(path: string, resources: LinuxResources = {}): Promise<void> {
    const { sp, base, dir } = this.resolve(path);
    const needed = this.needed(resources);
    await retryVanishedLevel(() => this.createOnce(sp, base, dir, resources, needed));
  }

  private async createOnce(sp: SplitPath, base: string, dir: CgroupDir, resources: LinuxResources, needed: string[]): Promise<void> {
    const made: string[] = [];
    try {
      // Top-down: each level's controllers on before the next level is made below it.
      let parent = base;
      for (const part of sp.parts) {
        this.enableControllers(parent, needed, parent !== base);
        made.push(...(await makeLevels(parent, [part])));
        parent = posix.join(parent, part);
      }
      this.apply(dir, resources);
    } catch (err) {
      removeMade(made);
      throw err;
    }
  }

  private apply(dir: CgroupDir, r: LinuxResources): void {
    for (const c of CONTROLLERS) if (c.wants(r)) c.apply(dir, r);
  }

  procsFiles(path: string): string[] {
    return [posix.join(this.resolve(path).dir.path, "cgroup.procs")];
  }

  placement(path: string): CgroupPlacement {
    const { dir } = this.resolve(path);
    return { version: 2, procsFiles: [posix.join(dir.path, "cgroup.procs")], dir: dir.path };
  }

  exists(path: string): boolean {
    return existsSync(this.resolve(path).dir.path);
  }

  async addProcess(path: string, pid: number): Promise<void> {
    this.resolve(path).dir.write("cgroup.procs", pid);
  }

  async update(path: string, resources: LinuxResources): Promise<void> {
    const { sp, base, dir } = this.resolve(path);
    const needed = this.needed(resources);
    // Each level must hand down what the update needs (create enabled only what it needed in
    // the cgroup keel runs in). Only missing controllers are written.
    let level = base;
    for (const part of sp.parts) {
      this.enableControllers(level, needed, false);
      level = posix.join(level, part);
    }
    this.apply(dir, resources);
  }

  async stats(path: string): Promise<CgroupStats> {
    const { dir } = this.resolve(path);
    if (!existsSync(dir.path)) throw new CgroupError(`cgroup ${path} does not exist`, { path: dir.path, file: "", code: "ENOENT", errno: 2 });
    return {
      cpu: cpuStatsV2(dir),
      memory: memoryStatsV2(dir),
      pids: pidsStats(dir),
      io: ioStatsV2(dir),
      hugetlb: hugetlbStatsV2(dir),
    };
  }

  async freeze(path: string): Promise<void> {
    await setFrozenV2(this.resolve(path).dir, true);
  }

  async thaw(path: string): Promise<void> {
    await setFrozenV2(this.resolve(path).dir, false);
  }

  async pids(path: string): Promise<number[]> {
    return subtreePids(this.resolve(path).dir.path);
  }

  /** SIGKILL through cgroup.kill (Linux 5.14+: atomic, the whole subtree); other signals freeze, signal each pid, thaw. */
  async killAll(path: string, signal: NodeJS.Signals | number = "SIGKILL"): Promise<void> {
    const { dir } = this.resolve(path);
    if (!existsSync(dir.path)) return;
    const isKill = signal === "SIGKILL" || signal === osConstants.signals.SIGKILL;
    if (isKill && dir.has("cgroup.kill")) {
      dir.write("cgroup.kill", 1);
      return;
    }
    // A paused container stays paused: only a freeze made here is undone.
    const wasFrozen = dir.read("cgroup.freeze").trim() === "1";
    await setFrozenV2(dir, true);
    try {
      signalEach(subtreePids(dir.path), signal);
    } finally {
      if (!wasFrozen) await setFrozenV2(dir, false);
    }
  }

  async oomKilled(path: string): Promise<boolean> {
    const { dir } = this.resolve(path);
    return existsSync(dir.path) && oomKilledV2(dir);
  }

  async destroy(path: string): Promise<void> {
    const { sp, base, dir } = this.resolve(path);
    await removeTree(dir.path, this.opts.destroyTimeoutMs);
    if (!sp.absolute) removeEmptyAncestors(base, sp.parts);
  }
}
