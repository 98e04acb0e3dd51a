// The embedding API as a program outside keel reaches it: by the package name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test('import { Runtime } from "keel" works from the checkout, and runs a container', () => {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  const script = `
    import { Runtime, defaultSpec, SpecValidationError } from "keel";
    import { BusyboxBundles } from "./dist/runtime/busybox-bundle.js";
    import { mkdtempSync, rmSync } from "node:fs";
    const state = mkdtempSync("/tmp/keel-embed-");
    const b = new BusyboxBundles();
    const rt = new Runtime({ root: state });
    const c = await rt.run("keel-embed-1", b.bundle({ args: ["/bin/echo", "embedded"] }).dir, { stdio: ["ignore", "inherit", "inherit"] });
    const st = await rt.wait("keel-embed-1");
    await rt.delete("keel-embed-1");
    b.cleanup(); rmSync(state, { recursive: true, force: true });
    console.log(typeof defaultSpec, typeof SpecValidationError, c.pid > 0, st.exitCode);`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
  assert.equal(out, "embedded\nfunction function true 0\n");
});
