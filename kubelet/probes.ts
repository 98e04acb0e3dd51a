// Container probes (liveness, readiness, startup) and lifecycle hooks. An exec action runs in the
// container through the runtime; httpGet and tcpSocket connect from inside the pod's network
// namespace (a helper entered with nsenter), or directly for a host-network pod.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packagePath } from "../lib/package-root.js";
import type { Container, ExecAction, HTTPGetAction, Probe, TCPSocketAction } from "../api/index.js";
import type { Process, Spec } from "../oci/runtime-spec.js";
import type { Runtime } from "../runtime/runtime.js";

const helper = packagePath("dist", "kubelet", "probe-helper.js");

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

function runHelper(t: ProbeTarget, args: string[], timeoutMs: number): Promise<ProbeResult> {
  const cmd = t.netns ? "nsenter" : process.execPath;
  const argv = t.netns ? [`--net=${t.netns}`, process.execPath, helper, ...args] : [helper, ...args];
  return new Promise((resolve) => {
    execFile(cmd, argv, { timeout: timeoutMs + 2000 }, (err, _stdout, stderr) => {
      resolve({ ok: !err, message: err ? (stderr.trim() || err.message) : "" });
    });
  });
}

export function runHttpGet(t: ProbeTarget, a: HTTPGetAction, timeoutMs: number): Promise<ProbeResult> {
  const host = a.host ?? (t.netns ? "127.0.0.1" : t.podIP ?? "127.0.0.1");
  return runHelper(t, ["http", host, String(resolvePort(a.port, t.container)), a.path ?? "/", String(timeoutMs), a.scheme ?? "HTTP"], timeoutMs);
}

export function runTcpSocket(t: ProbeTarget, a: TCPSocketAction, timeoutMs: number): Promise<ProbeResult> {
  const host = a.host ?? (t.netns ? "127.0.0.1" : t.podIP ?? "127.0.0.1");
  return runHelper(t, ["tcp", host, String(resolvePort(a.port, t.container)), String(timeoutMs)], timeoutMs);
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
