// Image config → the process of a container, merged with what the user asked the way podman
// does it: --entrypoint replaces Entrypoint (and drops the image's Cmd), a command replaces Cmd,
// -e K=V overrides the image's Env by key, -w and -u override WorkingDir and User.
import { closeSync, readFileSync, constants as C } from "node:fs";
import { native } from "../native/index.js";
import type { ImageConfig } from "../oci/image-spec.js";
import { ImageError } from "./errors.js";

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface UserOverrides {
  /** --entrypoint: [] clears the image's entrypoint. */
  entrypoint?: string[];
  /** The command after the image name. */
  command?: string[];
  /** -e K=V (a bare K takes the value from `hostEnv`, as podman does). */
  env?: string[];
  hostEnv?: Record<string, string | undefined>;
  workdir?: string;
  user?: string;
}

export interface ImageProcess {
  args: string[];
  env: string[];
  cwd: string;
  /** "uid[:gid]" or "name[:group]", to resolve against the rootfs's /etc/passwd and /etc/group. */
  user: string;
  exposedPorts: string[];
  volumes: string[];
  labels: Record<string, string>;
  stopSignal?: string;
}

export class NoCommandError extends ImageError {
  constructor() {
    super("ENOCOMMAND", "no command or entrypoint provided, and no Cmd or Entrypoint in the image");
  }
}

/** Merges env lists by key, later lists winning, order of first appearance kept. */
export function mergeEnv(...lists: string[][]): string[] {
  const m = new Map<string, string>();
  for (const list of lists)
    for (const kv of list) {
      const i = kv.indexOf("=");
      m.set(i < 0 ? kv : kv.slice(0, i), kv);
    }
  return [...m.values()];
}

export function imageConfigToProcess(config: ImageConfig, o: UserOverrides = {}): ImageProcess {
  const c = config.config ?? {};
  const entrypoint = o.entrypoint ?? c.Entrypoint ?? [];
  // podman: an explicit --entrypoint resets the image's Cmd; a command replaces it.
  const cmd = o.command && o.command.length > 0 ? o.command : o.entrypoint !== undefined ? [] : (c.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new NoCommandError();
  const userEnv = (o.env ?? []).flatMap((kv) => {
    if (kv.includes("=")) return [kv];
    const v = (o.hostEnv ?? process.env)[kv];
    return v === undefined ? [] : [`${kv}=${v}`];
  });
  const imageEnv = c.Env ?? [];
  const env = mergeEnv(imageEnv.some((e) => e.startsWith("PATH=")) ? [] : [DEFAULT_PATH], imageEnv, userEnv);
  return {
    args,
    env,
    cwd: o.workdir || c.WorkingDir || "/",
    user: o.user || c.User || "0",
    exposedPorts: Object.keys(c.ExposedPorts ?? {}),
    volumes: Object.keys(c.Volumes ?? {}),
    labels: c.Labels ?? {},
    ...(c.StopSignal ? { stopSignal: c.StopSignal } : {}),
  };
}

const RESOLVE_IN_ROOT = 0x10;

/** Reads a file of the rootfs, resolving the path inside it (symlinks cannot leave it). */
function readInRoot(rootfs: string, path: string): string | undefined {
  let rootFd = -1;
  let fd = -1;
  try {
    rootFd = native.openat2(-100, rootfs, C.O_RDONLY | C.O_DIRECTORY, 0, 0);
    fd = native.openat2(rootFd, path, C.O_RDONLY, 0, RESOLVE_IN_ROOT);
    return readFileSync(fd, "utf8");
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeSync(fd);
    if (rootFd >= 0) closeSync(rootFd);
  }
}

export class UnknownUserError extends ImageError {
  constructor(readonly user: string, readonly file: string) {
    super("ENOUSER", `user or group "${user}" not found in the image's ${file}`);
  }
}

/** Resolves "name", "uid", "name:group", "uid:gid" against the rootfs's /etc/passwd and /etc/group. */
export function resolveUser(rootfs: string, spec: string): { uid: number; gid: number; additionalGids: number[]; home: string } {
  const [u, g] = spec.split(":", 2);
  const passwd = (readInRoot(rootfs, "/etc/passwd") ?? "").split("\n").map((l) => l.split(":"));
  const groups = (readInRoot(rootfs, "/etc/group") ?? "").split("\n").map((l) => l.split(":"));
  let uid: number;
  let gid: number | undefined;
  let name: string | undefined;
  let home = "/";
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const row = passwd.find((r) => r.length >= 4 && Number(r[2]) === uid);
    if (row) [name, gid, home] = [row[0], Number(row[3]), row[5] || "/"];
  } else {
    const row = passwd.find((r) => r[0] === u && r.length >= 4);
    if (!row) throw new UnknownUserError(u, "/etc/passwd");
    [name, uid, gid, home] = [row[0], Number(row[2]), Number(row[3]), row[5] || "/"];
  }
  if (g !== undefined && g !== "") {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = groups.find((r) => r[0] === g && r.length >= 3);
      if (!row) throw new UnknownUserError(g, "/etc/group");
      gid = Number(row[2]);
    }
  }
  const primary = gid ?? 0;
  const additionalGids =
    name === undefined || g
      ? []
      : groups.filter((r) => r.length >= 4 && r[3].split(",").includes(name!) && Number(r[2]) !== primary).map((r) => Number(r[2]));
  return { uid, gid: primary, additionalGids, home };
}

/**
 * The variables podman adds when the image and the user did not set them: HOME (the user's home
 * from the image's /etc/passwd), HOSTNAME, container=keel (podman says container=podman), and
 * TERM=xterm for a terminal.
 */
export function withRuntimeEnv(env: string[], o: { home: string; hostname?: string; tty?: boolean }): string[] {
  const has = (k: string) => env.some((e) => e.startsWith(`${k}=`));
  const extra: string[] = [];
  if (!has("HOME")) extra.push(`HOME=${o.home}`);
  if (o.hostname && !has("HOSTNAME")) extra.push(`HOSTNAME=${o.hostname}`);
  if (!has("container")) extra.push("container=keel");
  if (o.tty && !has("TERM")) extra.push("TERM=xterm");
  return [...env, ...extra];
}
