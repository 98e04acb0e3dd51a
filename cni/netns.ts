// Network namespaces: which one is the host's (guardNodeNetns), whether one exists, whether a link
// is in one. The netlink and nftables work itself is in-process (cni/netlink.ts).
import { statSync, existsSync, readFileSync } from "node:fs";
import { HostNetnsRefusedError, NetnsNotFoundError } from "./errors.js";
import { getLink } from "./netlink.js";

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
