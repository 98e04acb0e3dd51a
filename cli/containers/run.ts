// `keel run IMAGE [COMMAND...]`: an image's container, podman's way: the image's entrypoint,
// command, env, workdir and user merged with the flags; a rootfs from overlay snapshots; confined
// by default (podman's capabilities, seccomp, masked paths, no_new_privs).
import { existsSync, writeFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { ImageService } from "../../images/service.js";
import { imageConfigToProcess, resolveUser, withRuntimeEnv } from "../../images/image-config.js";
import type { Mount, Spec } from "../../oci/runtime-spec.js";
import { defaultSpec } from "../../runtime/default-spec.js";
import { CAPABILITIES } from "../../runtime/capabilities.js";
import { Runtime } from "../../runtime/runtime.js";
import { ContainerStore, type ContainerRecord } from "./store.js";
import { ConsoleRelay, userTerminalSize } from "./terminal.js";

export const CONTAINER_STATE_ROOT = process.env.KEEL_STATE_ROOT ?? "/run/keel";

export interface RunOptions {
  rm?: boolean;
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env: string[];
  volume: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  hostname?: string;
  name?: string;
  network: string;
  readOnly?: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  privileged?: boolean;
}

export class UsageError extends Error {
  readonly code = "EUSAGE";
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** "512m", "1g", "1048576" → bytes (podman's --memory units: b, k, m, g). */
export function parseBytes(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?$/i.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: '${v}' is not a size (e.g. 64m, 1g)`);
  const unit = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "b" | "k" | "m" | "g"];
  return Math.floor(Number(m[1]) * unit);
}

function volumeMount(v: string): Mount {
  const parts = v.split(":");
  const [src, dst, opts] = parts;
  if (!src || !dst || parts.length > 3) throw new UsageError(`-v ${v}: expected SRC:DST[:ro|rw]`);
  if (!isAbsolute(dst)) throw new UsageError(`-v ${v}: the container path must be absolute`);
  const source = resolve(src);
  if (!existsSync(source)) throw new UsageError(`-v ${v}: ${source} does not exist`);
  const options = ["rbind", "rprivate", ...(opts === "ro" ? ["ro"] : [])];
  if (opts && opts !== "ro" && opts !== "rw") throw new UsageError(`-v ${v}: options must be ro or rw`);
  return { destination: dst, type: "bind", source, options };
}

export function buildSpec(rootfs: string, proc: { args: string[]; env: string[]; cwd: string; uid: number; gid: number; additionalGids: number[] }, o: RunOptions, hostname: string): Spec {
  if (!["private", "none", "host"].includes(o.network)) throw new UsageError(`--network ${o.network}: use private (a new network namespace with loopback), none, or host`);
  const spec = defaultSpec({
    rootfs, args: proc.args, env: proc.env, cwd: proc.cwd, uid: proc.uid, gid: proc.gid, hostname,
    network: o.network !== "host", readonlyRootfs: o.readOnly,
    seccomp: !(o.privileged || o.securityOpt.includes("seccomp=unconfined")),
  });
  const p = spec.process!;
  p.user.additionalGids = proc.additionalGids;
  const caps = new Set(p.capabilities!.bounding);
  if (o.privileged) {
    spec.linux!.maskedPaths = [];
    spec.linux!.readonlyPaths = [];
    for (const c of CAPABILITIES) caps.add(c);
    p.noNewPrivileges = false;
  }
  for (const c of o.capAdd) caps.add(c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
  for (const c of o.capDrop) caps.delete(c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
  const capList = [...caps];
  p.capabilities = { bounding: capList, effective: capList, permitted: capList };
  if (o.securityOpt.includes("no-new-privileges=false")) p.noNewPrivileges = false;
  spec.mounts!.push(...o.volume.map(volumeMount));
  const resources: NonNullable<Spec["linux"]>["resources"] = {};
  if (o.memory) {
    const limit = parseBytes(o.memory, "--memory");
    resources.memory = { limit, swap: limit };
  }
  if (o.cpus) {
    const cpus = Number(o.cpus);
    if (!(cpus > 0)) throw new UsageError(`--cpus ${o.cpus}: must be a positive number`);
    resources.cpu = { quota: Math.round(cpus * 100000), period: 100000 };
  }
  if (o.pidsLimit) {
    const n = Number(o.pidsLimit);
    if (!Number.isInteger(n) || n < -1 || n === 0) throw new UsageError(`--pids-limit ${o.pidsLimit}: must be a positive integer (or -1 for none)`);
    if (n > 0) resources.pids = { limit: n };
  }
  if (Object.keys(resources).length) spec.linux!.resources = resources;
  return spec;
}


export async function runImage(image: string, command: string[], o: RunOptions): Promise<number> {
  const images = await ImageService.open();
  const store = new ContainerStore();
  const resolved = await images.ensure(image);
  if (o.rm && o.detach) throw new UsageError("--rm and -d together are not supported yet: remove a detached container with keel rm");
  if (o.tty && o.detach) throw new UsageError("-t with -d is not supported yet: a detached container has no terminal to attach to");
  const proc = imageConfigToProcess(resolved.config, {
    command, entrypoint: o.entrypoint !== undefined ? (o.entrypoint ? [o.entrypoint] : []) : undefined,
    env: o.env, workdir: o.workdir, user: o.user,
  });
  const rec: ContainerRecord = store.create({ name: o.name, image: resolved.name, imageDigest: resolved.digest, command: proc.args, detached: !!o.detach, autoRemove: !!o.rm });
  const rt = new Runtime({ root: CONTAINER_STATE_ROOT });
  let prepared = false;
  let terminal: ConsoleRelay | undefined;
  try {
    const { rootfs } = await images.snapshots.prepare(resolved.name, rec.id);
    prepared = true;
    const user = resolveUser(rootfs, proc.user);
    const hostname = o.hostname ?? rec.id.slice(0, 12);
    const spec = buildSpec(rootfs, { args: proc.args, env: withRuntimeEnv(proc.env, { home: user.home, hostname }), cwd: proc.cwd, ...user }, o, hostname);
    spec.annotations = { "io.keel.container.name": rec.name, "io.keel.image": resolved.name };
    if (o.tty) {
      const size = userTerminalSize();
      spec.process!.terminal = true;
      spec.process!.consoleSize = { height: size.rows, width: size.cols };
      spec.process!.env = [...(spec.process!.env ?? []).filter((e) => !e.startsWith("TERM=")), `TERM=${process.env.TERM ?? "xterm"}`];
    }
    writeFileSync(`${store.bundle(rec.id)}/config.json`, JSON.stringify(spec, null, 2));
    if (o.detach) {
      const { startSupervised } = await import("../../runtime/supervised.js");
      await startSupervised({ id: rec.id, root: CONTAINER_STATE_ROOT, bundle: store.bundle(rec.id), ...store.files(rec.id) });
      process.stdout.write(`${rec.id}\n`);
      return 0;
    }
    let relayed: Promise<void> | undefined;
    if (o.tty) {
      // The terminal's master comes back over a console socket; keel relays it (terminal.ts).
      terminal = await ConsoleRelay.listen();
      await rt.run(rec.id, store.bundle(rec.id), { consoleSocket: terminal.path });
      // A relay that fails (no master received) ends the container: nobody could see or type to it.
      relayed = terminal.relay({ stdin: !!o.interactive, size: userTerminalSize() }).catch(async (e: unknown) => {
        await rt.kill(rec.id, "SIGKILL").catch(() => {});
        throw e;
      });
      relayed.catch(() => {}); // observed after wait
    } else {
      await rt.run(rec.id, store.bundle(rec.id), { stdio: [o.interactive ? 0 : "ignore", "inherit", "inherit"] });
    }
    const forward = (sig: NodeJS.Signals) => void rt.kill(rec.id, sig).catch(() => {});
    process.on("SIGINT", forward).on("SIGTERM", forward);
    const st = await rt.wait(rec.id);
    await relayed;
    process.off("SIGINT", forward).off("SIGTERM", forward);
    if (st.oomKilled) process.stderr.write(`keel: container ${rec.name} was killed by the OOM killer (memory limit ${o.memory})\n`);
    writeFileSync(store.files(rec.id).exitFile, JSON.stringify({ exitCode: st.exitCode, signal: st.signal, finishedAt: new Date().toISOString(), oomKilled: st.oomKilled }));
    return st.exitCode ?? 128 + (st.signal ?? 0);
  } catch (e) {
    o.rm = true; // a container that never ran is not kept
    throw e;
  } finally {
    terminal?.close();
    if (!o.detach || o.rm) {
      // A foreground container is gone from the runtime when it exits; its record stays (for
      // `keel ps -a`) unless --rm, and its rootfs is unmounted either way.
      await rt.delete(rec.id, { force: true }).catch(() => {});
      if (prepared) await images.snapshots.release(rec.id).catch(() => {});
      if (o.rm) store.remove(rec.id);
    }
  }
}
