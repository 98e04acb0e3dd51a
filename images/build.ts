// `keel image build`: an image from a directory (its tree becomes one layer on top of an
// optional base), or from a Containerfile/Dockerfile subset: FROM, COPY, ADD (local files; local
// tar archives are extracted), ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, LABEL, EXPOSE, VOLUME,
// STOPSIGNAL, and RUN through a runner the caller supplies (keel's runtime): its changes,
// captured from the overlay's upper directory, become the step's layer.
// Entries are sorted and stamped with a fixed time, owners are root, so the same inputs give
// the same digest.
import { lstat, readFile, readdir, readlink, realpath } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join, posix, relative, resolve, basename, dirname, isAbsolute, sep } from "node:path";
import tarStream from "tar-stream";
import type { Readable } from "node:stream";
import type { ImageRuntimeConfig } from "../oci/image-spec.js";
import { type ContentStore, type Lease, type ResolvedImage } from "./content-store.js";
import { prepareRootfs } from "./snapshots.js";
import { upperDirEntries } from "./diff.js";
import { DEFAULT_PATH, mergeEnv } from "./image-config.js";
import { randomBytes } from "node:crypto";
import { commitImage, packLayer, type LayerEntry, type NewLayer } from "./layer-writer.js";
import { localBuildName } from "./reference.js";
import { BuildError } from "./errors.js";
import { AutoDecompress } from "./decompress.js";
import { entryComponents } from "./unpack.js";

export interface BuildResult {
  name?: string;
  digest: string;
  layers: number;
}

/** Reads a directory tree (not following symlinks) into layer entries under `dest`. */
export async function treeEntries(src: string, dest: string, owner?: { uid: number; gid: number }): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const inodes = new Map<string, string>();
  const uid = owner?.uid ?? 0;
  const gid = owner?.gid ?? 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs);
    const path = posix.join(dest, rel);
    if (st.isDirectory()) {
      if (path !== "/" && path !== "") out.push({ type: "directory", path, mode: st.mode & 0o7777, uid, gid });
      for (const name of (await readdir(abs)).sort()) await walk(join(abs, name), rel ? `${rel}/${name}` : name);
    } else if (st.isSymbolicLink()) out.push({ type: "symlink", path, target: await readlink(abs), uid, gid });
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && inodes.has(key)) out.push({ type: "link", path, target: inodes.get(key)! });
      else {
        inodes.set(key, path);
        out.push({ type: "file", path, data: await readFile(abs), mode: st.mode & 0o7777, uid, gid });
      }
    } // sockets, fifos and devices in a build context are skipped, as docker does
  };
  await walk(src, "");
  return out;
}

export interface DirectoryBuildOptions {
  base?: string;
  tag?: string;
  config?: ImageRuntimeConfig;
}

/** One layer from a directory's tree, on top of an optional base image. */
export async function buildFromDirectory(store: ContentStore, dir: string, opts: DirectoryBuildOptions = {}): Promise<BuildResult> {
  const base = opts.base ? await store.resolve(opts.base) : undefined;
  const tar = await packLayer(await treeEntries(resolve(dir), "/"));
  return store.withLease(async (lease) => {
    const { manifest } = await commitImage(store, { base, layers: [{ tar, createdBy: `keel image build ${basename(dir)}` }], config: opts.config, lease });
    const name = opts.tag ? localBuildName(opts.tag) : undefined;
    if (name) await store.setRef(name, manifest);
    return { name, digest: manifest.digest, layers: (base?.manifest.layers.length ?? 0) + 1 };
  });
}

// ── Containerfile ────────────────────────────────────────────────────────────────────────

export interface Instruction {
  line: number;
  cmd: string;
  args: string;
}

/** Splits a Containerfile into instructions: comments dropped, `\` continuations joined. */
export function parseContainerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (!line || line.startsWith("#")) continue;
    const start = i + 1;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = line.slice(0, -1);
      let next = lines[++i];
      while (next !== undefined && next.trim().startsWith("#")) next = lines[++i];
      line += ` ${(next ?? "").trim()}`;
    }
    const m = /^(\S+)\s*(.*)$/s.exec(line)!;
    out.push({ line: start, cmd: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}

/** $VAR and ${VAR} (and ${VAR:-default}) from the build's ARG and ENV values. */
export function substitute(s: string, vars: Map<string, string>): string {
  return s.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_m, a, def, b) => {
    const v = vars.get(a ?? b);
    return v !== undefined && v !== "" ? v : (def ?? "");
  });
}

/** ["a","b"] (exec form) or a shell string (→ /bin/sh -c). */
function commandForm(args: string, file: string, line: number): string[] {
  if (args.startsWith("[")) {
    try {
      const v = JSON.parse(args) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    } catch {
      /* fall through to the error */
    }
    throw new BuildError(file, line, `not a JSON array of strings: ${args}`);
  }
  return ["/bin/sh", "-c", args];
}

/** key=value pairs (quotes allowed), or the legacy "key value" form when `legacy`. */
function keyValues(args: string, legacy: boolean, file: string, line: number): [string, string][] {
  const tokens = args.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? [];
  if (legacy && tokens.length > 0 && !tokens[0]!.includes("=")) {
    const i = args.search(/\s/);
    if (i < 0) throw new BuildError(file, line, `missing value in "${args}"`);
    return [[args.slice(0, i), args.slice(i).trim()]];
  }
  return tokens.map((t) => {
    const i = t.indexOf("=");
    if (i <= 0) throw new BuildError(file, line, `"${t}" is not key=value`);
    return [t.slice(0, i), unquote(t.slice(i + 1))];
  });
}

function unquote(v: string): string {
  return v.replace(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g, (_m, d, s) => (d !== undefined ? d.replace(/\\(.)/g, "$1") : s));
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.zst|tar\.zstd)$/;

async function archiveEntries(file: string, dest: string): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const extract = tarStream.extract();
  createReadStream(file).pipe(new AutoDecompress()).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const e of extract) {
    const h = e.header;
    const path = posix.join(dest, entryComponents(h.name).join("/"));
    const s = e as unknown as Readable;
    if (h.type === "file") {
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(c as Buffer);
      out.push({ type: "file", path, data: Buffer.concat(chunks), mode: h.mode ?? 0o644, uid: h.uid ?? 0, gid: h.gid ?? 0 });
      continue;
    }
    s.resume();
    if (h.type === "directory") out.push({ type: "directory", path, mode: h.mode ?? 0o755, uid: h.uid ?? 0, gid: h.gid ?? 0 });
    else if (h.type === "symlink") out.push({ type: "symlink", path, target: h.linkname ?? "" });
    else if (h.type === "link") out.push({ type: "link", path, target: posix.join(dest, entryComponents(h.linkname ?? "").join("/")) });
  }
  return out;
}

/** One RUN step for a container runner: run `args` in `rootfs` (an overlay whose changes become the layer). */
export interface RunStep {
  containerId: string;
  rootfs: string;
  args: string[];
  env: string[];
  /** The working directory in the container (it may not exist yet: create it, as runc does). */
  cwd: string;
  /** The image's USER ("0" when unset), to resolve with resolveUser(rootfs, user). */
  user: string;
}

/** Runs a RUN step in a container (keel's runtime supplies one); resolves with the exit code. */
export type RunStepRunner = (step: RunStep) => Promise<{ exitCode: number }>;

export interface ContainerfileBuildOptions {
  /** The build context (COPY sources are relative to it). */
  context: string;
  /** The Containerfile (default: context/Containerfile, then context/Dockerfile). */
  file?: string;
  tag?: string;
  buildArgs?: Record<string, string>;
  /** Runs RUN steps; without one a RUN is refused with a BuildError. */
  run?: RunStepRunner;
}

export async function buildFromContainerfile(store: ContentStore, opts: ContainerfileBuildOptions): Promise<BuildResult> {
  const context = resolve(opts.context);
  let file = opts.file ? resolve(opts.file) : join(context, "Containerfile");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    if (opts.file) throw new BuildError(file, 0, "cannot read the Containerfile");
    file = join(context, "Dockerfile");
    text = await readFile(file, "utf8").catch(() => {
      throw new BuildError(context, 0, "no Containerfile or Dockerfile in the build context");
    });
  }
  const steps = parseContainerfile(text);
  const vars = new Map<string, string>(Object.entries(opts.buildArgs ?? {}));
  let base: ResolvedImage | undefined;
  let fromSeen = false;
  let config: ImageRuntimeConfig = {};
  const layers: NewLayer[] = [];
  const emptyHistory: string[] = [];
  const workdir = (): string => config.WorkingDir || "/";

  const realContext = await realpath(context);
  /** The source's path, refused when its name or a symlink on the way leads out of the context. */
  const inContext = async (src: string, line: number): Promise<string> => {
    const abs = resolve(context, src.replace(/^\/+/, ""));
    const outside = (p: string, base: string) => {
      const rel = relative(base, p);
      return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
    };
    if (outside(abs, context)) throw new BuildError(file, line, `"${src}" is outside the build context`);
    // The source itself may be a symlink (copied as one); the directories leading to it are followed.
    const parent = await realpath(dirname(abs)).catch(() => dirname(abs));
    if (outside(parent, realContext)) throw new BuildError(file, line, `"${src}" goes through a symlink out of the build context`);
    return abs;
  };

  return store.withLease(async (lease) => {
    for (const st of steps) {
      const args = st.cmd === "RUN" || st.cmd === "CMD" || st.cmd === "ENTRYPOINT" ? st.args : substitute(st.args, vars);
      if (!fromSeen && st.cmd !== "FROM" && st.cmd !== "ARG") throw new BuildError(file, st.line, `${st.cmd} before FROM`);
      switch (st.cmd) {
        case "FROM": {
          if (fromSeen) throw new BuildError(file, st.line, "multi-stage builds are not supported (one FROM)");
          fromSeen = true;
          const image = args.split(/\s+/)[0];
          if (image !== "scratch") {
            base = await store.resolve(image);
            config = { ...(base.config.config ?? {}) };
            for (const kv of config.Env ?? []) {
              const i = kv.indexOf("=");
              if (i > 0) vars.set(kv.slice(0, i), kv.slice(i + 1));
            }
          }
          break;
        }
        case "ARG": {
          const [k, v] = args.includes("=") ? [args.slice(0, args.indexOf("=")), unquote(args.slice(args.indexOf("=") + 1))] : [args, undefined];
          if (!vars.has(k) && v !== undefined) vars.set(k, v);
          break;
        }
        case "ENV": {
          const env = [...(config.Env ?? [])];
          for (const [k, v] of keyValues(args, true, file, st.line)) {
            const i = env.findIndex((e) => e.startsWith(`${k}=`));
            if (i >= 0) env[i] = `${k}=${v}`;
            else env.push(`${k}=${v}`);
            vars.set(k, v);
          }
          config.Env = env;
          emptyHistory.push(`ENV ${args}`);
          break;
        }
        case "LABEL":
          config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(keyValues(args, true, file, st.line)) };
          emptyHistory.push(`LABEL ${args}`);
          break;
        case "WORKDIR":
          config.WorkingDir = posix.resolve(workdir(), args);
          emptyHistory.push(`WORKDIR ${args}`);
          break;
        case "USER":
          config.User = args;
          emptyHistory.push(`USER ${args}`);
          break;
        case "CMD":
          config.Cmd = commandForm(args, file, st.line);
          emptyHistory.push(`CMD ${args}`);
          break;
        case "ENTRYPOINT":
          config.Entrypoint = commandForm(args, file, st.line);
          // As docker does: an ENTRYPOINT resets a Cmd inherited from the base image.
          if (!steps.some((s) => s.cmd === "CMD" && s.line > st.line)) config.Cmd = null;
          emptyHistory.push(`ENTRYPOINT ${args}`);
          break;
        case "EXPOSE": {
          const ports = { ...(config.ExposedPorts ?? {}) };
          for (const p of args.split(/\s+/).filter(Boolean)) {
            if (!/^\d+(\/(tcp|udp|sctp))?$/.test(p)) throw new BuildError(file, st.line, `"${p}" is not PORT[/PROTO]`);
            ports[p.includes("/") ? p : `${p}/tcp`] = {};
          }
          config.ExposedPorts = ports;
          emptyHistory.push(`EXPOSE ${args}`);
          break;
        }
        case "VOLUME": {
          const list = args.startsWith("[") ? commandForm(args, file, st.line) : args.split(/\s+/).filter(Boolean);
          config.Volumes = { ...(config.Volumes ?? {}), ...Object.fromEntries(list.map((v) => [v, {}])) };
          emptyHistory.push(`VOLUME ${args}`);
          break;
        }
        case "STOPSIGNAL":
          config.StopSignal = args;
          break;
        case "COPY":
        case "ADD": {
          let rest = args;
          let owner: { uid: number; gid: number } | undefined;
          for (;;) {
            const m = /^--(\w+)=(\S+)\s+/.exec(rest);
            if (!m) break;
            rest = rest.slice(m[0].length);
            if (m[1] === "chown") {
              const [u, g] = m[2].split(":");
              if (!/^\d+$/.test(u) || (g !== undefined && !/^\d+$/.test(g))) throw new BuildError(file, st.line, "--chown takes numeric UID[:GID] here");
              owner = { uid: Number(u), gid: Number(g ?? u) };
            } else if (m[1] !== "chmod") throw new BuildError(file, st.line, `${st.cmd} --${m[1]} is not supported`);
          }
          const parts = rest.startsWith("[") ? commandForm(rest, file, st.line) : rest.split(/\s+/).filter(Boolean);
          if (parts.length < 2) throw new BuildError(file, st.line, `${st.cmd} needs a source and a destination`);
          const destRaw = parts[parts.length - 1];
          const dest = posix.resolve(workdir(), destRaw);
          const srcs = parts.slice(0, -1);
          const entries: LayerEntry[] = [];
          for (const src of srcs) {
            if (/^[a-z]+:\/\//i.test(src)) throw new BuildError(file, st.line, `${st.cmd} of a URL is not supported (local files only): ${src}`);
            const abs = await inContext(src, st.line);
            const s = await lstat(abs).catch(() => {
              throw new BuildError(file, st.line, `"${src}" does not exist in the build context`);
            });
            if (s.isDirectory()) entries.push(...(await treeEntries(abs, dest, owner)));
            else if (st.cmd === "ADD" && ARCHIVE.test(abs)) entries.push(...(await archiveEntries(abs, dest)));
            else {
              const target = destRaw.endsWith("/") || srcs.length > 1 ? posix.join(dest, basename(abs)) : dest;
              entries.push(...(await treeEntries(abs, target, owner)));
            }
          }
          layers.push({ tar: await packLayer(entries), createdBy: `${st.cmd} ${args}` });
          break;
        }
        case "RUN": {
          if (!opts.run) throw new BuildError(file, st.line, "RUN needs a container runner (keel's runtime), and none was given");
          const step = { base, layers, config, lease, line: st.line, file, args: commandForm(args, file, st.line), env: [...(config.Env ?? [])] };
          layers.push({ tar: await runStep(store, opts.run, step), createdBy: `RUN ${args}` });
          break;
        }
        case "SHELL":
        case "HEALTHCHECK":
        case "ONBUILD":
        case "MAINTAINER":
          emptyHistory.push(`${st.cmd} ${args}`);
          break;
        default:
          throw new BuildError(file, st.line, `unknown instruction ${st.cmd}`);
      }
    }
    if (!fromSeen) throw new BuildError(file, 0, "no FROM instruction");
    const { manifest } = await commitImage(store, { base, layers, config, emptyHistory, lease });
    const name = opts.tag ? localBuildName(opts.tag) : undefined;
    if (name) await store.setRef(name, manifest);
    return { name, digest: manifest.digest, layers: (base?.manifest.layers.length ?? 0) + layers.length };
  });
}

/**
 * A RUN step: the image so far is committed (unnamed, held by the build's lease), mounted as a
 * container rootfs, the runner runs the command in it, and the overlay's upper directory (what
 * the command changed) becomes the step's layer.
 */
async function runStep(
  store: ContentStore,
  run: RunStepRunner,
  s: { base?: ResolvedImage; layers: NewLayer[]; config: ImageRuntimeConfig; lease: Lease; line: number; file: string; args: string[]; env: string[] },
): Promise<Buffer> {
  const { manifest } = await commitImage(store, { base: s.base, layers: s.layers, config: s.config, lease: s.lease });
  const containerId = `keel-build-${process.pid}-${randomBytes(4).toString("hex")}`;
  const root = await prepareRootfs(store, manifest.digest, containerId);
  try {
    const { exitCode } = await run({
      containerId,
      rootfs: root.rootfs,
      args: s.args,
      env: mergeEnv(s.env.some((e) => e.startsWith("PATH=")) ? [] : [DEFAULT_PATH], s.env),
      cwd: s.config.WorkingDir || "/",
      user: s.config.User || "0",
    });
    if (exitCode !== 0) throw new BuildError(s.file, s.line, `RUN ${JSON.stringify(s.args)} exited with status ${exitCode}`);
    return await packLayer(await upperDirEntries(root.upperDir));
  } finally {
    await root.cleanup();
  }
}
