// runc and crun leave the parent directories of a nested cgroupsPath behind (and crun puts some
// at a hierarchy's root): remove every cgroup directory with this name, deepest first.
import { readdirSync, rmdirSync } from "node:fs";
import { join } from "node:path";

export function removeCgroupDirs(name: string, root = "/sys/fs/cgroup", depth = 6): void {
  const found: string[] = [];
  const walk = (dir: string, d: number) => {
    if (d > depth) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name === name) found.push(p);
      else walk(p, d + 1);
    }
  };
  walk(root, 0);
  for (const top of found) {
    const all: string[] = [];
    const collect = (dir: string) => {
      all.push(dir);
      try {
        for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) collect(join(dir, e.name));
      } catch { /* gone */ }
    };
    collect(top);
    for (const dir of all.reverse()) {
      try {
        rmdirSync(dir);
      } catch { /* busy or gone: leakcheck will say */ }
    }
  }
}
