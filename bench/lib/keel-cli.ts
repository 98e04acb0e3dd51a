// The `keel` command as a user runs it (the bundle setup builds, package.json's bin), for the
// benchmarks that time or measure it as a separate process.
import { packagePath } from "../../lib/package-root.js";

export const KEEL_CLI = packagePath("dist", "bundle", "keel.js");
