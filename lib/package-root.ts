// Where keel is installed: the folder with keel's package.json, native/build and dist/. Found by
// walking up from this module's own file, so one answer holds for the compiled tree
// (dist/<dir>/<file>.js), for the bundles (dist/bundle/..., which inline this module), and
// through npm's bin symlinks. Every path to a file keel ships goes through here.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "keel") return (cached = dir);
      } catch { /* not ours: keep walking */ }
    }
    if (dirname(dir) === dir) throw new Error(`keel: cannot find keel's package.json above ${start}`);
  }
}

/** A path inside the installed package, e.g. packagePath("native", "build", "Release"). */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

/** keel's version from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(packagePath("package.json"), "utf8")) as { version: string }).version;
}
