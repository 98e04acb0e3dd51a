// Which cgroup driver this machine needs, and where the current process's cgroups are.
//
// Pure v2 when /sys/fs/cgroup itself is cgroup2 (statfs magic). Anything else is v1, hybrid
// included: there the v1 controller hierarchies hold every resource and the unified hierarchy
// beside them is ignored (it holds no controller keel uses, or at most hugetlb, which keel does
// not take from there: enabling it would mean writing the machine's root cgroup).
import { readFileSync, statfsSync } from "node:fs";
import { posix } from "node:path";

export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";

/** One line of /proc/<pid>/cgroup. */
export interface ProcCgroupEntry {
  hierarchyId: number;
  /** v1 controllers of the hierarchy ("cpu", "name=systemd"); empty for the v2 entry "0::". */
  controllers: string[];
  /** The cgroup path relative to the hierarchy's root ("/", "/process_api/abc"). */
  path: string;
}

export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    out.push({ hierarchyId: Number(line.slice(0, first)), controllers: list ? list.split(",") : [], path: line.slice(second + 1) });
  }
  return out;
}

/** One cgroup or cgroup2 mount from /proc/self/mountinfo. */
export interface CgroupMount {
  mountpoint: string;
  /** The path inside the hierarchy that is mounted there ("/" unless bind-mounted or in a cgroupns). */
  root: string;
  fstype: "cgroup" | "cgroup2";
  /** v1: the controllers from the super options ("cpu", "cpuacct", "name=systemd"). */
  controllers: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const [fstype, , superOpts = ""] = line.slice(sep + 3).split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const controllers =
      fstype === "cgroup"
        ? superOpts.split(",").filter((o) => o !== "rw" && o !== "ro" && !o.startsWith("release_agent=") && !KNOWN_V1_OPTIONS.has(o))
        : [];
    out.push({ mountpoint: unescapeMountinfo(left[4]), root: unescapeMountinfo(left[3]), fstype, controllers });
  }
  return out;
}

const KNOWN_V1_OPTIONS = new Set(["noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "none"]);

/** A v1 hierarchy keel can put cgroups in. */
export interface V1Hierarchy {
  /** Controllers of this hierarchy ("cpu"; "cpu,cpuacct" when co-mounted). */
  controllers: string[];
  mountpoint: string;
  /** The directory of the current process's cgroup in this hierarchy. */
  ownDir: string;
}

export interface CgroupLayout {
  version: 1 | 2;
  /** v1 with a cgroup2 hierarchy mounted beside the controllers (systemd's "hybrid"). */
  hybrid: boolean;
  /** v2: the cgroup2 mountpoint and the current process's cgroup directory in it. */
  unified?: { mountpoint: string; ownDir: string };
  /** v1: the controller hierarchies (named ones like name=systemd left out). */
  hierarchies: V1Hierarchy[];
}

/** Inputs of detection, overridable for fixture tests. */
export interface DetectSources {
  /** The cgroup filesystem root (default /sys/fs/cgroup). */
  root?: string;
  /** Whether `root` is cgroup2; default: statfs magic. */
  isCgroup2?: boolean;
  procSelfCgroup?: string;
  mountinfo?: string;
}

export function isCgroup2Root(root = DEFAULT_CGROUP_ROOT): boolean {
  try {
    return statfsSync(root).type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** Where a process's cgroup is inside a mount of its hierarchy (the mount may show a subtree). */
function dirInMount(m: CgroupMount, cgroupPath: string): string {
  let rel = cgroupPath;
  if (m.root !== "/" && (rel === m.root || rel.startsWith(m.root + "/"))) rel = rel.slice(m.root.length) || "/";
  return posix.join(m.mountpoint, rel).replace(/(.)\/+$/, "$1");
}

export function detectCgroupLayout(src: DetectSources = {}): CgroupLayout {
  const root = src.root ?? DEFAULT_CGROUP_ROOT;
  const own = parseProcCgroup(src.procSelfCgroup ?? readFileSync("/proc/self/cgroup", "utf8"));
  const mounts = parseCgroupMounts(src.mountinfo ?? readFileSync("/proc/self/mountinfo", "utf8"));
  const v2 = src.isCgroup2 ?? isCgroup2Root(root);
  const unifiedEntry = own.find((e) => e.hierarchyId === 0 && e.controllers.length === 0);

  if (v2) {
    const m = mounts.find((x) => x.fstype === "cgroup2" && x.mountpoint === root) ?? { mountpoint: root, root: "/", fstype: "cgroup2", controllers: [] };
    return { version: 2, hybrid: false, unified: { mountpoint: root, ownDir: dirInMount(m, unifiedEntry?.path ?? "/") }, hierarchies: [] };
  }

  const hierarchies: V1Hierarchy[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.fstype !== "cgroup" || !m.mountpoint.startsWith(root + "/")) continue;
    const controllers = m.controllers.filter((c) => !c.startsWith("name="));
    if (controllers.length === 0) continue;
    const key = controllers.slice().sort().join(",");
    if (seen.has(key)) continue; // the same hierarchy mounted twice
    seen.add(key);
    const entry = own.find((e) => e.controllers.some((c) => controllers.includes(c)));
    hierarchies.push({ controllers, mountpoint: m.mountpoint, ownDir: dirInMount(m, entry?.path ?? "/") });
  }
  const u = mounts.find((x) => x.fstype === "cgroup2" && x.mountpoint.startsWith(root + "/"));
  return {
    version: 1,
    hybrid: u !== undefined,
    unified: u ? { mountpoint: u.mountpoint, ownDir: dirInMount(u, unifiedEntry?.path ?? "/") } : undefined,
    hierarchies,
  };
}
