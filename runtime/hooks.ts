// OCI hooks: each runs with the container's state as JSON on stdin (runtime-spec config.md#posix-platform-hooks).
import { spawn } from "node:child_process";
import type { Hook, Hooks, State } from "../oci/runtime-spec.js";
import { HookError } from "./errors.js";

export type HookKind = keyof Hooks;

export async function runHook(kind: HookKind, hook: Hook, state: State): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const [argv0, ...args] = hook.args?.length ? hook.args : [hook.path];
    const child = spawn(hook.path, args, { argv0, env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])), stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()).length > 4096 && (stderr = stderr.slice(-4096)));
    const timer = hook.timeout ? setTimeout(() => child.kill("SIGKILL"), hook.timeout * 1000) : undefined;
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new HookError(kind, hook.path, e.message));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new HookError(kind, hook.path, signal ? `killed by ${signal}${hook.timeout ? ` (timeout ${hook.timeout}s?)` : ""}` : `exit status ${code}${stderr ? `: ${stderr.trim()}` : ""}`));
    });
    child.stdin!.on("error", () => {});
    child.stdin!.end(JSON.stringify(state));
  });
}

/** Runs every hook of a kind in order; the first failure stops them (runc's behaviour). */
export async function runHooks(kind: HookKind, hooks: Hooks | undefined, state: State): Promise<void> {
  for (const h of hooks?.[kind] ?? []) await runHook(kind, h, state);
}
