// The foreground daemons' shared wait: run until Ctrl-C or a SIGTERM, then shut down cleanly.
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
