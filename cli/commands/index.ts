// Every verb group of the `keel` command. Add one import and one entry per group.
import type { Command } from "commander";
import * as demo from "./demo.js";
import * as oci from "./oci.js";

export interface CommandModule {
  register(program: Command): void;
}

export const commandModules: CommandModule[] = [demo, oci];
