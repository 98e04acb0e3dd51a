// Joining a node from another machine, kubeadm's way: a bootstrap token (`abcdef.0123456789abcdef`)
// and the hash of the cluster CA's public key. The cluster serves, next to its API server on the
// underlay, a small HTTPS bootstrap endpoint:
//   GET  /cluster-info   the API server's address and the CA certificate, signed with the token
//                        (HMAC-SHA256 keyed by the token's secret, kubeadm's JWS in spirit); read
//                        before the joiner trusts anything, so it checks the CA against its
//                        --ca-cert-hash pin and the signature against its token
//   POST /join           with `Authorization: Bearer TOKEN`, over TLS verified with that CA: the
//                        node's kubeconfig (a client certificate CN=system:node:NAME, O=system:nodes)
import { createHmac, createHash, randomBytes, timingSafeEqual, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Node } from "../api/index.js";
import { writeNodeKubeconfig } from "../controlplane/apiserver/pki.js";
import { KubeClient, R, isNotFound } from "../controlplane/kit/index.js";
import { writeFileAtomicSync } from "../lib/atomic-file.js";
import { ClusterError } from "./errors.js";

const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export class BootstrapTokenError extends ClusterError {
  override name = "BootstrapTokenError";
  constructor(readonly token: string) {
    super(`bootstrap token ${JSON.stringify(token.replace(/\..*/, ".…"))} is malformed: expected [a-z0-9]{6}.[a-z0-9]{16}, as \`keel cluster up\` prints it`);
  }
}

export function parseToken(token: string): { id: string; secret: string } {
  const m = TOKEN_RE.exec(token);
  if (!m) throw new BootstrapTokenError(token);
  return { id: m[1]!, secret: m[2]! };
}

export function newToken(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const pick = (n: number) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join("");
  return `${pick(6)}.${pick(16)}`;
}

/** The cluster's bootstrap token, made once and kept in DATA_DIR/bootstrap-token (0600). */
export function ensureToken(dataDir: string): string {
  const f = join(dataDir, "bootstrap-token");
  if (existsSync(f)) {
    const t = readFileSync(f, "utf8").trim();
    parseToken(t);
    return t;
  }
  const t = newToken();
  writeFileAtomicSync(f, t + "\n", 0o600);
  return t;
}

/** kubeadm's --discovery-token-ca-cert-hash: sha256 of the CA's SubjectPublicKeyInfo, hex. */
export function caCertHash(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

export interface ClusterInfo { server: string; caCertPem: string }

export function signClusterInfo(info: ClusterInfo, token: string): string {
  const { secret } = parseToken(token);
  return createHmac("sha256", secret).update(`${info.server}\n${info.caCertPem}`).digest("hex");
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface JoinResponse {
  kubeconfig: string;
  clusterDNS: string[];
  clusterDomain: string;
}

export interface BootstrapServerOptions {
  dataDir: string;
  token: string;
  /** The API server as joined nodes reach it (https://UNDERLAY:PORT). */
  server: string;
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  client: KubeClient;
  clusterDNS: string[];
  clusterDomain: string;
  log: (m: string) => void;
}

/** The HTTPS bootstrap endpoint; feed it connections with `server.emit("connection", socket)`. */
export function bootstrapServer(o: BootstrapServerOptions): HttpsServer {
  const { id } = parseToken(o.token);
  const info: ClusterInfo = { server: o.server, caCertPem: o.caCertPem };
  const send = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "https://bootstrap");
    if (req.method === "GET" && url.pathname === "/cluster-info") {
      return send(res, 200, { ...info, signatures: { [id]: signClusterInfo(info, o.token) } });
    }
    if (req.method === "POST" && url.pathname === "/join") {
      const auth = req.headers.authorization ?? "";
      if (!sameSecret(auth, `Bearer ${o.token}`)) return send(res, 401, { message: "invalid bootstrap token" });
      let body = "";
      for await (const chunk of req) { body += String(chunk); if (body.length > 10_000) return send(res, 413, { message: "request too large" }); }
      const nodeName = (JSON.parse(body || "{}") as { nodeName?: string }).nodeName ?? "";
      // kubeadm refuses a name a Ready node already has.
      try {
        const n = await o.client.get<Node>(R.nodes, undefined, nodeName);
        if (n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) return send(res, 409, { message: `a Ready node named ${nodeName} is already in the cluster` });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      const tmp = join(o.dataDir, `.join-${randomBytes(6).toString("hex")}.kubeconfig`);
      try {
        await writeNodeKubeconfig(o.dataDir, nodeName, tmp, o.server);
        const kubeconfig = readFileSync(tmp, "utf8");
        o.log(`keel cluster: node ${nodeName} joined (bootstrap token ${id})`);
        return send(res, 201, { kubeconfig, clusterDNS: o.clusterDNS, clusterDomain: o.clusterDomain } satisfies JoinResponse);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    send(res, 404, { message: `no ${req.method} ${url.pathname} here (GET /cluster-info, POST /join)` });
  };
  return createHttpsServer({ key: o.serverKeyPem, cert: o.serverCertPem }, (req, res) => {
    handle(req, res).catch((e: Error) => send(res, e.name === "NodeNameError" ? 400 : 500, { message: e.message }));
  });
}
