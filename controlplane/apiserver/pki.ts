// The cluster's PKI, created in the data directory at first start and reused after:
// a CA, the API server's serving certificate, an admin client certificate (O=system:masters),
// an admin bearer token, and the key that signs service account tokens (sa.key). Private keys
// are written with mode 0600. Client certificates for other identities (a node's
// CN=system:node:NAME, O=system:nodes) are issued from the same CA on demand.
import "reflect-metadata"; // @peculiar/x509 needs the Reflect metadata polyfill loaded first
import * as x509 from "@peculiar/x509";
import { webcrypto, randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { isIP } from "node:net";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

export class PkiError extends Error {
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`cluster PKI at ${path}: ${reason}`, options);
    this.name = "PkiError";
  }
}

export interface ClusterPki {
  dir: string;
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  adminToken: string;
  /** PKCS#8 PEM of the ECDSA P-256 key that signs service account tokens. */
  serviceAccountKeyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function derOf(pemText: string): Buffer {
  return Buffer.from(pemText.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

const serial = () => randomBytes(16).toString("hex").replace(/^[89a-f]/, "1");

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
}

async function keyPem(k: CryptoKey): Promise<string> {
  return pem("PRIVATE KEY", (await webcrypto.subtle.exportKey("pkcs8", k as unknown as webcrypto.CryptoKey)) as ArrayBuffer);
}

async function issue(ca: { cert: x509.X509Certificate; key: CryptoKey }, subject: string, usage: "server" | "client", sans: string[]): Promise<{ cert: string; key: string }> {
  const keys = await newKeys();
  const now = Date.now();
  const ext: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  if (sans.length) ext.push(new x509.SubjectAlternativeNameExtension(sans.map((s) => (isIP(s) ? { type: "ip" as const, value: s } : { type: "dns" as const, value: s }))));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject, issuer: ca.cert.subject, notBefore: new Date(now - 60_000), notAfter: new Date(now + YEAR_MS),
    signingAlgorithm: ALG, publicKey: keys.publicKey, signingKey: ca.key, extensions: ext,
  });
  return { cert: cert.toString("pem") + "\n", key: await keyPem(keys.privateKey) };
}

/** An X.509 subject with one CN and one O per group (kube reads groups from O). */
function subjectName(cn: string, groups: string[]): string {
  // Commas, pluses and the like are escaped as RFC 4514 says; "system:node:x" needs none.
  const esc = (v: string) => v.replace(/([,+"\\<>;=])/g, "\\$1");
  return [`CN=${esc(cn)}`, ...groups.map((g) => `O=${esc(g)}`)].join(", ");
}

async function loadCa(dir: string): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const p = (f: string) => join(dir, f);
  if (!existsSync(p("ca.crt")) || !existsSync(p("ca.key"))) throw new PkiError(dir, "no cluster CA here (ca.crt, ca.key): start the API server with this data directory first");
  return {
    cert: new x509.X509Certificate(readFileSync(p("ca.crt"), "utf8")),
    key: (await webcrypto.subtle.importKey("pkcs8", derOf(readFileSync(p("ca.key"), "utf8")), ALG, true, ["sign"])) as unknown as CryptoKey,
  };
}

/** A client certificate from the cluster CA for user `cn` in `groups` (valid one year). */
export async function issueClientCertificate(dataDir: string, cn: string, groups: string[] = []): Promise<{ certPem: string; keyPem: string; caCertPem: string }> {
  const dir = join(dataDir, "pki");
  const ca = await loadCa(dir);
  const c = await issue(ca, subjectName(cn, groups), "client", []);
  return { certPem: c.cert, keyPem: c.key, caCertPem: readFileSync(join(dir, "ca.crt"), "utf8") };
}

export class NodeNameError extends Error {
  constructor(readonly nodeName: string) {
    super(`invalid node name ${JSON.stringify(nodeName)}: must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')`);
    this.name = "NodeNameError";
  }
}

/**
 * Writes a kubeconfig for the kubelet of `nodeName`: a client certificate CN=system:node:NAME,
 * O=system:nodes, which the node authorizer lets touch only that node's objects. `server`
 * defaults to the one in DIR/admin.kubeconfig. Returns the path written (mode 0600).
 */
export async function writeNodeKubeconfig(dataDir: string, nodeName: string, outPath: string, server?: string): Promise<string> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(nodeName) || nodeName.length > 253) throw new NodeNameError(nodeName);
  const url = server ?? serverOfKubeconfig(join(dataDir, "admin.kubeconfig"));
  const c = await issueClientCertificate(dataDir, `system:node:${nodeName}`, ["system:nodes"]);
  writeKubeconfig(outPath, kubeconfigYaml({ server: url, caCertPem: c.caCertPem, clientCertPem: c.certPem, clientKeyPem: c.keyPem, user: `system:node:${nodeName}` }));
  return outPath;
}

function serverOfKubeconfig(path: string): string {
  if (!existsSync(path)) throw new PkiError(path, "no admin kubeconfig to take the server address from: pass the server URL");
  const m = /^\s*server:\s*(\S+)\s*$/m.exec(readFileSync(path, "utf8"));
  if (!m) throw new PkiError(path, "no server address in the kubeconfig");
  return m[1];
}

/** Loads the PKI from `dataDir/pki`, creating whatever is missing. */
export async function ensurePki(dataDir: string, extraSans: string[] = []): Promise<ClusterPki> {
  const dir = join(dataDir, "pki");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);
  try {
    let caCert: x509.X509Certificate;
    let caKey: CryptoKey;
    if (existsSync(p("ca.crt")) && existsSync(p("ca.key"))) {
      caCert = new x509.X509Certificate(readFileSync(p("ca.crt"), "utf8"));
      caKey = (await webcrypto.subtle.importKey("pkcs8", derOf(readFileSync(p("ca.key"), "utf8")), ALG, true, ["sign"])) as unknown as CryptoKey;
    } else {
      const keys = await newKeys();
      const now = Date.now();
      caCert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(), name: "CN=keel-ca", notBefore: new Date(now - 60_000), notAfter: new Date(now + 10 * YEAR_MS), signingAlgorithm: ALG, keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      caKey = keys.privateKey;
      writeSecret(p("ca.key"), await keyPem(caKey));
      writeFileSync(p("ca.crt"), caCert.toString("pem") + "\n");
    }
    const ca = { cert: caCert, key: caKey };
    const sans = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", hostname(), "127.0.0.1", "::1", "10.96.0.1", ...extraSans];
    // Re-issue the serving certificate when a new address must be covered, keeping the ones an
    // earlier start added. IPs compare in one spelling: Node prints ::1 as 0:0:0:0:0:0:0:1.
    const canonical = (s: string) => (isIP(s) === 6 ? new URL(`http://[${s}]`).hostname.slice(1, -1) : s);
    let needServer = !existsSync(p("apiserver.crt")) || !existsSync(p("apiserver.key"));
    let kept: string[] = [];
    if (!needServer) {
      const cur = new X509Certificate(readFileSync(p("apiserver.crt")));
      kept = (cur.subjectAltName ?? "").split(/,\s*/).map((e) => e.replace(/^(DNS|IP Address):/, "")).filter(Boolean).map(canonical);
      needServer = sans.some((s) => !kept.includes(canonical(s)));
    }
    if (needServer) {
      const s = await issue(ca, "CN=kube-apiserver", "server", [...new Set([...kept, ...sans.map(canonical)])]);
      writeFileSync(p("apiserver.crt"), s.cert);
      writeSecret(p("apiserver.key"), s.key);
    }
    // An admin certificate without O=system:masters would be refused by the authorizer: re-issue it.
    const adminIsMaster = () => new X509Certificate(readFileSync(p("admin.crt"))).subject.split("\n").includes("O=system:masters");
    if (!existsSync(p("admin.crt")) || !existsSync(p("admin.key")) || !adminIsMaster()) {
      const a = await issue(ca, subjectName("admin", ["system:masters"]), "client", []);
      writeFileSync(p("admin.crt"), a.cert);
      writeSecret(p("admin.key"), a.key);
    }
    if (!existsSync(p("sa.key"))) writeSecret(p("sa.key"), await keyPem((await newKeys()).privateKey));
    if (!existsSync(p("admin.token"))) writeSecret(p("admin.token"), randomBytes(32).toString("base64url") + "\n");
    return {
      dir,
      caCertPem: readFileSync(p("ca.crt"), "utf8"),
      serverCertPem: readFileSync(p("apiserver.crt"), "utf8"),
      serverKeyPem: readFileSync(p("apiserver.key"), "utf8"),
      adminCertPem: readFileSync(p("admin.crt"), "utf8"),
      adminKeyPem: readFileSync(p("admin.key"), "utf8"),
      adminToken: readFileSync(p("admin.token"), "utf8").trim(),
      serviceAccountKeyPem: readFileSync(p("sa.key"), "utf8"),
    };
  } catch (err) {
    if (err instanceof PkiError) throw err;
    throw new PkiError(dir, (err as Error).message, { cause: err });
  }
}

/** A kubeconfig that kubectl uses as it is: the CA, the server URL, the admin certificate. */
export function kubeconfigYaml(opts: { server: string; caCertPem?: string; clientCertPem?: string; clientKeyPem?: string; token?: string; user?: string }): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const user = opts.user ?? "admin";
  const cluster = ["    server: " + opts.server, ...(opts.caCertPem ? ["    certificate-authority-data: " + b64(opts.caCertPem)] : [])];
  const creds = [
    ...(opts.clientCertPem ? ["    client-certificate-data: " + b64(opts.clientCertPem)] : []),
    ...(opts.clientKeyPem ? ["    client-key-data: " + b64(opts.clientKeyPem)] : []),
    ...(opts.token ? ["    token: " + opts.token] : []),
  ];
  return [
    "apiVersion: v1", "kind: Config", "clusters:", "- name: keel", "  cluster:", ...cluster,
    "users:", `- name: ${user}`, "  user:", ...(creds.length ? creds : ["    {}"]),
    "contexts:", "- name: keel", "  context:", "    cluster: keel", `    user: ${user}`, "    namespace: default",
    "current-context: keel", "preferences: {}", "",
  ].join("\n");
}

export function writeKubeconfig(path: string, yaml: string): void {
  writeSecret(path, yaml);
}
