// Test fixtures for pod networking: network namespaces the test creates (nodes, pods, an
// underlay), TCP servers and clients inside them, and clean-up that runs also on failure.
// Nothing here touches the host's own network namespace.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const run = promisify(execFile);

let seq = 0;
/** A short unique name: netns names are free, but interface names derived from them are not. */
export function uniqueName(role: string): string {
  return `keel-${role}-${process.pid % 100000}-${seq++}`;
}

export class NetLab {
  readonly netns: string[] = [];
  readonly children: ChildProcess[] = [];
  readonly dirs: string[] = [];

  async addNetns(role: string): Promise<{ name: string; path: string }> {
    const name = uniqueName(role);
    await run("ip", ["netns", "add", name]);
    this.netns.push(name);
    await run("ip", ["-n", name, "link", "set", "lo", "up"]);
    return { name, path: `/run/netns/${name}` };
  }

  tempDir(): string {
    const d = mkdtempSync(join(tmpdir(), "keel-cni-"));
    this.dirs.push(d);
    return d;
  }

  /** Runs argv in a named netns. */
  async exec(ns: string, argv: string[]): Promise<{ stdout: string; stderr: string }> {
    return run("ip", ["netns", "exec", ns, ...argv], { timeout: 20000 });
  }

  async ping(ns: string, ip: string): Promise<boolean> {
    try {
      await this.exec(ns, ["busybox", "ping", "-c", "1", "-W", "2", ip]);
      return true;
    } catch {
      return false;
    }
  }

  /** A TCP server in ns on port: echoes what it receives, prefixed with its name. Resolves when listening. */
  async tcpServer(ns: string, port: number, name: string): Promise<void> {
    const script = `
      const net = require("node:net");
      net.createServer((s) => { s.on("data", (d) => s.end(${JSON.stringify(name + ":")} + d)); s.on("error", () => {}); })
        .listen(${port}, "0.0.0.0", () => console.log("ready"));`;
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once("data", () => resolve());
      child.once("exit", (c) => reject(new Error(`server in ${ns} exited (${c})`)));
    });
  }

  /** Connects count times from ns to ip:port, sending "hi"; returns each reply (or "ERR:<code>"). */
  async tcpRequests(ns: string, ip: string, port: number, count: number): Promise<string[]> {
    const script = `
      const net = require("node:net");
      async function one() {
        return new Promise((res) => {
          const s = net.connect({ host: ${JSON.stringify(ip)}, port: ${port}, timeout: 3000 });
          let buf = "";
          s.on("connect", () => s.write("hi"));
          s.on("data", (d) => (buf += d));
          s.on("end", () => res(buf));
          s.on("timeout", () => { s.destroy(); res("ERR:timeout"); });
          s.on("error", (e) => res("ERR:" + e.code));
        });
      }
      (async () => { const out = []; for (let i = 0; i < ${count}; i++) out.push(await one()); console.log(JSON.stringify(out)); })();`;
    const { stdout } = await this.exec(ns, [process.execPath, "-e", script]);
    return JSON.parse(stdout) as string[];
  }

  async cleanup(): Promise<void> {
    for (const c of this.children) c.kill("SIGKILL");
    await Promise.all(this.children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
    // deleting a netns removes its veths, bridges, vxlan devices and nftables tables with it
    for (const ns of this.netns.reverse()) await run("ip", ["netns", "del", ns]).catch(() => undefined);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Names of the named netns currently present that this process made (leak check in tests). */
export async function leftoverNetns(lab: NetLab): Promise<string[]> {
  const { stdout } = await run("ip", ["netns", "list"]);
  const present = stdout.split("\n").map((l) => l.split(" ")[0]!);
  return lab.netns.filter((n) => present.includes(n));
}

/** An underlay: a bridge inside its own netns, with a veth to each node netns carrying the node's address. */
export async function buildUnderlay(lab: NetLab, nodes: { name: string; path: string; ip: string }[], prefix = 24): Promise<{ name: string }> {
  const ul = await lab.addNetns("ul");
  await run("ip", ["-n", ul.name, "link", "add", "name", "keelul0", "type", "bridge"]);
  await run("ip", ["-n", ul.name, "link", "set", "keelul0", "up"]);
  for (const [i, n] of nodes.entries()) {
    await run("ip", ["-n", ul.name, "link", "add", "name", `keelul${i + 1}`, "type", "veth", "peer", "name", "ul0", "netns", n.path]);
    await run("ip", ["-n", ul.name, "link", "set", `keelul${i + 1}`, "master", "keelul0", "up"]);
    await run("ip", ["-n", n.name, "addr", "add", `${n.ip}/${prefix}`, "dev", "ul0"]);
    await run("ip", ["-n", n.name, "link", "set", "ul0", "up"]);
  }
  return ul;
}
