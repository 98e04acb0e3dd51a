// `keel demo`: what `npm start` runs: a busybox container from a bundle, its output printed,
// then removed.
import type { Command } from "commander";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BusyboxBundles } from "../../runtime/busybox-bundle.js";
import { Runtime } from "../../runtime/runtime.js";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run a busybox container from a fresh bundle, print its output, and remove it")
    .argument("[command...]", "command to run in the container", ["/bin/sh", "-c", "echo hello from keel: pid $$ on $(hostname), $(ls /proc | grep -c '^[0-9]') process(es) visible"])
    .action(async (command: string[]) => {
      const root = mkdtempSync(join(tmpdir(), "keel-demo-state-"));
      const bundles = new BusyboxBundles();
      const rt = new Runtime({ root });
      const id = `keel-demo-${process.pid}`;
      try {
        const b = bundles.bundle({ args: command, hostname: "keel-demo" });
        await rt.run(id, b.dir, { stdio: ["ignore", "inherit", "inherit"] });
        const st = await rt.wait(id);
        await rt.delete(id);
        process.stderr.write(`keel: container ${id} exited with ${st.signal ? `signal ${st.signal}` : `status ${st.exitCode}`} and was removed\n`);
        process.exitCode = st.exitCode ?? 1;
      } finally {
        await rt.delete(id, { force: true }).catch(() => {});
        bundles.cleanup();
        rmSync(root, { recursive: true, force: true });
      }
    });
}
