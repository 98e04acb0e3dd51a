// ServiceAccount tokens: JWTs the API server signs (ES256, with the key in DIR/pki/sa.key) and
// accepts back as bearer tokens, as kube-apiserver's bound service account tokens: subject
// `system:serviceaccount:NS:NAME`, audience, expiry, and the service account's uid (and the
// bound pod's, if any), checked against the store on every use so a deleted account's tokens
// stop working at once. The TokenRequest subresource (`serviceaccounts/NAME/token`, what
// `kubectl create token` calls) issues them.
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KubeObject } from "../../../api/meta.js";
import type { ResourceRegistry } from "../../../api/registry.js";
import type { User } from "../auth.js";
import { ApiError, badRequest, methodNotAllowed, notFound, toApiError } from "../errors.js";
import { decodeObject, readBody, sendError, sendJson } from "../http-util.js";
import type { ObjectStore } from "../object-store.js";

/** kube-apiserver's default issuer, which is also the API's own audience. */
export const DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local";
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  "kubernetes.io": {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
  };
}

export class TokenSigner {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(privateKeyPem: string, readonly issuer = DEFAULT_ISSUER) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.publicKey = createPublicKey(this.privateKey);
    this.keyId = createHash("sha256").update(this.publicKey.export({ type: "spki", format: "der" })).digest("base64url");
  }

  sign(claims: TokenClaims): string {
    const head = Buffer.from(JSON.stringify({ alg: "ES256", kid: this.keyId })).toString("base64url");
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const sig = sign("sha256", Buffer.from(`${head}.${body}`), { key: this.privateKey, dsaEncoding: "ieee-p1363" });
    return `${head}.${body}.${sig.toString("base64url")}`;
  }

  /** The claims of a token this server signed and that has not expired, else undefined. */
  verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): TokenClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    try {
      const head = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as { alg?: string };
      if (head.alg !== "ES256") return undefined;
      const ok = verify("sha256", Buffer.from(`${parts[0]}.${parts[1]}`), { key: this.publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(parts[2], "base64url"));
      if (!ok) return undefined;
      const c = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as TokenClaims;
      if (c.iss !== this.issuer || typeof c.exp !== "number" || c.exp < nowSeconds) return undefined;
      if (typeof c.nbf === "number" && c.nbf > nowSeconds + 60) return undefined;
      return c;
    } catch {
      return undefined;
    }
  }
}

export const looksLikeJwt = (t: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(t);

export function serviceAccountUser(namespace: string, name: string): User {
  return { name: `system:serviceaccount:${namespace}:${name}`, groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`] };
}

async function getOrUndefined(objects: ObjectStore, registry: ResourceRegistry, plural: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await objects.get(registry.get("", "v1", plural)!, namespace, name);
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

/**
 * The user a service account token stands for, if it is valid for this API server: signed
 * here, unexpired, meant for the API's audience, and its service account (and bound pod or
 * secret) still the same objects.
 */
export async function authenticateServiceAccountToken(signer: TokenSigner, objects: ObjectStore, registry: ResourceRegistry, token: string): Promise<User | undefined> {
  const c = signer.verify(token);
  if (!c || !Array.isArray(c.aud) || !c.aud.includes(signer.issuer)) return undefined;
  const k = c["kubernetes.io"];
  if (!k?.namespace || !k.serviceaccount?.name || c.sub !== `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`) return undefined;
  const sa = await getOrUndefined(objects, registry, "serviceaccounts", k.namespace, k.serviceaccount.name);
  if (!sa || sa.metadata.uid !== k.serviceaccount.uid) return undefined;
  for (const [plural, ref] of [["pods", k.pod], ["secrets", k.secret]] as const) {
    if (!ref) continue;
    const o = await getOrUndefined(objects, registry, plural, k.namespace, ref.name);
    if (!o || o.metadata.uid !== ref.uid || o.metadata.deletionTimestamp) return undefined;
  }
  return serviceAccountUser(k.namespace, k.serviceaccount.name);
}

interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string };
}

/** Mints a token for an existing service account (the TokenRequest subresource's work). */
export async function issueServiceAccountToken(signer: TokenSigner, objects: ObjectStore, registry: ResourceRegistry, namespace: string, name: string, spec: TokenRequestSpec = {}): Promise<{ token: string; expirationTimestamp: string; spec: Required<Pick<TokenRequestSpec, "audiences" | "expirationSeconds">> & TokenRequestSpec }> {
  const saR = registry.get("", "v1", "serviceaccounts")!;
  const sa = await getOrUndefined(objects, registry, "serviceaccounts", namespace, name);
  if (!sa) throw notFound(saR, name);
  const expirationSeconds = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (!Number.isInteger(expirationSeconds) || expirationSeconds < MIN_EXPIRATION_SECONDS) {
    throw new ApiError(422, "Invalid", `TokenRequest.authentication.k8s.io ${JSON.stringify(name)} is invalid: spec.expirationSeconds: Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`);
  }
  if (expirationSeconds > MAX_EXPIRATION_SECONDS) throw new ApiError(422, "Invalid", `TokenRequest.authentication.k8s.io ${JSON.stringify(name)} is invalid: spec.expirationSeconds: Invalid value: ${expirationSeconds}: may not specify a duration larger than 2^32 seconds`);
  const audiences = spec.audiences?.length ? spec.audiences : [signer.issuer];
  const now = Math.floor(Date.now() / 1000);
  const claims: TokenClaims = {
    iss: signer.issuer, sub: `system:serviceaccount:${namespace}:${name}`, aud: audiences,
    exp: now + expirationSeconds, iat: now, nbf: now, jti: randomUUID(),
    "kubernetes.io": { namespace, serviceaccount: { name, uid: sa.metadata.uid! } },
  };
  const b = spec.boundObjectRef;
  if (b?.kind) {
    if (b.kind !== "Pod" && b.kind !== "Secret") throw badRequest(`cannot bind token for object of kind ${JSON.stringify(b.kind)}: supported kinds are Pod, Secret`);
    const plural = b.kind === "Pod" ? "pods" : "secrets";
    const o = await getOrUndefined(objects, registry, plural, namespace, b.name ?? "");
    if (!o) throw notFound(registry.get("", "v1", plural)!, b.name ?? "");
    if (b.uid && b.uid !== o.metadata.uid) throw new ApiError(409, "Conflict", `the UID in the bound object reference (${b.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    claims["kubernetes.io"][b.kind === "Pod" ? "pod" : "secret"] = { name: o.metadata.name!, uid: o.metadata.uid! };
  }
  return {
    token: signer.sign(claims),
    expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    spec: { ...spec, audiences, expirationSeconds },
  };
}

/** POST .../namespaces/NS/serviceaccounts/NAME/token */
export async function handleTokenRequest(signer: TokenSigner, objects: ObjectStore, registry: ResourceRegistry, namespace: string, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    if (req.method !== "POST") throw methodNotAllowed();
    const body = decodeObject(await readBody(req), req.headers["content-type"]);
    if (body.kind !== undefined && body.kind !== "TokenRequest") throw badRequest(`the kind of the provided object (${String(body.kind)}) does not match TokenRequest`);
    const spec = (body.spec ?? {}) as TokenRequestSpec;
    const out = await issueServiceAccountToken(signer, objects, registry, namespace, name, spec);
    sendJson(res, 201, {
      kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1",
      metadata: { name, namespace, creationTimestamp: null },
      spec: out.spec, status: { token: out.token, expirationTimestamp: out.expirationTimestamp },
    });
  } catch (err) {
    sendError(res, toApiError(err));
  }
}
