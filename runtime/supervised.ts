// Containers that outlive the process that starts them: each runs under its own keel-supervisor
// (native/supervisor/main.cc, like conmon), which becomes its parent when keel exits, copies its
// output to a CRI-format log file and records its exit status. `keel run -d` and the kubelet use
// this; any later process finds the container through the runtime's state and these files.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { packagePath } from "../lib/package-root.js";
import { nativeBinary } from "../native/index.js";
import { RuntimeError } from "./errors.js";

export interface SupervisedFiles {
  /** CRI log: "<RFC3339Nano> stdout|stderr F|P <text>" per line. */
  logFile: string;
  /** {"exitCode":N|null,"signal":S|null,"finishedAt":"..."} once the container has exited. */
  exitFile: string;
  pidFile: string;
}

export interface SupervisedStart extends SupervisedFiles {
  id: string;
  /** The runtime's state root. */
  root: string;
  bundle: string;
}

export interface ExitRecord {
  exitCode: number | null;
  signal: number | null;
  finishedAt: string;
}

// The bundled keel-runc (built by setup) loads faster than the keel CLI's module graph; this
// runs once per container, so it sits on every pod's start path.
const cliDir = packagePath("dist", "cli");
function starter(): string[] {
  const bundle = join(cliDir, "keel-runc.bundle.js");
  return existsSync(bundle) ? [bundle] : [join(cliDir, "keel-runc.js")];
}

/** The files of a supervised container kept in `dir`. */
export function supervisedFiles(dir: string): SupervisedFiles {
  return { logFile: join(dir, "ctr.log"), exitFile: join(dir, "exit.json"), pidFile: join(dir, "pid") };
}

/**
 * Creates and starts the container under a new supervisor, and resolves once it runs (or rejects
 * with what `create`/`start` printed). The supervisor and the container are detached from us.
 */
export function startSupervised(o: SupervisedStart): Promise<{ pid: number }> {
  return new Promise((resolve, reject) => {
    const args = [
      "--exit-file", o.exitFile, "--log-file", o.logFile, "--pid-file", o.pidFile, "--status-fd", "3", "--",
      process.execPath, ...starter(), "--root", o.root, "run", "--detach", "--pid-file", o.pidFile, "--bundle", o.bundle, o.id,
    ];
    // Its stderr is ours only until the container runs: a detached supervisor must not hold the
    // caller's stdio open (a shell or `execFile` waiting for EOF would wait for the container).
    const sup = spawn(nativeBinary("keel-supervisor"), args, { detached: true, stdio: ["ignore", "ignore", "pipe", "pipe"] });
    let supErr = "";
    sup.stderr!.setEncoding("utf8");
    sup.stderr!.on("data", (d: string) => (supErr += d));
    let status = "";
    const pipe = sup.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding("utf8");
    pipe.on("data", (d: string) => (status += d));
    pipe.on("end", () => {
      sup.unref();
      sup.stderr!.destroy();
      if (status.startsWith("ok")) {
        resolve({ pid: Number(readFileSync(o.pidFile, "utf8").trim()) });
        return;
      }
      // keel's own error message went to the container's log (the supervisor's stderr pipe).
      let detail = "";
      try {
        detail = readFileSync(o.logFile, "utf8").split("\n").filter(Boolean).map((l) => l.split(" ").slice(3).join(" ")).filter((l) => l.startsWith("ERRO[")).pop() ?? "";
      } catch { /* no log */ }
      reject(new RuntimeError("ESTART", detail ? detail.replace(/^ERRO\[\d+\] /, "") : `starting ${o.id} failed: ${supErr.trim() || status.trim() || "the supervisor exited"}`));
    });
    sup.on("error", reject);
  });
}

export function readExitRecord(exitFile: string): ExitRecord | null {
  if (!existsSync(exitFile)) return null;
  try {
    return JSON.parse(readFileSync(exitFile, "utf8")) as ExitRecord;
  } catch {
    return null;
  }
}

