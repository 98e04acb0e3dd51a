// A small typed REST client for the Kubernetes API: JSON over node:http(s) with the kubeconfig's
// CA and bearer token or client certificate, and watches read as a chunked JSON-lines stream.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ClientRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { KubeObject, KubeList, Status, WatchEventType } from "../../api/meta.js";
import { loadKubeconfig, type ClientConfig } from "./kubeconfig.js";
import { apiVersion, resourcePath, type Resource } from "./resources.js";

/** A non-2xx answer from the API server, carrying its metav1.Status. */
export class ApiStatusError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string, readonly method: string, readonly path: string, readonly status?: Status) {
    super(`${method} ${path}: ${code} ${reason}: ${message}`);
    this.name = "ApiStatusError";
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiStatusError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiStatusError && e.code === 409;
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiStatusError && e.code === 409 && e.reason === "AlreadyExists";
export const isGone = (e: unknown): boolean => e instanceof ApiStatusError && e.code === 410;

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions extends ListOptions {
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = "merge" | "json" | "strategic";
const PATCH_CT: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

export interface WatchHandle {
  stop(): void;
}

export interface RawWatchEvent<T> { type: WatchEventType; object: T }

export class KubeClient {
  readonly config: ClientConfig;
  private readonly agent: HttpAgent;
  private readonly https: boolean;
  /** A user agent so the API server's logs say which component wrote. */
  constructor(config: ClientConfig | string, readonly userAgent = "keel-controlplane") {
    this.config = typeof config === "string" ? loadKubeconfig(config) : config;
    this.https = this.config.server.startsWith("https:");
    this.agent = this.https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 64, ca: this.config.caPem, cert: this.config.certPem, key: this.config.keyPem, rejectUnauthorized: !this.config.insecureSkipTlsVerify })
      : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  }

  close(): void {
    this.agent.destroy();
  }

  private start(method: string, path: string, headers: Record<string, string | number>, onResponse: (res: IncomingMessage) => void): ClientRequest {
    const url = new URL(path, this.config.server);
    const h: Record<string, string | number> = { Accept: "application/json", "User-Agent": this.userAgent, ...headers };
    if (this.config.token) h.Authorization = `Bearer ${this.config.token}`;
    const req = (this.https ? httpsRequest : httpRequest)(url, { method, agent: this.agent, headers: h }, onResponse);
    return req;
  }

  /** One JSON request; throws ApiStatusError on a non-2xx answer. */
  async request<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const headers: Record<string, string | number> = payload ? { "Content-Type": contentType, "Content-Length": payload.length } : {};
      const req = this.start(method, path, headers, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) return resolve(parsed as T);
          const st = parsed as Status | undefined;
          reject(new ApiStatusError(code, st?.reason ?? res.statusMessage ?? "Error", st?.message ?? text.slice(0, 300), method, path, st));
        });
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  private static query(o: Record<string, string | number | boolean | undefined>): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== "") q.set(k, String(v));
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  list<T extends KubeObject>(res: Resource, namespace?: string, o: ListOptions = {}): Promise<KubeList<T>> {
    return this.request("GET", resourcePath(res, namespace) + KubeClient.query({ ...o }));
  }

  /** Lists every page (following `continue`). */
  async listAll<T extends KubeObject>(res: Resource, namespace?: string, o: ListOptions = {}): Promise<KubeList<T>> {
    const first = await this.list<T>(res, namespace, { ...o, limit: o.limit ?? 500 });
    let cont = first.metadata?.continue;
    while (cont) {
      const page = await this.list<T>(res, namespace, { ...o, limit: o.limit ?? 500, continue: cont });
      first.items.push(...page.items);
      cont = page.metadata?.continue;
      if (first.metadata) first.metadata.resourceVersion = page.metadata?.resourceVersion ?? first.metadata.resourceVersion;
    }
    if (first.metadata) delete first.metadata.continue;
    return first;
  }

  get<T extends KubeObject>(res: Resource, namespace: string | undefined, name: string): Promise<T> {
    return this.request("GET", resourcePath(res, namespace, name));
  }

  create<T extends KubeObject>(res: Resource, namespace: string | undefined, obj: T): Promise<T> {
    const body = { apiVersion: apiVersion(res), kind: res.kind, ...obj };
    return this.request("POST", resourcePath(res, namespace), body);
  }

  update<T extends KubeObject>(res: Resource, obj: T): Promise<T> {
    const body = { apiVersion: apiVersion(res), kind: res.kind, ...obj };
    return this.request("PUT", resourcePath(res, obj.metadata.namespace, obj.metadata.name), body);
  }

  updateStatus<T extends KubeObject>(res: Resource, obj: T): Promise<T> {
    const body = { apiVersion: apiVersion(res), kind: res.kind, ...obj };
    return this.request("PUT", resourcePath(res, obj.metadata.namespace, obj.metadata.name, "status"), body);
  }

  patch<T extends KubeObject>(res: Resource, namespace: string | undefined, name: string, patch: unknown, type: PatchType = "merge", subresource?: string): Promise<T> {
    return this.request("PATCH", resourcePath(res, namespace, name, subresource), patch, PATCH_CT[type]);
  }

  patchStatus<T extends KubeObject>(res: Resource, namespace: string | undefined, name: string, patch: unknown, type: PatchType = "merge"): Promise<T> {
    return this.patch(res, namespace, name, patch, type, "status");
  }

  delete(res: Resource, namespace: string | undefined, name: string, o: DeleteOptions = {}): Promise<KubeObject | Status> {
    const body = { apiVersion: "v1", kind: "DeleteOptions", ...o };
    return this.request("DELETE", resourcePath(res, namespace, name), body);
  }

  /** POST pods/NAME/binding: sets spec.nodeName once. */
  bind(namespace: string, name: string, uid: string | undefined, node: string): Promise<Status> {
    return this.request("POST", resourcePath({ group: "", version: "v1", plural: "pods", namespaced: true, kind: "Pod" }, namespace, name, "binding"), {
      apiVersion: "v1", kind: "Binding", metadata: { name, namespace, ...(uid ? { uid } : {}) }, target: { apiVersion: "v1", kind: "Node", name: node },
    });
  }

  /**
   * Opens a watch. Events arrive in order through onEvent; onEnd is called once when the stream
   * ends (err undefined for a clean end, an ApiStatusError with code 410 when the resourceVersion
   * is too old, so the caller re-lists).
   */
  watch<T extends KubeObject>(res: Resource, namespace: string | undefined, o: WatchOptions, onEvent: (ev: RawWatchEvent<T>) => void, onEnd: (err?: Error) => void): WatchHandle {
    const path = resourcePath(res, namespace) + KubeClient.query({ watch: 1, allowWatchBookmarks: o.allowWatchBookmarks ?? true, ...o });
    let ended = false;
    const end = (err?: Error) => { if (!ended) { ended = true; onEnd(err); } };
    const req = this.start("GET", path, {}, (res2) => {
      const code = res2.statusCode ?? 0;
      if (code !== 200) {
        const chunks: Buffer[] = [];
        res2.on("data", (c: Buffer) => chunks.push(c));
        res2.on("end", () => {
          let st: Status | undefined;
          try { st = JSON.parse(Buffer.concat(chunks).toString()) as Status; } catch { /* not JSON */ }
          end(new ApiStatusError(code, st?.reason ?? "Error", st?.message ?? "watch failed", "GET", path, st));
        });
        return;
      }
      res2.setEncoding("utf8");
      let buf = "";
      res2.on("data", (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line || ended) continue;
          let ev: RawWatchEvent<T>;
          try { ev = JSON.parse(line) as RawWatchEvent<T>; } catch { continue; }
          if (ev.type === "ERROR") {
            const st = ev.object as unknown as Status;
            end(new ApiStatusError(st.code ?? 500, st.reason ?? "Error", st.message ?? "watch error", "GET", path, st));
            req.destroy();
            return;
          }
          onEvent(ev);
        }
      });
      res2.on("end", () => end());
      res2.on("error", (e) => end(e));
      res2.on("close", () => end());
    });
    req.on("error", (e) => end(e));
    req.end();
    return { stop: () => { ended = true; req.destroy(); } };
  }
}
