// `keel oci ...`: the OCI runtime's lifecycle verbs on bundles (runc's model: create, start,
// state, kill, delete, run, exec, list, pause, resume, update, stats, spec).
import { Command, Option } from "commander";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { Runtime } from "../../runtime/runtime.js";
import { DEFAULT_ROOT } from "../../runtime/state.js";
import { defaultSpec } from "../../runtime/default-spec.js";
import { printTable } from "../table.js";
import type { LinuxResources, Process } from "../../oci/runtime-spec.js";

function runtimeOf(cmd: Command): Runtime {
  const o = cmd.optsWithGlobals<{ root: string; cloneMode: "fork" | "vm" }>();
  return new Runtime({ root: o.root, cloneMode: o.cloneMode });
}

function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + "\n");
}

export function register(program: Command): void {
  const oci = program
    .command("oci")
    .description("run OCI bundles: the runtime's lifecycle verbs (create, start, state, kill, delete, ...)")
    .addOption(new Option("--root <dir>", "state directory").default(DEFAULT_ROOT))
    .addOption(new Option("--clone-mode <mode>", "how the first process is cloned").choices(["vm", "fork"]).default("vm"));

  oci
    .command("create <id>")
    .description("set up a container from BUNDLE/config.json; its process waits for `start`")
    .option("-b, --bundle <dir>", "bundle directory", ".")
    .option("--no-pivot", "use chroot instead of pivot_root (rootfs on a ramdisk)")
    .option("--pid-file <file>", "write the container's pid here")
    .option("--preserve-fds <n>", "pass fds 3..3+N-1 into the container", (v) => Number(v), 0)
    .action(async (id: string, o: { bundle: string; pivot: boolean; pidFile?: string; preserveFds: number }, cmd: Command) => {
      const c = await runtimeOf(cmd).create(id, resolve(o.bundle), { noPivot: !o.pivot, preserveFds: o.preserveFds, detach: true });
      if (o.pidFile) writeFileSync(o.pidFile, String(c.pid));
    });

  oci.command("start <id>").description("start a created container").action(async (id: string, _o, cmd: Command) => runtimeOf(cmd).start(id));

  oci
    .command("run <id>")
    .description("create and start a container, wait for it to exit, and exit with its status")
    .option("-b, --bundle <dir>", "bundle directory", ".")
    .option("-d, --detach", "do not wait for the container")
    .option("--rm", "delete the container after it exits")
    .option("--no-pivot", "use chroot instead of pivot_root")
    .option("--pid-file <file>", "write the container's pid here")
    .action(async (id: string, o: { bundle: string; detach?: boolean; rm?: boolean; pivot: boolean; pidFile?: string }, cmd: Command) => {
      const rt = runtimeOf(cmd);
      // The container's stdio is this command's, with --detach too (as runc does): a supervisor
      // passes its log pipes this way.
      const c = await rt.run(id, resolve(o.bundle), { noPivot: !o.pivot, detach: o.detach, stdio: "inherit" });
      if (o.pidFile) writeFileSync(o.pidFile, String(c.pid));
      if (o.detach) return;
      const st = await rt.wait(id);
      if (o.rm) await rt.delete(id, { force: true });
      process.exitCode = st.exitCode ?? 128 + (st.signal ?? 0);
    });

  oci
    .command("state <id>")
    .description("print the container's state as JSON")
    .action((id: string, _o, cmd: Command) => printJson(runtimeOf(cmd).state(id)));

  oci
    .command("list")
    .alias("ls")
    .description("list containers")
    .option("--format <fmt>", "table or json", "table")
    .action((o: { format: string }, cmd: Command) => {
      const list = runtimeOf(cmd).list();
      if (o.format === "json") return printJson(list);
      printTable([["ID", "PID", "STATUS", "BUNDLE", "CREATED"], ...list.map((c) => [c.id, String(c.pid ?? 0), c.status, c.bundle, c.created])]);
    });

  oci
    .command("kill <id> [signal]")
    .description("send a signal (default SIGTERM) to the container's first process")
    .option("-a, --all", "signal every process in the container")
    .action(async (id: string, signal: string | undefined, o: { all?: boolean }, cmd: Command) => runtimeOf(cmd).kill(id, signal ?? "SIGTERM", { all: o.all }));

  oci
    .command("delete <id>")
    .alias("rm")
    .description("delete a container and everything it made")
    .option("-f, --force", "kill a running container first")
    .action(async (id: string, o: { force?: boolean }, cmd: Command) => runtimeOf(cmd).delete(id, { force: o.force }));

  oci.command("pause <id>").description("freeze every process of the container").action(async (id: string, _o, cmd: Command) => runtimeOf(cmd).pause(id));
  oci.command("resume <id>").description("thaw a paused container").action(async (id: string, _o, cmd: Command) => runtimeOf(cmd).resume(id));

  oci
    .command("exec <id> <command...>")
    .description("run another process in a running container and exit with its status")
    .option("-e, --env <KEY=VALUE...>", "environment", [])
    .option("--cwd <dir>", "working directory", "/")
    .option("-u, --user <uid[:gid]>", "user", "0:0")
    .option("-p, --process <file>", "read the process (OCI process JSON) from a file")
    .action(async (id: string, command: string[], o: { env: string[]; cwd: string; user: string; process?: string }, cmd: Command) => {
      const rt = runtimeOf(cmd);
      const [uid, gid] = o.user.split(":").map(Number);
      const proc: Process = o.process
        ? (JSON.parse(readFileSync(o.process, "utf8")) as Process)
        : { args: command, cwd: o.cwd, user: { uid: uid ?? 0, gid: gid ?? uid ?? 0 }, env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...o.env], noNewPrivileges: true };
      const p = await rt.exec(id, proc, { stdio: "inherit" });
      const st = await p.wait();
      process.exitCode = st.exitCode ?? 128 + (st.signal ?? 0);
    });

  oci
    .command("update <id>")
    .description("change a container's resources")
    .option("-r, --resources <file>", "OCI linux.resources JSON ('-' for stdin)")
    .option("--memory <bytes>", "memory limit", Number)
    .option("--pids-limit <n>", "pids limit", Number)
    .option("--cpu-quota <us>", "CFS quota", Number)
    .option("--cpu-period <us>", "CFS period", Number)
    .action(async (id: string, o: { resources?: string; memory?: number; pidsLimit?: number; cpuQuota?: number; cpuPeriod?: number }, cmd: Command) => {
      let r: LinuxResources = o.resources ? (JSON.parse(readFileSync(o.resources === "-" ? 0 : o.resources, "utf8")) as LinuxResources) : {};
      if (o.memory !== undefined) r = { ...r, memory: { ...r.memory, limit: o.memory } };
      if (o.pidsLimit !== undefined) r = { ...r, pids: { limit: o.pidsLimit } };
      if (o.cpuQuota !== undefined || o.cpuPeriod !== undefined) r = { ...r, cpu: { ...r.cpu, quota: o.cpuQuota, period: o.cpuPeriod } };
      await runtimeOf(cmd).update(id, r);
    });

  oci
    .command("stats <id>")
    .description("print the container's cgroup statistics as JSON")
    .action(async (id: string, _o, cmd: Command) => printJson(await runtimeOf(cmd).stats(id)));

  oci
    .command("spec")
    .description("write a config.json with keel's defaults (podman's confinement) to the current directory")
    .option("-b, --bundle <dir>", "bundle directory", ".")
    .action((o: { bundle: string }) => {
      const file = resolve(o.bundle, "config.json");
      if (existsSync(file)) throw new Error(`${file} exists; remove it first`);
      writeFileSync(file, JSON.stringify(defaultSpec(), null, 2) + "\n");
    });
}
