#!/usr/bin/env node
// The `keel` command. Each verb group lives in cli/commands/<group>.ts and exports
// `register(program)`; this file only wires them together.
import { Command } from "commander";
import { commandGroups } from "./commands/index.js";
import { packageVersion } from "../lib/package-root.js";

export async function main(argv: string[]): Promise<void> {
  const program = new Command("keel")
    .description("keel: containers without a daemon, a node agent, and a Kubernetes-compatible control plane")
    .version(packageVersion())
    .showHelpAfterError()
    .enablePositionalOptions();
  // Load the group the first word names; all of them for help or an unknown word; none for
  // --version.
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith("-"));
  const chosen = commandGroups.filter((g) => first !== undefined && g.names.includes(first));
  const versionOnly = first === undefined && args.some((a) => a === "-V" || a === "--version");
  if (!versionOnly) for (const g of chosen.length ? chosen : commandGroups) (await g.load()).register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  const e = err as { message?: string; code?: string };
  process.stderr.write(`keel: ${e?.message ?? String(err)}\n`);
  process.exitCode = typeof (err as { exitCode?: number }).exitCode === "number" ? (err as { exitCode: number }).exitCode : 1;
});
