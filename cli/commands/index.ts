// Every verb group of the `keel` command, loaded only when used: `keel image ls` imports the
// image store and nothing else, so start-up stays small (podman calls a runtime CLI several
// times per container). Add one entry per group.
import type { Command } from "commander";

export interface CommandModule {
  register(program: Command): void;
}

export interface CommandGroup {
  /** The first word on the command line that selects this group (also the top-level verbs it adds). */
  names: string[];
  load(): Promise<CommandModule>;
}

export const commandGroups: CommandGroup[] = [
  { names: ["demo"], load: () => import("./demo.js") },
  { names: ["oci"], load: () => import("./oci.js") },
  { names: ["image", "images"], load: () => import("./image.js") },
  { names: ["simulate"], load: () => import("./simulate.js") },
  { names: ["apiserver"], load: () => import("./apiserver.js") },
  { names: ["controller-manager", "scheduler", "sim-nodes", "control-plane"], load: () => import("./controlplane.js") },
  { names: ["kubelet"], load: () => import("./kubelet.js") },
  { names: ["cluster", "join"], load: () => import("./cluster.js") },
  { names: ["dashboard"], load: () => import("./dashboard.js") },
  { names: ["run", "ps", "logs", "exec", "stop", "rm"], load: () => import("./containers.js") },
];
