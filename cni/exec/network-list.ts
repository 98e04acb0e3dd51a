// CNI network configuration lists and running them the way a container runtime does (libcni):
// the first config file in a directory (lexical order: *.conflist, or a single-plugin *.conf /
// *.json), ADD through the plugins in order passing each one's result on as prevResult, DEL in
// reverse order with the cached result, CHECK in order. CniNetwork gives this the same face as
// PodNetwork, so the kubelet can use either keel's in-process path or any CNI plugins.
import { readdir, readFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/atomic-file.js";
import { invokePlugin, type CniCommand } from "./invoke.js";
import { CniError, CNI_CODES, InvalidNetworkConfigError } from "../errors.js";
import type { PodAttachment, PodAttachResult } from "../types.js";

export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: (Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> })[];
  /** The file it came from. */
  source?: string;
}

export function parseNetworkConfig(text: string, source: string): NetworkConfigList {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidNetworkConfigError(source, `not JSON: ${(e as Error).message}`);
  }
  const list = (Array.isArray(raw.plugins) ? raw : { cniVersion: raw.cniVersion, name: raw.name, plugins: [raw] }) as unknown as NetworkConfigList;
  if (typeof list.name !== "string" || !list.name) throw new InvalidNetworkConfigError(`${source}: name`, "missing");
  if (typeof list.cniVersion !== "string") throw new InvalidNetworkConfigError(`${source}: cniVersion`, "missing");
  list.plugins.forEach((p, i) => {
    if (typeof p.type !== "string" || !p.type) throw new InvalidNetworkConfigError(`${source}: plugins[${i}].type`, "missing");
  });
  return { ...list, source };
}

export async function loadNetworkList(confDir: string): Promise<NetworkConfigList> {
  let names: string[];
  try {
    names = (await readdir(confDir)).filter((n) => /\.(conflist|conf|json)$/.test(n)).sort();
  } catch (e) {
    throw new CniError(`cannot read CNI config directory ${confDir}: ${(e as Error).message}`, CNI_CODES.ioFailure);
  }
  if (names.length === 0) throw new CniError(`no CNI network config in ${confDir}`, CNI_CODES.invalidConfig);
  const path = join(confDir, names[0]!);
  return parseNetworkConfig(await readFile(path, "utf8"), path);
}

export interface CniNetworkOptions {
  list: NetworkConfigList;
  /** CNI_PATH */
  binDirs: string[];
  /** The node's namespace: plugins run inside it (default: this process's). */
  nodeNetns?: string;
  /** Where results are cached for DEL and CHECK; default /var/lib/keel/cni/results-exec. */
  cacheDir?: string;
}

type Result = { cniVersion: string; interfaces?: { name: string; mac?: string; sandbox?: string }[]; ips?: { address: string; gateway?: string; interface?: number }[] };

export class CniNetwork {
  private readonly cacheDir: string;
  constructor(readonly o: CniNetworkOptions) {
    this.cacheDir = o.cacheDir ?? "/var/lib/keel/cni/results-exec";
  }

  async add(p: PodAttachment): Promise<PodAttachResult> {
    let prev: Result | undefined;
    for (const plugin of this.o.list.plugins) {
      prev = ((await this.invoke("ADD", plugin, p, prev)) as Result | undefined) ?? prev;
    }
    if (!prev) throw new CniError(`network ${this.o.list.name}: the plugins returned no result`, CNI_CODES.ioFailure);
    await mkdir(this.cacheDir, { recursive: true });
    await writeFileAtomic(this.cachePath(p), JSON.stringify(prev));
    const ip = prev.ips?.find((i) => !i.address.includes(":"));
    if (!ip) throw new CniError(`network ${this.o.list.name}: no IPv4 address in the result`, CNI_CODES.ioFailure);
    const [addr, len] = ip.address.split("/");
    const ifc = ip.interface !== undefined ? prev.interfaces?.[ip.interface] : undefined;
    return {
      ip: addr!,
      prefixLength: Number(len),
      gateway: ip.gateway ?? "",
      mac: ifc?.mac ?? "",
      interfaces: (prev.interfaces ?? []).map((i) => ({ name: i.name, mac: i.mac ?? "", ...(i.sandbox ? { sandbox: i.sandbox } : {}) })),
    };
  }

  async del(p: PodAttachment): Promise<void> {
    const prev = await this.cached(p);
    for (const plugin of [...this.o.list.plugins].reverse()) await this.invoke("DEL", plugin, p, prev);
    await rm(this.cachePath(p), { force: true });
  }

  async check(p: PodAttachment): Promise<void> {
    const prev = await this.cached(p);
    if (!prev) throw new CniError(`network ${this.o.list.name}: no cached result for ${p.containerId}`, CNI_CODES.unknownContainer);
    for (const plugin of this.o.list.plugins) await this.invoke("CHECK", plugin, p, prev);
  }

  private async invoke(command: CniCommand, plugin: NetworkConfigList["plugins"][number], p: PodAttachment, prev: Result | undefined): Promise<unknown> {
    const config: Record<string, unknown> = { ...plugin, cniVersion: this.o.list.cniVersion, name: this.o.list.name };
    delete config.capabilities;
    if (prev) config.prevResult = prev;
    if (plugin.capabilities?.portMappings && p.portMappings?.length) config.runtimeConfig = { portMappings: p.portMappings };
    const args: Record<string, string> = { IgnoreUnknown: "1" };
    if (p.podName) args.K8S_POD_NAME = p.podName;
    if (p.podNamespace) args.K8S_POD_NAMESPACE = p.podNamespace;
    return invokePlugin({ command, type: plugin.type, binDirs: this.o.binDirs, containerId: p.containerId, netns: p.netns, ifName: p.ifName ?? "eth0", args, config, nodeNetns: this.o.nodeNetns });
  }

  private cachePath(p: PodAttachment): string {
    return join(this.cacheDir, `${this.o.list.name}-${p.containerId}-${p.ifName ?? "eth0"}.json`);
  }

  private async cached(p: PodAttachment): Promise<Result | undefined> {
    try {
      return JSON.parse(await readFile(this.cachePath(p), "utf8")) as Result;
    } catch {
      return undefined;
    }
  }
}
