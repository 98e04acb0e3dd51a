// RUN steps of `keel image build`, executed in a keel container over the build's rootfs: the
// image's user, env and workdir, confined as any container, its output on the terminal.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveUser } from "../../images/index.js";
import type { RunStep } from "../../images/build.js";
import { defaultSpec } from "../../runtime/default-spec.js";
import { Runtime } from "../../runtime/runtime.js";

export async function runBuildStep(step: RunStep): Promise<{ exitCode: number }> {
  const work = mkdtempSync(join(tmpdir(), "keel-build-"));
  const rt = new Runtime({ root: join(work, "state") });
  const id = `keel-build-${step.containerId.slice(0, 24)}`;
  try {
    // The working directory may not exist yet: create it inside the rootfs, as runc does.
    mkdirSync(join(step.rootfs, step.cwd), { recursive: true });
    const user = resolveUser(step.rootfs, step.user);
    const bundle = join(work, "bundle");
    mkdirSync(bundle);
    const spec = defaultSpec({ rootfs: step.rootfs, args: step.args, env: step.env, cwd: step.cwd, uid: user.uid, gid: user.gid, hostname: "keel-build" });
    spec.process!.user.additionalGids = user.additionalGids;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    await rt.run(id, bundle, { stdio: ["ignore", "inherit", "inherit"] });
    const st = await rt.wait(id);
    return { exitCode: st.exitCode ?? 128 + (st.signal ?? 0) };
  } finally {
    await rt.delete(id, { force: true }).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}
