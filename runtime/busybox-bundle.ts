// A minimal OCI bundle from Debian's static busybox (the busybox-static package): the demo's,
// the tests' and the benchmarks' container, without any image store or registry.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../oci/runtime-spec.js";
import { defaultSpec, type DefaultSpecOptions } from "./default-spec.js";

export const BUSYBOX = "/bin/busybox";

/** dir/rootfs with /bin/busybox, its applets as symlinks, and /etc/passwd and /etc/group. */
export function makeBusyboxRootfs(dir: string): string {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "usr/bin", "sbin"]) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, "bin/busybox"));
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a && a !== "busybox");
  for (const a of applets) symlinkSync("busybox", join(rootfs, "bin", a));
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n");
  return rootfs;
}

export interface Bundle {
  dir: string;
  spec: Spec;
  /** Writes spec (default: this.spec) to dir/config.json. */
  write(spec?: Spec): void;
}

/** A temporary directory with one shared busybox rootfs, and bundles that use it. */
export class BusyboxBundles {
  readonly dir: string;
  readonly rootfs: string;
  private n = 0;

  constructor(parent = tmpdir()) {
    this.dir = mkdtempSync(join(parent, "keel-bundles-"));
    // Traversable by a container root that a user namespace maps to an unprivileged uid.
    chmodSync(this.dir, 0o755);
    this.rootfs = makeBusyboxRootfs(this.dir);
  }

  bundle(o: DefaultSpecOptions = {}, patch?: (s: Spec) => void): Bundle {
    const dir = join(this.dir, `b${this.n++}`);
    mkdirSync(dir);
    const spec = defaultSpec({ rootfs: this.rootfs, ...o });
    patch?.(spec);
    const b: Bundle = { dir, spec, write: (s = b.spec) => writeFileSync(join(dir, "config.json"), JSON.stringify(s, null, 2)) };
    b.write();
    return b;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
