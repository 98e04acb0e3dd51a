// Run by netns-listen.ts inside a network namespace (nsenter --net=PATH node THIS JSON): opens
// the listening sockets asked for, hands each to the parent over Node's IPC channel (the fd
// travels by SCM_RIGHTS, and a socket stays in the namespace it was made in), then exits.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Want { proto: "tcp" | "udp"; host: string; port: number }

/** The helper's body; runs only when this file is the process's entry point. */
export async function netnsListenHelperMain(): Promise<void> {
  const wants = JSON.parse(process.argv[2] ?? "[]") as Want[];
  const mine: { close(): void }[] = [];
  for (const [i, w] of wants.entries()) {
    const handle = w.proto === "tcp"
      ? await new Promise<ReturnType<typeof createServer>>((res, rej) => { const s = createServer(); s.once("error", rej).listen({ port: w.port, host: w.host }, () => res(s)); })
      : await new Promise<ReturnType<typeof createSocket>>((res, rej) => { const s = createSocket("udp4"); s.once("error", rej).bind(w.port, w.host, () => res(s)); });
    mine.push(handle);
    await new Promise<void>((res, rej) => process.send!({ i }, handle, {}, (e) => (e ? rej(e) : res())));
  }
  // Wait for the parent's word that it holds every socket before this copy goes away.
  process.once("message", () => {
    for (const h of mine) h.close();
    process.disconnect();
  });
}

const entry = process.argv[1] ? realpathSync(process.argv[1]) : "";
if (entry === fileURLToPath(import.meta.url)) {
  netnsListenHelperMain().catch((e: Error) => {
    process.send?.({ error: `${e.name}: ${e.message}`, code: (e as NodeJS.ErrnoException).code });
    process.exitCode = 1;
    process.disconnect?.();
  });
}
