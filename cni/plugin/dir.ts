// The folder holding keel's plugin executables (cni/bin in the source tree).
import { packagePath } from "../../lib/package-root.js";

export function keelPluginDir(): string {
  return packagePath("cni", "bin");
}
