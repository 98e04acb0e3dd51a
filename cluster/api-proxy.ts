// The API server as seen from the underlay: a listener in the underlay namespace (opened there by
// netns-listen.ts) whose connections are piped, still encrypted, to the API server on the host's
// loopback. TLS and client certificates pass through untouched, so the API server authenticates
// a joined node exactly as a local client.
import { connect, type Server, type Socket } from "node:net";

/** Pipes the server's connections to HOST:PORT; close() stops listening and cuts open connections. */
export function proxyTo(server: Server, host: string, port: number): { close(): void } {
  const open = new Set<Socket>();
  server.on("connection", (inbound) => {
    const outbound = connect({ host, port });
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.once("close", () => open.delete(s));
      s.on("error", () => { inbound.destroy(); outbound.destroy(); });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  return {
    close() {
      server.close();
      for (const s of open) s.destroy();
    },
  };
}
