// Registry authentication: the WWW-Authenticate challenge (Bearer token or Basic), tokens fetched
// from the realm with the user's credentials when there are some (anonymous otherwise), and
// credentials read from a docker config.json (or podman's auth.json).
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="https://auth",service="registry",scope="repository:x:pull"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

/** The files a docker or podman login writes, in the order podman reads them. */
export function authFiles(): string[] {
  const files: string[] = [];
  if (process.env.REGISTRY_AUTH_FILE) files.push(process.env.REGISTRY_AUTH_FILE);
  if (process.env.XDG_RUNTIME_DIR) files.push(join(process.env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  files.push(join(process.env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json"));
  return files;
}

/** Credentials for a registry host from docker config.json-shaped files (`auths[host].auth`). */
export function credentialsFor(host: string, files: string[] = authFiles()): Credentials | undefined {
  const keys = host === "docker.io" ? ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"] : [host, `https://${host}`, `http://${host}`];
  for (const f of files) {
    let cfg: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
    try {
      cfg = JSON.parse(readFileSync(f, "utf8"));
    } catch {
      continue;
    }
    for (const k of keys) {
      const a = cfg.auths?.[k] ?? cfg.auths?.[`${k}/`];
      if (!a) continue;
      if (a.username && a.password) return { username: a.username, password: a.password };
      if (a.auth) {
        const s = Buffer.from(a.auth, "base64").toString("utf8");
        const i = s.indexOf(":");
        if (i > 0) return { username: s.slice(0, i), password: s.slice(i + 1) };
      }
    }
  }
  return undefined;
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}
