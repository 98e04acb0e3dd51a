// Container probes (liveness, readiness, startup) and lifecycle hooks. An exec action runs in the
// container through the runtime; httpGet and tcpSocket connect from inside the pod's network
// namespace (on a socket the addon makes there), or directly for a host-network pod.
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { isIP, type Socket } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { podSocket } from "./pod-socket.js";
import type { Container, ExecAction, HTTPGetAction, Probe, TCPSocketAction } from "../api/index.js";
import type { Process, Spec } from "../oci/runtime-spec.js";
import type { Runtime } from "../runtime/runtime.js";

export interface ProbeTarget {
  runtime: Runtime;
  /** The container's runtime id and bundle (for its process settings). */
  runtimeId: string;
  bundle: string;
  container: Container;
  /** /proc/<pid>/ns/net of the sandbox; undefined for host network. */
  netns?: string;
  podIP?: string;
}

export interface ProbeResult { ok: boolean; message: string }

function resolvePort(port: number | string, c: Container): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = c.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`port ${JSON.stringify(port)} is not a named port of container ${c.name}`);
  return named.containerPort;
}

export async function runExecAction(t: ProbeTarget, action: ExecAction, timeoutMs: number): Promise<ProbeResult> {
  const spec = JSON.parse(readFileSync(join(t.bundle, "config.json"), "utf8")) as Spec;
  const base = spec.process!;
  const proc: Process = { ...base, args: action.command ?? [], terminal: false };
  const p = await t.runtime.exec(t.runtimeId, proc, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout?.on("data", (d: Buffer) => { if (out.length < 4096) out += d.toString(); });
  p.stderr?.on("data", (d: Buffer) => { if (out.length < 4096) out += d.toString(); });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((r) => { timer = setTimeout(() => r("timeout"), timeoutMs); });
  const st = await Promise.race([p.wait(), timedOut]);
  clearTimeout(timer);
  if (st === "timeout") {
    try { process.kill(p.pid, "SIGKILL"); } catch { /* gone */ }
    await p.wait().catch(() => {});
    return { ok: false, message: `command ${JSON.stringify(action.command)} timed out after ${timeoutMs / 1000}s` };
  }
  const code = st.exitCode ?? 128 + (st.signal ?? 0);
  return { ok: code === 0, message: code === 0 ? out.trim() : `command ${JSON.stringify(action.command)} exited with ${code}: ${out.trim()}` };
}

/**
 * A TCP connection to host:port, made from the pod's network namespace when there is one (the
 * socket is created inside it by the addon, so the pod's address is reachable even when only its
 * node's namespace routes to it), else from ours. Rejects with Go's dial wording, as kubelet's
 * probe messages read.
 */
function dial(t: ProbeTarget, host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let sock: Socket;
    try {
      sock = podSocket(t.netns, host);
    } catch (e) {
      reject(new Error(`dial tcp ${host}:${port}: ${(e as Error).message}`));
      return;
    }
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`dial tcp ${host}:${port}: i/o timeout`)); }, timeoutMs);
    sock.once("connect", () => { clearTimeout(timer); resolve(sock); });
    sock.once("error", (e) => { clearTimeout(timer); sock.destroy(); reject(new Error(`dial tcp ${host}:${port}: ${e.message}`)); });
    sock.connect(port, host);
  });
}

export async function runHttpGet(t: ProbeTarget, a: HTTPGetAction, timeoutMs: number): Promise<ProbeResult> {
  const host = a.host ?? (t.netns ? "127.0.0.1" : t.podIP ?? "127.0.0.1");
  const port = resolvePort(a.port, t.container);
  const scheme = (a.scheme ?? "HTTP").toUpperCase();
  const path = a.path ?? "/";
  const url = `${scheme.toLowerCase()}://${host}:${port}${path}`;
  const deadline = Date.now() + timeoutMs;
  let sock: Socket;
  try {
    sock = await dial(t, host, port, timeoutMs);
  } catch (e) {
    return { ok: false, message: `Get "${url}": ${(e as Error).message}` };
  }
  // kubelet does not verify a probe's certificate
  const conn: Socket = scheme === "HTTPS" ? tlsConnect({ socket: sock, rejectUnauthorized: false, servername: isIP(host) ? undefined : host }) : sock;
  const headers: Record<string, string> = { "User-Agent": "kube-probe/1.32", Accept: "*/*" };
  for (const h of a.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve(r);
    };
    // The whole exchange within the probe's timeout (the request's own idle timeout does not
    // cover a socket handed over already connected).
    const timer = setTimeout(() => done({ ok: false, message: `Get "${url}": context deadline exceeded` }), Math.max(1, deadline - Date.now()));
    const req = httpRequest({ host, port, path, method: "GET", headers, createConnection: () => conn }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      done(code >= 200 && code < 400 ? { ok: true, message: "" } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on("error", (e) => done({ ok: false, message: `Get "${url}": ${e.message}` }));
    req.end();
  });
}

export async function runTcpSocket(t: ProbeTarget, a: TCPSocketAction, timeoutMs: number): Promise<ProbeResult> {
  const host = a.host ?? (t.netns ? "127.0.0.1" : t.podIP ?? "127.0.0.1");
  try {
    (await dial(t, host, resolvePort(a.port, t.container), timeoutMs)).destroy();
    return { ok: true, message: "" };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** One probe or hook action, whichever kind it is. */
export async function runAction(t: ProbeTarget, a: { exec?: ExecAction; httpGet?: HTTPGetAction; tcpSocket?: TCPSocketAction }, timeoutMs: number): Promise<ProbeResult> {
  try {
    if (a.exec) return await runExecAction(t, a.exec, timeoutMs);
    if (a.httpGet) return await runHttpGet(t, a.httpGet, timeoutMs);
    if (a.tcpSocket) return await runTcpSocket(t, a.tcpSocket, timeoutMs);
    return { ok: false, message: "the probe has no exec, httpGet or tcpSocket action" };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

export type ProbeKind = "Liveness" | "Readiness" | "Startup";

/**
 * Runs one probe on its period and reports transitions: `onResult(true)` after successThreshold
 * consecutive successes, `onResult(false)` after failureThreshold consecutive failures, and each
 * failed attempt through `onFailure` (an Unhealthy event).
 */
export class ProbeRunner {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private result: boolean | undefined;

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: Probe,
    private readonly target: ProbeTarget,
    private readonly onResult: (ok: boolean) => void,
    private readonly onFailure: (message: string) => void,
  ) {}

  start(): void {
    this.timer = setTimeout(() => void this.tick(), (this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const r = await runAction(this.target, this.probe, (this.probe.timeoutSeconds ?? 1) * 1000);
    if (this.stopped) return;
    if (r.ok) {
      this.failures = 0;
      this.successes++;
      if (this.successes >= (this.probe.successThreshold ?? 1) && this.result !== true) { this.result = true; this.onResult(true); }
    } else {
      this.successes = 0;
      this.failures++;
      this.onFailure(`${this.kind} probe failed: ${r.message}`);
      if (this.failures >= (this.probe.failureThreshold ?? 3) && this.result !== false) {
        this.result = false;
        this.onResult(false);
      }
      // Liveness and startup failures restart the container: count afresh afterwards.
      if (this.kind !== "Readiness" && this.failures >= (this.probe.failureThreshold ?? 3)) { this.failures = 0; this.result = undefined; }
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), (this.probe.periodSeconds ?? 10) * 1000);
  }
}
