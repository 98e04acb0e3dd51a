// start: release the created container's first process (one byte on the exec FIFO).
import { closeSync, openSync, unlinkSync, writeSync, constants } from "node:fs";
import type { RuntimeContext } from "../context.js";
import { InvalidStateError, RuntimeError } from "../errors.js";
import { runHooks } from "../hooks.js";
import { NativeError } from "../../native/index.js";
import { ociState, statusOf } from "./state.js";

export async function start(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = ctx.state.read(id);
  const status = statusOf(ctx, rec);
  if (status !== "created") throw new InvalidStateError(id, status, "start");
  const fifo = ctx.state.fifo(id);
  await runHooks("startContainer", rec.spec.hooks, ociState(rec, "created"));
  let fd: number;
  try {
    // Non-blocking: fails with ENXIO at once if the waiting process is gone.
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new RuntimeError("ESTART", `start ${id}: the container's process is no longer waiting (${(e as Error).message})`, { cause: e });
  }
  try {
    writeSync(fd, Buffer.from([0]));
  } finally {
    closeSync(fd);
  }
  unlinkSync(fifo);
  rec.started = true;
  ctx.state.write(rec);
  const live = ctx.live.get(id);
  if (live) {
    // Our own child: wait until execve has happened, keeping the event loop alive meanwhile.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      await live.exec;
    } catch (e) {
      throw e instanceof NativeError ? new RuntimeError(e.code, `start ${id}: ${e.message}`, { cause: e }) : e;
    } finally {
      clearInterval(keepAlive);
    }
  }
  try {
    await runHooks("poststart", rec.spec.hooks, ociState(rec, "running"));
  } catch (e) {
    process.emitWarning(`container ${id}: ${(e as Error).message}`);
  }
}
