// Authentication: a client certificate signed by the cluster CA (checked by TLS), or a bearer
// token from the token list. Anything else is anonymous, and anonymous requests get 401
// except for the health and version endpoints.
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { timingSafeEqual } from "node:crypto";

export interface User {
  name: string;
  groups: string[];
}

export interface TokenEntry {
  token: string;
  user: User;
}

const PUBLIC_PATHS = new Set(["/healthz", "/livez", "/readyz", "/version", "/version/"]);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || path.startsWith("/healthz/") || path.startsWith("/livez/") || path.startsWith("/readyz/");
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function authenticate(req: IncomingMessage, tokens: TokenEntry[]): User | undefined {
  const sock = req.socket as TLSSocket;
  if (sock.encrypted && sock.authorized) {
    const cert = sock.getPeerCertificate();
    if (cert && cert.subject) {
      const cn = cert.subject.CN;
      const o = cert.subject.O;
      return { name: Array.isArray(cn) ? cn[0] : String(cn ?? ""), groups: Array.isArray(o) ? o : o ? [String(o)] : [] };
    }
  }
  const h = req.headers.authorization;
  if (h && /^Bearer\s+/i.test(h)) {
    const t = h.replace(/^Bearer\s+/i, "").trim();
    for (const e of tokens) if (sameToken(e.token, t)) return e.user;
  }
  return undefined;
}
