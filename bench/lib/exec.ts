// Runs a command to completion for a benchmark: resolves on exit status 0, rejects with the tail
// of its stderr otherwise. Waits for 'exit', not 'close': `runc create` and friends hand their
// stdio to the container, which keeps the pipes open.
import { spawn } from "node:child_process";

export function exec(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    // From /tmp: podman's conmon drops an "oom" marker file in its working directory.
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: env ?? process.env, cwd: "/tmp" });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err = (err + d).slice(-2000)));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.slice(-6).join(" ")}: exit ${code}: ${err.trim().slice(-500)}`))));
  });
}
