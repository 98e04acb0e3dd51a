// Listening sockets inside a network namespace keel made, served by this process (which stays in
// the host's namespace): a short-lived helper entered into the namespace with nsenter opens them
// and passes them back over Node's IPC channel. This is how the cluster's DNS answers on every
// node's address and the API server on the underlay without anything added to the host's network.
import { spawn } from "node:child_process";
import type { Socket as UdpSocket } from "node:dgram";
import type { Server } from "node:net";
import { packagePath } from "../lib/package-root.js";

export class NetnsListenError extends Error {
  override name = "NetnsListenError";
  constructor(readonly netns: string, readonly what: string, reason: string, readonly code?: string) {
    super(`cannot listen on ${what} in network namespace ${netns}: ${reason}`);
  }
}

export interface ListenWant { proto: "tcp" | "udp"; host: string; port: number }
export type ListenHandle = { proto: "tcp"; server: Server } | { proto: "udp"; socket: UdpSocket };

/** Opens the sockets in the namespace at `netnsPath`; all or none (an error closes those received). */
export function listenInNetns(netnsPath: string, wants: ListenWant[]): Promise<ListenHandle[]> {
  const what = wants.map((w) => `${w.proto} ${w.host}:${w.port}`).join(", ");
  const helper = packagePath("dist", "cluster", "netns-listen-helper.js");
  const child = spawn("nsenter", [`--net=${netnsPath}`, process.execPath, helper, JSON.stringify(wants)], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  child.stderr!.on("data", (d) => { stderr += String(d); });
  const got: ListenHandle[] = [];
  const closeAll = () => { for (const h of got) h.proto === "tcp" ? h.server.close() : h.socket.close(); };
  return new Promise<ListenHandle[]>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string, code?: string) => {
      if (settled) return;
      settled = true;
      closeAll();
      child.kill();
      reject(new NetnsListenError(netnsPath, what, reason, code));
    };
    child.on("message", (m: { i?: number; error?: string; code?: string }, handle: unknown) => {
      if (m.error) return fail(m.error, m.code);
      const w = wants[m.i!]!;
      got[m.i!] = w.proto === "tcp" ? { proto: "tcp", server: handle as Server } : { proto: "udp", socket: handle as UdpSocket };
      if (got.filter(Boolean).length === wants.length && !settled) {
        settled = true;
        child.send("done");
        resolve(got);
      }
    });
    child.once("error", (e) => fail(e.message));
    child.once("exit", (code) => fail(`helper exited with ${code}${stderr ? `: ${stderr.trim()}` : ""}`));
  });
}
