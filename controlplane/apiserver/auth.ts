// Authentication: a client certificate signed by the cluster CA (checked by TLS; CN is the
// user, each O a group), a bearer token from the token list, or a service account token this
// server signed. Every authenticated user is also in group system:authenticated. Anything else
// is anonymous, and anonymous requests get 401 except for the health and version endpoints.
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

export const AUTHENTICATED_GROUP = "system:authenticated";

function withAuthenticated(u: User): User {
  return u.groups.includes(AUTHENTICATED_GROUP) ? u : { name: u.name, groups: [...u.groups, AUTHENTICATED_GROUP] };
}

/** Checks a bearer token that is none of the static ones (service account JWTs). */
export type TokenAuthenticator = (token: string) => Promise<User | undefined>;

// A connection's certificate user, decoded once: getPeerCertificate parses the X.509 on every
// call, about a tenth of the server's CPU per request on a busy keep-alive connection.
const certUsers = new WeakMap<TLSSocket, User | null>();

function certificateUser(sock: TLSSocket): User | null {
  let u = certUsers.get(sock);
  if (u !== undefined) return u;
  const cert = sock.getPeerCertificate();
  u = null;
  if (cert && cert.subject) {
    const cn = cert.subject.CN;
    const o = cert.subject.O;
    u = withAuthenticated({ name: Array.isArray(cn) ? cn[0] : String(cn ?? ""), groups: Array.isArray(o) ? o : o ? [String(o)] : [] });
  }
  certUsers.set(sock, u);
  return u;
}

export async function authenticate(req: IncomingMessage, tokens: TokenEntry[], tokenAuthenticator?: TokenAuthenticator): Promise<User | undefined> {
  const sock = req.socket as TLSSocket;
  if (sock.encrypted && sock.authorized) {
    const u = certificateUser(sock);
    if (u) return u;
  }
  const h = req.headers.authorization;
  if (h && /^Bearer\s+/i.test(h)) {
    const t = h.replace(/^Bearer\s+/i, "").trim();
    for (const e of tokens) if (sameToken(e.token, t)) return withAuthenticated(e.user);
    const u = tokenAuthenticator ? await tokenAuthenticator(t) : undefined;
    if (u) return withAuthenticated(u);
  }
  return undefined;
}
