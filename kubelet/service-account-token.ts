// A pod's ServiceAccount token, as kube gives it (the ServiceAccount admission plugin's
// kube-api-access projected volume, filled by the kubelet's token manager): every container gets
// a read-only /var/run/secrets/kubernetes.io/serviceaccount holding `token` (a TokenRequest bound
// to the pod), `ca.crt` (the cluster CA from the kubelet's kubeconfig) and `namespace`. The token
// is fetched again at 80% of its lifetime and swapped in by rename, which containers see through
// their bind mount of the directory. Only pods from the API server get one (static pods cannot
// refer to a ServiceAccount), and none when automountServiceAccountToken is false on the pod or,
// if the pod does not say, on its ServiceAccount.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Pod, ServiceAccount } from "../api/index.js";
import { isNotFound, type KubeClient } from "../controlplane/kit/index.js";
import { writeFileAtomicSync } from "../lib/atomic-file.js";
import type { Mount } from "../oci/runtime-spec.js";
import type { KubeletPaths } from "./paths.js";

export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** What kube's ServiceAccount admission asks for: an hour, and 7 s to tell it from a user's choice. */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3607;
/** The kubelet's token manager renews a token once 80% of its lifetime has gone. */
const REFRESH_FRACTION = 0.8;
/** After a failed renewal, try again this soon (while the old token is still good). */
const RETRY_MS = 10_000;

/** A token the kubelet could not obtain for a pod: the container start fails with this message. */
export class ServiceAccountTokenError extends Error {
  constructor(readonly pod: string, readonly serviceAccount: string, message: string, options?: ErrorOptions) {
    super(`pod ${pod}: service account ${serviceAccount} token: ${message}`, options);
    this.name = "ServiceAccountTokenError";
  }
}

/** The part of KubeClient used here (so tests can hand in a fake). */
export type TokenClient = Pick<KubeClient, "request">;

export interface ServiceAccountTokenOptions {
  /** The kubelet's client, on its node credentials. */
  client: TokenClient;
  /** The cluster CA (the kubeconfig's certificate-authority), written as ca.crt. */
  caPem?: string;
  expirationSeconds?: number;
  log?: (msg: string) => void;
}

interface TokenRequestStatus { status?: { token?: string; expirationTimestamp?: string } }

interface PodToken {
  /** undefined: the pod gets no token (automount off, or no such account). */
  dir?: string;
  /** The account does not exist (yet: the serviceaccounts controller makes `default`): ask again next time. */
  missing?: boolean;
  timer?: NodeJS.Timeout;
}

const podName = (pod: Pod) => `${pod.metadata.namespace ?? "default"}/${pod.metadata.name}`;
const saName = (pod: Pod) => pod.spec?.serviceAccountName || (pod.spec as { serviceAccount?: string } | undefined)?.serviceAccount || "default";

/** Fetches, writes and renews the ServiceAccount tokens of a kubelet's pods. */
export class ServiceAccountTokens {
  private readonly pods = new Map<string, Promise<PodToken>>();
  private closed = false;

  constructor(private readonly o: ServiceAccountTokenOptions) {}

  /** The mount for one container of the pod (none if it mounts that path itself or the pod gets no token). */
  async mounts(pod: Pod, container: { volumeMounts?: { mountPath: string }[] }, paths: KubeletPaths): Promise<Mount[]> {
    if (pod.metadata.annotations?.["kubernetes.io/config.source"] === "file") return [];
    if (pod.spec?.automountServiceAccountToken === false) return [];
    if (container.volumeMounts?.some((m) => m.mountPath.replace(/\/+$/, "") === SERVICE_ACCOUNT_MOUNT_PATH)) return [];
    const uid = pod.metadata.uid!;
    let p = this.pods.get(uid);
    if (!p) {
      p = this.setUp(pod, paths);
      this.pods.set(uid, p);
      // A failure is not cached: the next container start asks again.
      p.catch(() => this.pods.delete(uid));
    }
    const t = await p;
    if (t.missing) this.pods.delete(uid);
    if (!t.dir) return [];
    if (!existsSync(join(t.dir, "token"))) { // the pod's volumes were torn down and set up again
      this.forget(uid);
      return this.mounts(pod, container, paths);
    }
    return [{ destination: SERVICE_ACCOUNT_MOUNT_PATH, type: "bind", source: t.dir, options: ["rbind", "rprivate", "ro"] }];
  }

  /**
   * Takes up a pod a previous kubelet started (its containers keep their mount): a fresh token
   * at once, and renewals from then on, which died with the old process.
   */
  resume(pod: Pod, paths: KubeletPaths): void {
    const uid = pod.metadata.uid!;
    if (this.pods.has(uid) || !existsSync(join(paths.volumeDir(uid, "projected", "kube-api-access"), "token"))) return;
    const p = this.setUp(pod, paths);
    this.pods.set(uid, p);
    p.catch((e) => { this.pods.delete(uid); this.o.log?.(`kubelet: ${(e as Error).message}`); });
  }

  private async setUp(pod: Pod, paths: KubeletPaths): Promise<PodToken> {
    const ns = pod.metadata.namespace ?? "default";
    const sa = saName(pod);
    if (pod.spec?.automountServiceAccountToken === undefined) {
      let account: ServiceAccount;
      try {
        account = await this.o.client.request<ServiceAccount>("GET", `/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts/${encodeURIComponent(sa)}`);
      } catch (e) {
        if (isNotFound(e)) return this.missing(pod, sa);
        throw new ServiceAccountTokenError(podName(pod), sa, (e as Error).message, { cause: e });
      }
      if (account.automountServiceAccountToken === false) return {};
    }
    const dir = paths.volumeDir(pod.metadata.uid!, "projected", "kube-api-access");
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileAtomicSync(join(dir, "namespace"), ns, 0o644, { durable: false });
    if (this.o.caPem) writeFileAtomicSync(join(dir, "ca.crt"), this.o.caPem, 0o644, { durable: false });
    const t: PodToken = { dir };
    let refreshIn: number;
    try {
      refreshIn = await this.fetch(pod, sa, dir);
    } catch (e) {
      if (isNotFound((e as Error).cause)) return this.missing(pod, sa);
      throw e;
    }
    this.schedule(pod, sa, t, refreshIn);
    return t;
  }

  /** Requests a token bound to the pod and writes it; returns when to renew it (ms from now). */
  private async fetch(pod: Pod, sa: string, dir: string): Promise<number> {
    const ns = pod.metadata.namespace ?? "default";
    const expirationSeconds = this.o.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
    let out: TokenRequestStatus;
    try {
      out = await this.o.client.request<TokenRequestStatus>("POST", `/api/v1/namespaces/${encodeURIComponent(ns)}/serviceaccounts/${encodeURIComponent(sa)}/token`, {
        apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest",
        spec: { expirationSeconds, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid } },
      });
    } catch (e) {
      throw new ServiceAccountTokenError(podName(pod), sa, (e as Error).message, { cause: e });
    }
    const token = out.status?.token;
    if (!token) throw new ServiceAccountTokenError(podName(pod), sa, "the TokenRequest answer has no status.token");
    writeFileAtomicSync(join(dir, "token"), token, 0o644, { durable: false });
    const expires = Date.parse(out.status?.expirationTimestamp ?? "");
    const lifetime = Number.isFinite(expires) ? expires - Date.now() : expirationSeconds * 1000;
    return Math.max(0, lifetime * REFRESH_FRACTION);
  }

  /**
   * kube's ServiceAccount admission refuses a pod whose account does not exist; keel has no such
   * admission, so the pod runs without a token rather than not at all (and a container started
   * later asks again).
   */
  private missing(pod: Pod, sa: string): PodToken {
    this.o.log?.(`kubelet: pod ${podName(pod)}: service account ${sa} not found: no token mounted`);
    return { missing: true };
  }

  private schedule(pod: Pod, sa: string, t: PodToken, ms: number): void {
    if (this.closed) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      // The pod is gone from this node (its directory with it): nothing left to renew.
      if (!t.dir || !existsSync(t.dir)) { this.forget(pod.metadata.uid!); return; }
      this.fetch(pod, sa, t.dir).then(
        (next) => this.schedule(pod, sa, t, next),
        (e) => { this.o.log?.(`kubelet: ${(e as Error).message}; retrying`); this.schedule(pod, sa, t, RETRY_MS); },
      );
    }, ms);
    t.timer.unref();
  }

  private forget(uid: string): void {
    const p = this.pods.get(uid);
    this.pods.delete(uid);
    p?.then((t) => clearTimeout(t.timer), () => {});
  }

  /** Stops every renewal (the kubelet is shutting down). */
  close(): void {
    this.closed = true;
    for (const uid of [...this.pods.keys()]) this.forget(uid);
  }
}

/** The token mount for a container, or none when the kubelet runs without an API server. */
export function podServiceAccountMounts(pod: Pod, container: { volumeMounts?: { mountPath: string }[] }, paths: KubeletPaths, tokens: ServiceAccountTokens | undefined): Promise<Mount[]> {
  return tokens ? tokens.mounts(pod, container, paths) : Promise.resolve([]);
}
