// The runtime side of the CNI exec protocol (what libcni does): find a plugin executable on the
// CNI path, run it with CNI_* in its environment and the network config on stdin, parse its JSON
// result or error. With nodeNetns the plugin runs inside that namespace (nsenter), since a
// plugin treats the namespace it runs in as the host's.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { CniError, CNI_CODES } from "../errors.js";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "GC" | "STATUS";

export interface InvokeOptions {
  command: CniCommand;
  /** Plugin type, e.g. "bridge" or "keel-bridge". */
  type: string;
  /** Directories searched for the plugin (CNI_PATH). */
  binDirs: string[];
  containerId?: string;
  netns?: string;
  ifName?: string;
  /** CNI_ARGS, e.g. K8S_POD_NAME=web;K8S_POD_NAMESPACE=default */
  args?: Record<string, string>;
  /** The plugin's network config (with name, cniVersion, and prevResult when chained). */
  config: Record<string, unknown>;
  /** Run the plugin inside this network namespace (path). */
  nodeNetns?: string;
  /** Extra environment (the IPAM delegation passes its own through). */
  env?: NodeJS.ProcessEnv;
}

/** A plugin answered with a CNI error result (or died without one). */
export class CniPluginError extends CniError {
  override name = "CniPluginError";
  constructor(readonly plugin: string, readonly command: CniCommand, code: number, msg: string, details?: string) {
    super(`CNI plugin ${plugin} ${command}: ${msg}${details ? ` (${details})` : ""}`, code, details);
  }
}

export function findPlugin(type: string, binDirs: string[]): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new CniError(`plugin type ${JSON.stringify(type)} is not a plain name`, CNI_CODES.invalidConfig);
  for (const d of binDirs) {
    const p = join(d, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next directory
    }
  }
  throw new CniError(`CNI plugin ${JSON.stringify(type)} not found in ${binDirs.join(":")}`, CNI_CODES.invalidConfig);
}

export async function invokePlugin(o: InvokeOptions): Promise<Record<string, unknown> | undefined> {
  const bin = findPlugin(o.type, o.binDirs);
  const env: NodeJS.ProcessEnv = {
    ...(o.env ?? process.env),
    CNI_COMMAND: o.command,
    CNI_PATH: o.binDirs.join(":"),
    CNI_CONTAINERID: o.containerId ?? "",
    CNI_NETNS: o.netns ?? "",
    CNI_IFNAME: o.ifName ?? "",
    CNI_ARGS: Object.entries(o.args ?? {}).map(([k, v]) => `${k}=${v}`).join(";"),
  };
  const argv = o.nodeNetns ? ["nsenter", `--net=${o.nodeNetns}`, "--", bin] : [bin];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
    child.stdin.end(JSON.stringify(o.config));
  });
  let parsed: Record<string, unknown> | undefined;
  if (stdout.trim()) {
    try {
      parsed = JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      throw new CniPluginError(o.type, o.command, CNI_CODES.decodeFailure, `unparsable output: ${stdout.slice(0, 200)}`, stderr.trim() || undefined);
    }
  }
  if (code !== 0) {
    const e = parsed as { code?: number; msg?: string; details?: string } | undefined;
    throw new CniPluginError(o.type, o.command, e?.code ?? CNI_CODES.ioFailure, e?.msg ?? `exited ${code}`, e?.details ?? (stderr.trim() || undefined));
  }
  return parsed;
}
