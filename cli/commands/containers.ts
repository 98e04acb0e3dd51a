// `keel run|ps|logs|exec|stop|rm`: containers from images, as podman runs them, with no daemon.
// Detached containers (-d) run under their own keel-supervisor and are found by any later keel.
import { Command, Option } from "commander";
import { printTable } from "../table.js";

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command("run")
    .description("run a command in a new container from an image (pulled if missing)")
    .argument("<image>", "image reference: busybox, registry:5000/app:1.2, or a digest")
    .argument("[command...]", "command and arguments (default: the image's entrypoint and cmd)")
    .option("--rm", "remove the container when it exits")
    .option("-d, --detach", "run in the background and print the container id")
    .option("-i, --interactive", "keep stdin open (connect it to the container)")
    .option("-t, --tty", "give the container a terminal of its own, shown on yours (with -i, what you type goes to it)")
    .option("-e, --env <KEY=VALUE>", "set an environment variable (KEY alone takes it from here)", collect, [])
    .option("-v, --volume <SRC:DST[:ro]>", "bind-mount a host path", collect, [])
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("-u, --user <user[:group]>", "user name or uid (and group) inside the container")
    .option("--entrypoint <cmd>", "override the image's entrypoint ('' clears it)")
    .option("-m, --memory <size>", "memory limit, e.g. 64m or 1g (swap included: no extra swap)")
    .option("--cpus <n>", "CPU limit, e.g. 0.5")
    .option("--pids-limit <n>", "maximum number of processes")
    .option("-h, --hostname <name>", "hostname (default: the container id's first 12 characters)")
    .option("--name <name>", "a name to refer to the container by")
    .addOption(new Option("--network <mode>", "private: own network namespace with loopback only; host: share the host's; none").default("private"))
    .option("--read-only", "mount the root filesystem read-only")
    .option("--cap-add <cap>", "add a capability", collect, [])
    .option("--cap-drop <cap>", "drop a capability", collect, [])
    .option("--security-opt <opt>", "seccomp=unconfined, no-new-privileges=false", collect, [])
    .option("--privileged", "all capabilities, no seccomp, no masked paths (explicit loosening)")
    .passThroughOptions()
    .action(async (image: string, command: string[], o) => {
      const { runImage } = await import("../containers/run.js");
      process.exitCode = await runImage(image, command, o);
    });

  program
    .command("ps")
    .description("list containers (running ones; -a for all)")
    .option("-a, --all", "include exited containers")
    .option("-q, --quiet", "print ids only")
    .addOption(new Option("--format <fmt>", "table or json").choices(["table", "json"]).default("table"))
    .action(async (o: { all?: boolean; quiet?: boolean; format: string }) => {
      const { ContainerStore } = await import("../containers/store.js");
      const { runtime, view, statusText, ago } = await import("../containers/manage.js");
      const store = new ContainerStore();
      const rt = runtime();
      const list = store.list().map((c) => view(store, rt, c)).filter((v) => o.all || v.status !== "exited");
      if (o.format === "json") return void process.stdout.write(JSON.stringify(list, null, 2) + "\n");
      if (o.quiet) return list.forEach((v) => process.stdout.write(v.id.slice(0, 12) + "\n"));
      const cmd = (v: { command: string[] }) => {
        const s = v.command.join(" ");
        return s.length > 30 ? s.slice(0, 27) + "..." : s;
      };
      printTable([["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"], ...list.map((v) => [v.id.slice(0, 12), v.image, cmd(v), ago(v.created), statusText(v), v.name])], "  ");
    });

  program
    .command("logs")
    .description("print a detached container's output")
    .argument("<container>", "name or id")
    .option("-f, --follow", "keep printing new output until the container exits")
    .option("-n, --tail <lines>", "only the last N lines", (v) => Number(v))
    .option("-t, --timestamps", "prefix each line with its time")
    .action(async (ref: string, o: { follow?: boolean; tail?: number; timestamps?: boolean }) => {
      const { ContainerStore } = await import("../containers/store.js");
      const { runtime, printLogs, followLogs } = await import("../containers/manage.js");
      const store = new ContainerStore();
      const c = store.find(ref);
      if (!c.detached) process.stderr.write(`keel: ${c.name} ran in the foreground; its output went to the terminal, not to a log\n`);
      if (o.follow) await followLogs(store, runtime(), c, o);
      else printLogs(store, c, o);
    });

  program
    .command("exec")
    .description("run a command in a running container")
    .argument("<container>", "name or id")
    .argument("<command...>", "command and arguments")
    .option("-e, --env <KEY=VALUE>", "set an environment variable", collect, [])
    .option("-w, --workdir <dir>", "working directory")
    .option("-u, --user <uid[:gid]>", "numeric user (and group)")
    .option("-i, --interactive", "connect stdin")
    .option("-t, --tty", "give the process a terminal of its own, shown on yours")
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: { env: string[]; workdir?: string; user?: string; interactive?: boolean; tty?: boolean }) => {
      const { ContainerStore } = await import("../containers/store.js");
      const { runtime } = await import("../containers/manage.js");
      const store = new ContainerStore();
      const c = store.find(ref);
      const rt = runtime();
      const spec = JSON.parse((await import("node:fs")).readFileSync(`${store.bundle(c.id)}/config.json`, "utf8")) as import("../../oci/runtime-spec.js").Spec;
      const base = spec.process!;
      const [uid, gid] = o.user ? o.user.split(":").map(Number) : [base.user.uid, base.user.gid];
      const proc = { ...base, args: command, env: [...(base.env ?? []), ...o.env], cwd: o.workdir ?? base.cwd, user: { uid: uid!, gid: gid ?? uid!, additionalGids: base.user.additionalGids }, terminal: !!o.tty };
      if (o.tty) {
        const { ConsoleRelay, userTerminalSize } = await import("../containers/terminal.js");
        const size = userTerminalSize();
        const terminal = await ConsoleRelay.listen();
        try {
          const p = await rt.exec(c.id, { ...proc, consoleSize: { height: size.rows, width: size.cols } }, { consoleSocket: terminal.path });
          const relayed = terminal.relay({ stdin: !!o.interactive, size });
          const st = await p.wait();
          await relayed;
          process.exitCode = st.exitCode ?? 128 + (st.signal ?? 0);
        } finally {
          terminal.close();
        }
        return;
      }
      const p = await rt.exec(c.id, proc, { stdio: [o.interactive ? 0 : "ignore", "inherit", "inherit"] });
      const st = await p.wait();
      process.exitCode = st.exitCode ?? 128 + (st.signal ?? 0);
    });

  program
    .command("stop")
    .description("stop running containers: SIGTERM, then SIGKILL after the timeout")
    .argument("<containers...>", "names or ids")
    .option("-t, --time <seconds>", "seconds to wait before SIGKILL", (v) => Number(v), 10)
    .action(async (refs: string[], o: { time: number }) => {
      const { ContainerStore } = await import("../containers/store.js");
      const { runtime, stop } = await import("../containers/manage.js");
      const store = new ContainerStore();
      const rt = runtime();
      for (const ref of refs) {
        const c = store.find(ref);
        await stop(rt, c, o.time);
        process.stdout.write(`${ref}\n`);
      }
    });

  program
    .command("rm")
    .description("remove containers (their rootfs, logs and records)")
    .argument("<containers...>", "names or ids")
    .option("-f, --force", "stop running containers first")
    .action(async (refs: string[], o: { force?: boolean }) => {
      const { ContainerStore } = await import("../containers/store.js");
      const { runtime, remove } = await import("../containers/manage.js");
      const store = new ContainerStore();
      const rt = runtime();
      for (const ref of refs) {
        await remove(store, rt, store.find(ref), !!o.force);
        process.stdout.write(`${ref}\n`);
      }
    });
}
