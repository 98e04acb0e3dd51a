// Reads the parts of a kubeconfig a controller needs: server, CA, and a bearer token or client cert.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";

export interface ClientConfig {
  server: string;
  caPem?: string;
  token?: string;
  certPem?: string;
  keyPem?: string;
  insecureSkipTlsVerify?: boolean;
}

export class KubeconfigError extends Error {
  constructor(readonly path: string, readonly field: string, message: string) {
    super(`kubeconfig ${path}: ${field}: ${message}`);
    this.name = "KubeconfigError";
  }
}

interface Named<T> { name: string; [k: string]: unknown; cluster?: T; user?: T; context?: T }

export function loadKubeconfig(path: string, context?: string): ClientConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new KubeconfigError(path, "file", (err as Error).message);
  }
  const base = dirname(path);
  const ctxName = context ?? (doc["current-context"] as string | undefined);
  const contexts = (doc.contexts ?? []) as Named<{ cluster: string; user: string }>[];
  const ctx = contexts.find((c) => c.name === ctxName)?.context ?? contexts[0]?.context;
  if (!ctx) throw new KubeconfigError(path, "contexts", `no context ${JSON.stringify(ctxName)}`);
  const cluster = ((doc.clusters ?? []) as Named<Record<string, string | boolean>>[]).find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new KubeconfigError(path, "clusters", `no cluster ${JSON.stringify(ctx.cluster)} with a server`);
  const user = ((doc.users ?? []) as Named<Record<string, string>>[]).find((u) => u.name === ctx.user)?.user ?? {};
  const data = (inline: unknown, file: unknown): string | undefined => {
    if (typeof inline === "string") return Buffer.from(inline, "base64").toString();
    if (typeof file === "string") return readFileSync(resolve(base, file), "utf8");
    return undefined;
  };
  return {
    server: String(cluster.server).replace(/\/$/, ""),
    caPem: data(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    token: user.token ?? (user.tokenFile ? readFileSync(resolve(base, user.tokenFile), "utf8").trim() : undefined),
    certPem: data(user["client-certificate-data"], user["client-certificate"]),
    keyPem: data(user["client-key-data"], user["client-key"]),
  };
}
