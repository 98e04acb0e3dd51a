// The OCI runtime's verbs with runc's command line (same verbs, flags, state JSON, exit codes),
// mounted twice: as the `keel-runc` command that podman, containerd and the OCI runtime-tools
// suite drive as they drive runc, and as `keel oci`. The module graph is kept small: podman calls
// the runtime several times per container.
import { Command, Option } from "commander";
import { appendFileSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { Runtime } from "../runtime/runtime.js";
import { defaultSpec } from "../runtime/default-spec.js";
import { printTable } from "./table.js";
import { signalNumber } from "../runtime/verbs/kill.js";
import type { LinuxResources, Process, Spec } from "../oci/runtime-spec.js";

interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug?: boolean;
  systemdCgroup?: boolean;
  cloneMode?: "vm" | "fork";
}

let globals: Globals = { root: "/run/keel-runc", logFormat: "text" };

function rt(): Runtime {
  if (globals.systemdCgroup) throw new Error("--systemd-cgroup is not supported: keel manages cgroups with cgroupfs (v1 or v2)");
  return new Runtime({ root: globals.root, cloneMode: globals.cloneMode });
}

/** runc's error habit: "ERRO[0000] msg" on stderr (or a JSON line in --log), exit status 1. */
export function fail(err: unknown): never {
  const msg = (err as Error)?.message ?? String(err);
  if (globals.log) {
    const line = globals.logFormat === "json" ? JSON.stringify({ level: "error", msg, time: new Date().toISOString() }) : `time="${new Date().toISOString()}" level=error msg="${msg.replace(/"/g, '\\"')}"`;
    try {
      appendFileSync(globals.log, line + "\n");
    } catch { /* the log is best effort */ }
  }
  process.stderr.write(`ERRO[0000] ${msg}\n`);
  process.exit(1);
}

function stateJson(id: string) {
  const s = rt().state(id);
  // runc's `state` shape: pid 0 once stopped, rootfs and created always, owner "".
  return { ociVersion: s.ociVersion, id: s.id, pid: s.status === "stopped" ? 0 : (s.pid ?? 0), status: s.status, bundle: s.bundle, rootfs: s.rootfs, created: s.created, owner: "", ...(s.annotations ? { annotations: s.annotations } : {}) };
}

function parseUser(u: string): { uid: number; gid: number } {
  const [uid, gid] = u.split(":").map((x) => Number(x));
  if (!Number.isInteger(uid) || (gid !== undefined && !Number.isInteger(gid))) throw new Error(`invalid --user '${u}': use UID[:GID]`);
  return { uid: uid!, gid: gid ?? 0 };
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Adds runc's global options (state root defaulting to `root`) and verbs to `p`. */
export function addRuncVerbs(p: Command, root: string): Command {
  p.option("--root <dir>", "state directory", root)
    .option("--log <file>", "write errors to this file as well")
    .addOption(new Option("--log-format <fmt>", "text or json").choices(["text", "json"]).default("text"))
    .option("--debug", "more output (accepted for compatibility)")
    .option("--systemd-cgroup", "use systemd for cgroups (not supported)")
    .option("--criu <path>", "(accepted and ignored: no checkpoint/restore)")
    .option("--rootless <value>", "(accepted and ignored)")
    .addOption(new Option("--clone-mode <mode>", "how the container's first process is cloned: vm (CLONE_VM, fastest) or fork").choices(["vm", "fork"]))
    .enablePositionalOptions()
    .hook("preAction", (cmd) => {
      globals = cmd.opts() as Globals;
    });

  p.command("create <id>")
    .description("create a container; its process waits for `start`")
    .option("-b, --bundle <dir>", "bundle directory", ".")
    .option("--pid-file <file>", "write the container's pid here")
    .option("--console-socket <path>", "unix socket that receives the terminal's master fd")
    .option("--no-pivot", "use chroot instead of pivot_root")
    .option("--no-new-keyring", "(accepted: keel does not create session keyrings)")
    .option("--preserve-fds <n>", "pass fds 3..3+N-1 into the container", (v) => Number(v), 0)
    .action(async (id: string, o: { bundle: string; pidFile?: string; consoleSocket?: string; pivot: boolean; preserveFds: number }) => {
      const c = await rt().create(id, resolve(o.bundle), { noPivot: !o.pivot, preserveFds: o.preserveFds, detach: true, stdio: "inherit", consoleSocket: o.consoleSocket && resolve(o.consoleSocket) });
      if (o.pidFile) writeFileSync(o.pidFile, String(c.pid));
    });

  p.command("start <id>").description("start a created container").action(async (id: string) => rt().start(id));

  p.command("run <id>")
    .description("create and start a container (and wait for it unless --detach)")
    .option("-b, --bundle <dir>", "bundle directory", ".")
    .option("-d, --detach", "do not wait for the container")
    .option("--pid-file <file>", "write the container's pid here")
    .option("--console-socket <path>", "unix socket that receives the terminal's master fd")
    .option("--no-pivot", "use chroot instead of pivot_root")
    .option("--no-new-keyring", "(accepted)")
    .option("--keep", "do not delete the container after it exits")
    .option("--preserve-fds <n>", "pass fds 3..3+N-1 into the container", (v) => Number(v), 0)
    .action(async (id: string, o: { bundle: string; detach?: boolean; pidFile?: string; consoleSocket?: string; pivot: boolean; keep?: boolean; preserveFds: number }) => {
      const r = rt();
      const c = await r.run(id, resolve(o.bundle), { noPivot: !o.pivot, preserveFds: o.preserveFds, detach: o.detach, stdio: "inherit", consoleSocket: o.consoleSocket && resolve(o.consoleSocket) });
      if (o.pidFile) writeFileSync(o.pidFile, String(c.pid));
      if (o.detach) return;
      const forward = (sig: NodeJS.Signals) => void r.kill(id, sig).catch(() => {});
      for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const) process.on(s, forward);
      const st = await r.wait(id);
      if (!o.keep) await r.delete(id, { force: true });
      process.exit(st.exitCode ?? 128 + (st.signal ?? 0));
    });

  p.command("state <id>").description("print the container's state as JSON").action((id: string) => {
    process.stdout.write(JSON.stringify(stateJson(id), null, 2) + "\n");
  });

  p.command("kill <id> [signal]")
    .description("send a signal (default SIGTERM) to the container's init process")
    .option("-a, --all", "send it to every process in the container")
    .action(async (id: string, signal: string | undefined, o: { all?: boolean }) => rt().kill(id, signalNumber(signal ?? "SIGTERM"), { all: o.all }));

  p.command("delete <id...>")
    .description("delete containers and everything they made")
    .option("-f, --force", "kill running containers first")
    .action(async (ids: string[], o: { force?: boolean }) => {
      const r = rt();
      for (const id of ids) await r.delete(id, { force: o.force });
    });

  p.command("list")
    .alias("ls")
    .description("list containers")
    .addOption(new Option("-f, --format <fmt>", "table or json").choices(["table", "json"]).default("table"))
    .option("-q, --quiet", "ids only")
    .action((o: { format: string; quiet?: boolean }) => {
      const list = rt().list().map((c) => stateJson(c.id));
      if (o.quiet) return list.forEach((c) => process.stdout.write(c.id + "\n"));
      if (o.format === "json") return void process.stdout.write(JSON.stringify(list) + "\n");
      printTable([["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...list.map((c) => [c.id, String(c.pid), c.status, c.bundle, c.created, "root"])]);
    });

  p.command("ps <id>")
    .description("list the processes in a container")
    .addOption(new Option("-f, --format <fmt>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (id: string, o: { format: string }) => {
      const { detectCgroupDriver } = await import("../runtime/cgroups/index.js");
      const s = rt().state(id);
      const pids = await detectCgroupDriver().pids(s.cgroupPath);
      if (o.format === "json") return void process.stdout.write(JSON.stringify(pids) + "\n");
      const { execFileSync } = await import("node:child_process");
      const out = execFileSync("ps", ["-o", "user,pid,ppid,c,stime,tty,time,cmd", ...(pids.length ? ["-p", pids.join(",")] : ["-p", "0"])], { encoding: "utf8" });
      process.stdout.write(out.replace(/^(\s*)USER/, "$1UID"));
    });

  p.command("exec <id> [command...]")
    .description("run a process in a running container")
    .option("-p, --process <file>", "the process as OCI JSON")
    .option("-t, --tty", "allocate a terminal")
    .option("--console-socket <path>", "unix socket that receives the terminal's master fd")
    .option("-d, --detach", "do not wait for the process")
    .option("--pid-file <file>", "write the process's pid here")
    .option("-e, --env <KEY=VALUE>", "environment", collect, [])
    .option("--cwd <dir>", "working directory")
    .option("-u, --user <uid[:gid]>", "user")
    .option("--additional-gids <gid>", "more groups", collect, [])
    .option("-c, --cap <cap>", "add a capability", collect, [])
    .option("--no-new-privs", "set no_new_privs")
    .option("--apparmor <profile>", "(accepted and ignored)")
    .option("--process-label <label>", "(accepted and ignored)")
    .option("--preserve-fds <n>", "pass fds 3..3+N-1", (v) => Number(v), 0)
    .passThroughOptions()
    .action(async (id: string, command: string[], o: { process?: string; tty?: boolean; consoleSocket?: string; detach?: boolean; pidFile?: string; env: string[]; cwd?: string; user?: string; additionalGids: string[]; cap: string[]; newPrivs: boolean; preserveFds: number }) => {
      if (o.tty && !o.consoleSocket && !o.process) throw new Error("--tty needs --console-socket");
      const r = rt();
      const spec = JSON.parse(readFileSync(resolve(r.state(id).bundle, "config.json"), "utf8")) as Spec;
      let proc: Process;
      if (o.process) proc = JSON.parse(readFileSync(o.process, "utf8")) as Process;
      else {
        if (!command.length) throw new Error("exec needs a command (or --process FILE)");
        const base = spec.process!;
        const caps = base.capabilities ?? {};
        const add = (set?: string[]) => [...new Set([...(set ?? []), ...o.cap])];
        proc = {
          ...base, terminal: !!o.tty, args: command, env: [...(base.env ?? []), ...o.env], cwd: o.cwd ?? base.cwd,
          user: o.user ? { ...parseUser(o.user), additionalGids: o.additionalGids.map(Number) } : base.user,
          capabilities: o.cap.length ? { bounding: add(caps.bounding), effective: add(caps.effective), permitted: add(caps.permitted), inheritable: caps.inheritable, ambient: caps.ambient } : caps,
          noNewPrivileges: o.newPrivs === false ? true : base.noNewPrivileges,
        };
      }
      const child = await r.exec(id, proc, { stdio: "inherit", preserveFds: o.preserveFds, consoleSocket: o.consoleSocket && resolve(o.consoleSocket) });
      if (o.pidFile) writeFileSync(o.pidFile, String(child.pid));
      if (o.detach) return;
      const st = await child.wait();
      process.exit(st.exitCode ?? 128 + (st.signal ?? 0));
    });

  p.command("pause <id>").description("freeze a container").action(async (id: string) => rt().pause(id));
  p.command("resume <id>").description("thaw a container").action(async (id: string) => rt().resume(id));

  p.command("events <id>")
    .description("print the container's statistics as JSON events")
    .option("--stats", "print one stats event and exit")
    .option("--interval <duration>", "seconds between stats events", "5s")
    .action(async (id: string, o: { stats?: boolean; interval: string }) => {
      const r = rt();
      const emit = async () => void process.stdout.write(JSON.stringify({ type: "stats", id, data: await r.stats(id) }) + "\n");
      if (o.stats) return emit();
      const ms = (Number.parseFloat(o.interval) || 5) * (o.interval.endsWith("ms") ? 1 : 1000);
      while (r.state(id).status !== "stopped") {
        await emit();
        await new Promise((res) => setTimeout(res, ms));
      }
    });

  p.command("update <id>")
    .description("change a container's resources")
    .option("-r, --resources <file>", "linux.resources JSON ('-' for stdin)")
    .option("-m, --memory <bytes>", "memory limit")
    .option("--memory-reservation <bytes>", "memory soft limit")
    .option("--memory-swap <bytes>", "memory+swap limit")
    .option("--cpu-shares <n>", "CPU shares")
    .option("--cpu-quota <us>", "CFS quota")
    .option("--cpu-period <us>", "CFS period")
    .option("--cpuset-cpus <list>", "CPUs")
    .option("--cpuset-mems <list>", "memory nodes")
    .option("--pids-limit <n>", "pids limit")
    .action(async (id: string, o: Record<string, string | undefined>) => {
      let r: LinuxResources = o.resources ? (JSON.parse(readFileSync(o.resources === "-" ? 0 : o.resources, "utf8")) as LinuxResources) : {};
      const num = (v?: string) => (v === undefined ? undefined : Number(v));
      const mem = { limit: num(o.memory), reservation: num(o.memoryReservation), swap: num(o.memorySwap) };
      if (Object.values(mem).some((v) => v !== undefined)) r = { ...r, memory: { ...r.memory, ...JSON.parse(JSON.stringify(mem)) } };
      const cpu = { shares: num(o.cpuShares), quota: num(o.cpuQuota), period: num(o.cpuPeriod), cpus: o.cpusetCpus, mems: o.cpusetMems };
      if (Object.values(cpu).some((v) => v !== undefined)) r = { ...r, cpu: { ...r.cpu, ...JSON.parse(JSON.stringify(cpu)) } };
      if (o.pidsLimit !== undefined) r = { ...r, pids: { limit: Number(o.pidsLimit) } };
      await rt().update(id, r);
    });

  p.command("spec")
    .description("write a config.json for a new bundle (keel's confined defaults)")
    .option("-b, --bundle <dir>", "bundle directory", ".")
    .option("--rootless", "(not supported)")
    .action((o: { bundle: string; rootless?: boolean }) => {
      if (o.rootless) throw new Error("--rootless specs are not supported");
      const file = resolve(o.bundle, "config.json");
      if (existsSync(file)) throw new Error(`File ${file} exists. Remove it first`);
      writeFileSync(file, JSON.stringify(defaultSpec(), null, 2) + "\n");
    });

  p.command("features")
    .description("print what this runtime supports, as JSON (runtime-spec features.md)")
    .action(async () => {
      const { CAPABILITIES } = await import("../runtime/capabilities.js");
      process.stdout.write(JSON.stringify({
        ociVersionMin: "1.0.0", ociVersionMax: "1.2.0",
        hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        mountOptions: ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "bind", "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable", "relatime", "strictatime", "noatime", "nodiratime", "sync", "async"],
        linux: {
          namespaces: ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
          capabilities: [...CAPABILITIES],
          cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
          seccomp: { enabled: true, actions: ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"], operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"], archs: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
          apparmor: { enabled: false }, selinux: { enabled: false },
        },
      }, null, 2) + "\n");
    });
  return p;
}

