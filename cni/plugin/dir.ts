// The folder holding keel's plugin executables (cni/bin in the source tree).
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

export function keelPluginDir(): string {
  // dist/cni/plugin/dir.js → <repo>/cni/bin
  return resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../cni/bin");
}
