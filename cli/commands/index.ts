// Every verb group of the `keel` command. Add one import and one entry per group.
import type { Command } from "commander";

export interface CommandModule {
  register(program: Command): void;
}

export const commandModules: CommandModule[] = [];
