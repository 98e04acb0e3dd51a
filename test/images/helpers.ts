// Test helpers for the image store: temporary stores, tar layers built in memory, and a real
// registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 with an optional token
// server that signs JWTs the way docker's auth services do.
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import tarStream from "tar-stream";
import { ContentStore } from "../../images/content-store.js";

export async function tempDir(prefix = "keel-img-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function tempStore(): Promise<{ store: ContentStore; root: string; cleanup: () => Promise<void> }> {
  const root = await tempDir();
  const store = await ContentStore.open(join(root, "store"));
  return { store, root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export type RawEntry = Partial<tarStream.Header> & { name: string; data?: Buffer | string };

/** A tar built from raw headers: hostile ones included (tar-stream writes what it is given). */
export async function rawTar(entries: RawEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((res, rej) => {
    pack.on("end", () => res());
    pack.on("error", rej);
  });
  for (const e of entries) {
    const { data, ...h } = e;
    const header = { mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, ...h };
    if (data === undefined) pack.entry(header);
    else pack.entry(header, Buffer.from(data));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface TestRegistry {
  host: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface TokenServer {
  url: string;
  certFile: string;
  /** Token requests seen (with their Authorization header). */
  requests: { scope: string[]; authorization?: string }[];
  stop(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

/** A token server (like docker's auth service): checks Basic credentials when `users` is given, signs RS256 JWTs with an x5c header. */
export async function startTokenServer(dir: string, users?: Record<string, string>): Promise<TokenServer> {
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=keel-test-token"], { stdio: "ignore" });
  const key = await readFile(keyFile, "utf8");
  const der = new X509Certificate(await readFile(certFile)).raw;
  const requests: TokenServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const scopes = u.searchParams.getAll("scope");
    requests.push({ scope: scopes, authorization: req.headers.authorization });
    if (users) {
      const auth = req.headers.authorization ?? "";
      const [user, pass] = Buffer.from(auth.replace(/^Basic /, ""), "base64").toString().split(":");
      if (!auth.startsWith("Basic ") || users[user] !== pass) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
        return;
      }
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(":");
      const actions = rest.pop()!.split(",");
      return { type, name: rest.join(":"), actions };
    });
    const header = { alg: "RS256", typ: "JWT", x5c: [der.toString("base64")] };
    const claims = { iss: "keel-test-issuer", sub: "keel", aud: "keel-test-registry", exp: now + 600, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign("RSA-SHA256").update(input).sign(key);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: `${input}.${b64url(sig)}`, expires_in: 600 }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/token`,
    certFile,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Starts docker-registry on 127.0.0.1 (a free port of its choosing) from a config in `dir`. */
export async function startRegistry(dir: string, token?: TokenServer, tls?: { cert: string; key: string }): Promise<TestRegistry> {
  const dataDir = join(dir, "registry-data");
  const auth = token
    ? `auth:\n  token:\n    realm: ${token.url}\n    service: keel-test-registry\n    issuer: keel-test-issuer\n    rootcertbundle: ${token.certFile}\n`
    : "";
  const tlsConf = tls ? `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n` : "";
  const config = join(dir, "registry.yml");
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${dataDir}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n  secret: keel-test-${randomBytes(8).toString("hex")}\n${tlsConf}${auth}`,
  );
  const child: ChildProcess = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  const host = await new Promise<string>((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`docker-registry did not start:\n${log}`)), 20_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited (${code}):\n${log}`));
    });
  });
  child.removeAllListeners("exit");
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    host,
    dataDir,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A self-signed certificate for 127.0.0.1 (as a registry's TLS certificate and its own CA). */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, "tls.crt");
  const key = join(dir, "tls.key");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
    { stdio: "ignore" },
  );
  return { cert, key };
}
