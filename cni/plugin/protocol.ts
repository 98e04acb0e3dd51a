// The plugin side of the CNI exec protocol: the environment and stdin a runtime hands a plugin,
// and the results and errors it must print (CNI spec 1.x, SPEC.md "Execution Protocol").
import { CniError, CNI_CODES } from "../errors.js";
import type { CniCommand } from "../exec/invoke.js";

export const SUPPORTED_VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];

export interface PluginRequest {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  args: Record<string, string>;
  binDirs: string[];
  config: Record<string, unknown> & { cniVersion?: string; name?: string; type?: string };
}

export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number; version?: string }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
}

export function parseRequest(env: NodeJS.ProcessEnv, stdin: string): PluginRequest {
  const command = env.CNI_COMMAND as CniCommand | undefined;
  if (!command || !["ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS"].includes(command)) {
    throw new CniError(`CNI_COMMAND ${JSON.stringify(command ?? "")} is not one of ADD, DEL, CHECK, VERSION, GC, STATUS`, CNI_CODES.invalidEnv);
  }
  let config: PluginRequest["config"] = {};
  if (stdin.trim()) {
    try {
      config = JSON.parse(stdin) as PluginRequest["config"];
    } catch (e) {
      throw new CniError(`network config on stdin is not JSON: ${(e as Error).message}`, CNI_CODES.decodeFailure);
    }
  } else if (command !== "VERSION") {
    throw new CniError("no network config on stdin", CNI_CODES.decodeFailure);
  }
  const req: PluginRequest = {
    command,
    containerId: env.CNI_CONTAINERID ?? "",
    netns: env.CNI_NETNS ?? "",
    ifName: env.CNI_IFNAME ?? "",
    args: Object.fromEntries(
      (env.CNI_ARGS ?? "")
        .split(";")
        .filter((kv) => kv.includes("="))
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    ),
    binDirs: (env.CNI_PATH ?? "").split(":").filter(Boolean),
    config,
  };
  const need: [keyof PluginRequest, string][] =
    command === "ADD" || command === "CHECK" ? [["containerId", "CNI_CONTAINERID"], ["netns", "CNI_NETNS"], ["ifName", "CNI_IFNAME"]]
    : command === "DEL" ? [["containerId", "CNI_CONTAINERID"], ["ifName", "CNI_IFNAME"]]
    : [];
  for (const [k, name] of need) if (!req[k]) throw new CniError(`${name} is required for ${command}`, CNI_CODES.invalidEnv);
  if (command !== "VERSION") {
    const v = config.cniVersion;
    if (typeof v !== "string" || !SUPPORTED_VERSIONS.includes(v)) {
      throw new CniError(`cniVersion ${JSON.stringify(v)} is not supported (supported: ${SUPPORTED_VERSIONS.join(", ")})`, CNI_CODES.incompatibleVersion);
    }
    if (typeof config.name !== "string" || !config.name) throw new CniError("network config has no name", CNI_CODES.invalidConfig);
  }
  return req;
}

/** Runs a plugin's handler and prints its result or error as the spec says; returns the exit code. */
export async function runPlugin(handler: (req: PluginRequest) => Promise<CniResult | Record<string, unknown> | undefined>, env = process.env, stdin?: string): Promise<number> {
  const input = stdin ?? (await readStdin());
  let version = "1.0.0";
  try {
    const req = parseRequest(env, input);
    if (typeof req.config.cniVersion === "string") version = req.config.cniVersion;
    if (req.command === "VERSION") {
      process.stdout.write(JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS }) + "\n");
      return 0;
    }
    const out = await handler(req);
    if (out !== undefined) process.stdout.write(JSON.stringify(out) + "\n");
    return 0;
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError((e as Error)?.message ?? String(e), 999);
    process.stdout.write(JSON.stringify(err.toCniResult(version)) + "\n");
    return 1;
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return "";
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** For CNI versions before 1.0, each IP carries "version". */
export function shapeResult(r: CniResult): CniResult {
  if (r.cniVersion.startsWith("0.")) return { ...r, ips: r.ips?.map((i) => ({ ...i, version: "4" })) };
  return r;
}
