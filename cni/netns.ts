// Network namespaces: which one is the host's (guardNodeNetns), whether one exists, and running
// a command inside one. keel's own netlink and nftables work no longer goes through commands
// (cni/netlink.ts does it in-process: a fork of the Node process blocked its event loop);
// runIn/ipJson stay for anything that really needs a tool, entered with nsenter.
import { execFile } from "node:child_process";
import { statSync, existsSync, readFileSync } from "node:fs";
import { HostNetnsRefusedError, NetCommandError, NetnsNotFoundError } from "./errors.js";
import { getLink } from "./netlink.js";

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs argv in netns (a path; undefined = this process's namespace). Rejects with NetCommandError. */
export function runIn(netns: string | undefined, argv: string[], what: string, input?: string): Promise<RunResult> {
  const full = netns ? ["nsenter", `--net=${netns}`, "--", ...argv] : argv;
  return new Promise((resolve, reject) => {
    const child = execFile(full[0]!, full.slice(1), { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        // execFile's error carries the exit status as a numeric `code` (a string code when the spawn itself failed)
        const status = (err as { code?: unknown }).code;
        const code = typeof status === "number" ? status : null;
        reject(new NetCommandError(argv, code, String(stderr || err.message), what));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** `ip -j ...` in netns, parsed. */
export async function ipJson<T = unknown>(netns: string | undefined, args: string[], what: string): Promise<T> {
  const { stdout } = await runIn(netns, ["ip", "-j", ...args], what);
  return (stdout.trim() ? JSON.parse(stdout) : []) as T;
}

/** Whether the link NAME exists in netns (one netlink lookup in-process, no child). */
export async function linkExists(netns: string | undefined, name: string): Promise<boolean> {
  return (await getLink(netns, name)) !== null;
}

export function assertNetnsExists(path: string, role: "node" | "pod"): void {
  if (!existsSync(path)) throw new NetnsNotFoundError(path, role);
}

/** A namespace's identity: the nsfs inode (a /proc/PID/ns link and a bind mount of it agree). */
function nsId(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The host's network namespace: pid 1's when we may look at it, else that of our topmost
 * ancestor we may look at (a sandboxed session cannot always read pid 1's namespaces; the
 * processes that started us, e.g. the test runner before an nsenter, live in the host's).
 */
function hostNetnsId(): string | undefined {
  const init = nsId("/proc/1/ns/net");
  if (init) return init;
  let found: string | undefined;
  let pid = process.pid;
  for (let i = 0; i < 64 && pid > 1; i++) {
    const id = nsId(`/proc/${pid}/ns/net`);
    if (id) found = id;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return found;
}

/**
 * Network safety: under tests (KEEL_TEST=1) nothing may be changed in the host's own network
 * namespace. The host's is taken to be pid 1's; a node namespace that resolves to it is refused.
 */
export function guardNodeNetns(nodeNetns: string | undefined, what: string): void {
  if (process.env.KEEL_TEST !== "1" && process.env.KEEL_TEST !== "true") return;
  const host = hostNetnsId();
  const target = nsId(nodeNetns ?? "/proc/self/ns/net");
  if (host === undefined || target === undefined || host === target) throw new HostNetnsRefusedError(what);
}
