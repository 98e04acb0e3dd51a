// A TCP socket that connects from inside a pod's network namespace: the addon creates it there
// (a socket keeps the namespace it was made in), so this process reaches the pod's own 127.0.0.1
// and an address that only its node's namespace routes to, with no helper process. Without a
// namespace (a host-network pod) it is an ordinary socket. Probes and port-forward use it.
import { isIPv6, Socket } from "node:net";
import { native } from "../native/index.js";

const AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1;

/** An unconnected socket for host, in netns (a path) or in this process's namespace; connect it yourself. */
export function podSocket(netns: string | undefined, host: string): Socket {
  return netns ? new Socket({ fd: native.socketIn(netns, isIPv6(host) ? AF_INET6 : AF_INET, SOCK_STREAM), readable: true, writable: true }) : new Socket();
}
