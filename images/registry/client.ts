// A client of the OCI distribution API (/v2/) for one registry: challenge-driven auth with
// tokens cached per scope, manifests and blobs by digest (verified by the caller's store),
// monolithic blob uploads, manifest puts. Plain HTTP only for loopback or with `insecure`.
import { Readable } from "node:stream";
import { isIP } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RegistryError, InsecureRegistryError } from "../errors.js";
import { basicHeader, credentialsFor, parseChallenge, type Credentials } from "./auth.js";
import { httpRequest, type HttpRequestOptions, type HttpResponse } from "./http.js";

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

export const MAX_MANIFEST_BYTES = 4 << 20;

/** Whether a failed request is worth trying again: the network, or the registry being busy. */
export function isTransient(e: unknown): boolean {
  if (e instanceof RegistryError) return e.status === undefined || e.status === 429 || e.status >= 500;
  const code = String((e as { code?: string }).code ?? "");
  return ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ERR_STREAM_PREMATURE_CLOSE"].includes(code);
}

export interface RegistryOptions {
  /** Allow plain HTTP (and fall back to it) for a registry that is not on loopback. */
  insecure?: boolean;
  credentials?: Credentials;
  /** docker config.json files to read credentials from (default: the usual places). */
  authFiles?: string[];
  /**
   * Directories holding per-registry CA certificates, as HOST[:PORT]/*.crt (podman's and
   * docker's layout); default /etc/containers/certs.d and /etc/docker/certs.d.
   */
  certDirs?: string[];
}

export const DEFAULT_CERT_DIRS = ["/etc/containers/certs.d", "/etc/docker/certs.d"];

/** The CA certificates configured for one registry host. */
export function registryCas(host: string, dirs: string[] = DEFAULT_CERT_DIRS): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(join(d, host));
    } catch {
      continue;
    }
    for (const n of names.sort()) if (n.endsWith(".crt")) out.push(readFileSync(join(d, host, n), "utf8"));
  }
  return out;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  return h === "::1";
}

/** Where docker.io's API really is. */
function apiHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

export class RegistryClient {
  private base?: string;
  private readonly tokens = new Map<string, string>();
  private readonly credentials?: Credentials;
  private basic = false;
  private readonly extraCa: string[];

  constructor(
    readonly registry: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.credentials = opts.credentials ?? credentialsFor(registry, opts.authFiles);
    this.extraCa = registryCas(registry, opts.certDirs);
  }

  private plainHttpAllowed(): boolean {
    return this.opts.insecure === true || isLoopbackHost(this.registry);
  }

  /** https://host, or http://host when https does not answer and plain HTTP is allowed (as docker does). */
  private async baseUrl(): Promise<string> {
    if (this.base) return this.base;
    const host = apiHost(this.registry);
    try {
      const r = await httpRequest(`https://${host}/v2/`, { extraCa: this.extraCa, skipVerify: this.opts.insecure });
      r.body.resume();
      this.base = `https://${host}`;
    } catch (e) {
      const code = String((e as { code?: string }).code ?? "");
      // A TLS server whose certificate we do not trust: plain HTTP would not help, say what would.
      if (!this.opts.insecure && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code))
        throw new RegistryError(
          `https://${host}/v2/`,
          undefined,
          `the TLS certificate of registry ${this.registry} is not trusted (${code}): put its CA in /etc/containers/certs.d/${this.registry}/ca.crt, or pass --insecure`,
          code,
          { cause: e },
        );
      if (!this.plainHttpAllowed()) {
        const code = (e as { code?: string }).code ?? "";
        if (/SSL|TLS|EPROTO|ERR_SSL/i.test(code + String((e as Error).message))) throw new InsecureRegistryError(this.registry);
        throw new RegistryError(`https://${host}/v2/`, undefined, `cannot reach registry ${this.registry}: ${(e as Error).message}`, undefined, { cause: e });
      }
      this.base = `http://${host}`;
    }
    return this.base;
  }

  private async authorize(challengeHeader: string, scope: string): Promise<string | undefined> {
    const ch = parseChallenge(challengeHeader);
    if (!ch) return undefined;
    if (ch.scheme === "basic") {
      if (!this.credentials) return undefined;
      this.basic = true;
      return basicHeader(this.credentials);
    }
    if (ch.scheme !== "bearer" || !ch.params.realm) return undefined;
    const u = new URL(ch.params.realm);
    if (ch.params.service) u.searchParams.set("service", ch.params.service);
    for (const s of (ch.params.scope ? [ch.params.scope] : []).concat(scope && scope !== ch.params.scope ? [scope] : []))
      u.searchParams.append("scope", s);
    if (u.protocol === "http:" && !this.plainHttpAllowed() && !isLoopbackHost(u.host)) throw new InsecureRegistryError(u.host);
    const headers: Record<string, string> = {};
    if (this.credentials) headers.authorization = basicHeader(this.credentials);
    const r = await httpRequest(u.toString(), { headers, extraCa: this.extraCa, skipVerify: this.opts.insecure });
    const text = await r.text();
    if (r.status !== 200) throw new RegistryError(u.toString(), r.status, `token request for ${scope} refused: ${text.slice(0, 200)}`);
    const body = JSON.parse(text) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(u.toString(), r.status, "token response has no token");
    const header = `Bearer ${token}`;
    this.tokens.set(scope, header);
    return header;
  }

  /** A request to /v2/... with auth: answers a 401 challenge once, then retries. */
  async request(path: string, scope: string, opts: HttpRequestOptions & { bodyFactory?: () => Readable | Buffer } = {}): Promise<HttpResponse> {
    const url = `${await this.baseUrl()}${path}`;
    const send = (auth?: string) =>
      httpRequest(url, {
        ...opts,
        extraCa: this.extraCa, skipVerify: this.opts.insecure,
        body: opts.bodyFactory ? opts.bodyFactory() : opts.body,
        headers: { ...(opts.headers ?? {}), ...(auth ? { authorization: auth } : {}) },
      });
    const cached = this.tokens.get(scope) ?? (this.basic && this.credentials ? basicHeader(this.credentials) : undefined);
    let r = await send(cached);
    if (r.status === 401) {
      const challenge = r.headers["www-authenticate"];
      r.body.resume();
      if (!challenge) throw new RegistryError(url, 401, "unauthorized, and the registry sent no challenge");
      const auth = await this.authorize(challenge, scope);
      if (!auth) throw new RegistryError(url, 401, `unauthorized: no credentials for ${this.registry} (docker login, or an auth file)`);
      r = await send(auth);
    }
    return r;
  }

  /** Throws a RegistryError carrying the registry's own error code for a non-2xx answer. */
  async check(r: HttpResponse, what: string): Promise<HttpResponse> {
    if (r.status >= 200 && r.status < 300) return r;
    const text = await r.text().catch(() => "");
    let code: string | undefined;
    let message = text.slice(0, 300);
    try {
      const e = (JSON.parse(text) as { errors?: { code: string; message: string }[] }).errors?.[0];
      if (e) [code, message] = [e.code, `${e.code}: ${e.message}`];
    } catch {
      /* not JSON */
    }
    throw new RegistryError(r.url, r.status, `${what} failed: ${message}`, code);
  }

  async getManifest(repo: string, reference: string): Promise<{ body: Buffer; mediaType: string; digest?: string }> {
    const r = await this.check(
      await this.request(`/v2/${repo}/manifests/${reference}`, `repository:${repo}:pull`, { headers: { accept: MANIFEST_ACCEPT } }),
      `manifest ${repo}:${reference}`,
    );
    // distribution refuses manifests over 4 MiB; a larger answer is not a manifest worth holding in memory.
    if (Number(r.headers["content-length"] ?? 0) > MAX_MANIFEST_BYTES) {
      r.body.destroy();
      throw new RegistryError(r.url, r.status, `manifest ${repo}:${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    const body = await r.buffer();
    if (body.length > MAX_MANIFEST_BYTES) throw new RegistryError(r.url, r.status, `manifest ${repo}:${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const mediaType = String(r.headers["content-type"] ?? "").split(";")[0].trim();
    const digest = r.headers["docker-content-digest"] as string | undefined;
    return { body, mediaType, digest };
  }

  async getBlob(repo: string, digest: string): Promise<HttpResponse> {
    return this.check(await this.request(`/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull`), `blob ${digest}`);
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const r = await this.request(`/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull,push`, { method: "HEAD" });
    r.body.resume();
    if (r.status === 404) return false;
    await this.check(r, `blob ${digest}`);
    return true;
  }

  /** Uploads a blob monolithically (POST for a session, PUT with the digest). */
  async putBlob(repo: string, digest: string, size: number, open: () => Readable): Promise<void> {
    const scope = `repository:${repo}:pull,push`;
    const start = await this.check(await this.request(`/v2/${repo}/blobs/uploads/`, scope, { method: "POST", body: "" }), `upload of ${digest}`);
    start.body.resume();
    const loc = start.headers.location;
    if (!loc) throw new RegistryError(start.url, start.status, "upload session has no Location");
    const base = await this.baseUrl();
    const u = new URL(loc, base);
    u.searchParams.set("digest", digest);
    const r = await this.request(u.pathname + u.search, scope, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      bodyFactory: open,
    });
    (await this.check(r, `upload of ${digest}`)).body.resume();
  }

  async putManifest(repo: string, reference: string, body: Buffer, mediaType: string): Promise<string | undefined> {
    const r = await this.check(
      await this.request(`/v2/${repo}/manifests/${reference}`, `repository:${repo}:pull,push`, {
        method: "PUT",
        headers: { "content-type": mediaType },
        body,
      }),
      `manifest ${repo}:${reference}`,
    );
    r.body.resume();
    return r.headers["docker-content-digest"] as string | undefined;
  }
}
