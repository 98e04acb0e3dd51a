// Benchmarks install the reference tools they compare against (Debian packages) when missing.
import { execFileSync } from "node:child_process";

function installed(pkg: string): boolean {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).includes("install ok installed");
  } catch {
    return false;
  }
}

export function ensureDebianPackages(pkgs: string[]): void {
  const missing = pkgs.filter((p) => !installed(p));
  if (!missing.length) return;
  process.stderr.write(`bench: installing ${missing.join(", ")} (apt-get)\n`);
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}
