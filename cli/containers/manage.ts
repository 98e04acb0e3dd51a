// ps, logs, exec, stop, rm for the containers `keel run` made.
import { statSync, openSync, readSync, closeSync } from "node:fs";
import { ImageService } from "../../images/index.js";
import { Runtime } from "../../runtime/runtime.js";
import { readExitRecord } from "../../runtime/supervised.js";
import { readCriLog } from "../../runtime/cri-log.js";
import { ContainerStore, type ContainerRecord } from "./store.js";
import { CONTAINER_STATE_ROOT } from "./run.js";

export interface ContainerView extends ContainerRecord {
  status: "created" | "running" | "paused" | "exited";
  exitCode: number | null;
  signal: number | null;
  pid?: number;
  finishedAt?: string;
}

export function runtime(): Runtime {
  return new Runtime({ root: CONTAINER_STATE_ROOT });
}

export function view(store: ContainerStore, rt: Runtime, c: ContainerRecord): ContainerView {
  let status: ContainerView["status"] = "exited";
  let pid: number | undefined;
  try {
    const st = rt.state(c.id);
    status = st.status === "stopped" || st.status === "creating" ? "exited" : st.status;
    pid = st.pid;
  } catch { /* not in the runtime: exited and cleaned up */ }
  const exit = readExitRecord(store.files(c.id).exitFile);
  return { ...c, status, pid, exitCode: exit?.exitCode ?? null, signal: exit?.signal ?? null, finishedAt: exit?.finishedAt };
}

export function ago(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)} seconds ago`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

export function statusText(v: ContainerView): string {
  if (v.status === "running") return `Up ${ago(v.created).replace(" ago", "")}`;
  if (v.status !== "exited") return v.status[0]!.toUpperCase() + v.status.slice(1);
  const code = v.exitCode ?? (v.signal ? 128 + v.signal : 0);
  return `Exited (${code})${v.finishedAt ? ` ${ago(v.finishedAt)}` : ""}`;
}

export function printLogs(store: ContainerStore, c: ContainerRecord, o: { tail?: number; timestamps?: boolean }): void {
  for (const l of readCriLog(store.files(c.id).logFile, { tail: o.tail })) {
    const text = (o.timestamps ? `${l.time} ` : "") + l.line + "\n";
    (l.stream === "stderr" ? process.stderr : process.stdout).write(text);
  }
}

/** Follows the log file: prints lines as they are appended until the container has exited. */
export async function followLogs(store: ContainerStore, rt: Runtime, c: ContainerRecord, o: { timestamps?: boolean }): Promise<void> {
  const file = store.files(c.id).logFile;
  let offset = 0;
  try {
    offset = statSync(file).size;
  } catch { /* not yet */ }
  printLogs(store, c, o);
  let rest = "";
  for (;;) {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch { /* not yet */ }
    if (size > offset) {
      const fd = openSync(file, "r");
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      closeSync(fd);
      offset = size;
      const lines = (rest + buf.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const raw of lines) {
        const [time, stream, , ...text] = raw.split(" ");
        const out = (o.timestamps ? `${time} ` : "") + text.join(" ") + "\n";
        (stream === "stderr" ? process.stderr : process.stdout).write(out);
      }
    } else if (view(store, rt, c).status === "exited") return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGTERM (or the image's stop signal), then SIGKILL after `timeout` seconds. */
export async function stop(rt: Runtime, c: ContainerRecord, timeoutSec: number): Promise<void> {
  let st;
  try {
    st = rt.state(c.id);
  } catch {
    return;
  }
  if (st.status !== "running" && st.status !== "paused") return;
  if (st.status === "paused") await rt.resume(c.id);
  await rt.kill(c.id, "SIGTERM").catch(() => {});
  const until = Date.now() + timeoutSec * 1000;
  while (Date.now() < until) {
    if (rt.state(c.id).status === "stopped") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  await rt.kill(c.id, "SIGKILL", { all: true }).catch(() => {});
  while (rt.state(c.id).status !== "stopped") await new Promise((r) => setTimeout(r, 20));
}

export async function remove(store: ContainerStore, rt: Runtime, c: ContainerRecord, force: boolean): Promise<void> {
  const v = view(store, rt, c);
  if ((v.status === "running" || v.status === "paused") && !force) throw new Error(`container ${c.name} is running: stop it first or use --force`);
  if (v.status !== "exited") await stop(rt, c, 0);
  try {
    await rt.delete(c.id, { force: true });
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOTFOUND") throw e;
  }
  const images = await ImageService.open();
  await images.snapshots.release(c.id);
  store.remove(c.id);
}
