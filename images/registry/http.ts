// A small HTTP(S) client over node:http/https for the registry: streaming bodies both ways,
// redirects (Authorization dropped when the host changes, as docker does), and the system's CA
// bundle in addition to Node's own, so registries behind a company CA work like with podman.
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { Readable } from "node:stream";

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  url: string;
  body: http.IncomingMessage;
  text(): Promise<string>;
  buffer(): Promise<Buffer>;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  maxRedirects?: number;
  /** Extra CA certificates (PEM) trusted for this request's host, besides the system's. */
  extraCa?: string[];
  /** Accept any TLS certificate (the user's explicit --insecure). */
  skipVerify?: boolean;
}

let systemCa: string[] | undefined;
function caBundle(): string[] {
  if (!systemCa) {
    systemCa = [...rootCertificates];
    for (const f of ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"]) {
      try {
        systemCa.push(readFileSync(f, "utf8"));
        break;
      } catch {
        /* not this distribution's path */
      }
    }
  }
  return systemCa;
}

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 8 }), https: new Map<string, https.Agent>() };

function httpsAgent(extraCa: string[] | undefined, skipVerify = false): https.Agent {
  const key = `${skipVerify}\n${(extraCa ?? []).join("\n")}`;
  let a = agents.https.get(key);
  if (!a) {
    a = new https.Agent({ keepAlive: true, maxSockets: 8, ca: [...caBundle(), ...(extraCa ?? [])], rejectUnauthorized: !skipVerify });
    agents.https.set(key, a);
  }
  return a;
}

async function collect(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const isHttps = u.protocol === "https:";
    const headers: Record<string, string> = { "user-agent": "keel", ...(opts.headers ?? {}) };
    if (Buffer.isBuffer(opts.body) || typeof opts.body === "string") headers["content-length"] = String(Buffer.byteLength(opts.body));
    const req = (isHttps ? https : http).request(u, { method: opts.method ?? "GET", headers, agent: isHttps ? httpsAgent(opts.extraCa, opts.skipVerify) : agents.http }, (res) => {
      const status = res.statusCode ?? 0;
      const loc = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && loc && (opts.maxRedirects ?? 5) > 0 && !(opts.body instanceof Readable)) {
        res.resume();
        const next = new URL(loc, u);
        const h = { ...(opts.headers ?? {}) };
        if (next.host !== u.host) delete h.authorization;
        const method = status === 303 ? "GET" : opts.method;
        httpRequest(next.toString(), { ...opts, method, headers: h, maxRedirects: (opts.maxRedirects ?? 5) - 1 }).then(resolve, reject);
        return;
      }
      resolve({
        status,
        headers: res.headers,
        url,
        body: res,
        text: async () => (await collect(res)).toString("utf8"),
        buffer: () => collect(res),
      });
    });
    req.on("error", reject);
    if (opts.body instanceof Readable) {
      opts.body.on("error", (e) => req.destroy(e));
      opts.body.pipe(req);
    } else req.end(opts.body);
  });
}

/** Stops keep-alive sockets so a process (or a test) can exit. */
export function closeHttpAgents(): void {
  agents.http.destroy();
  for (const a of agents.https.values()) a.destroy();
  agents.https.clear();
}
