// `keel oci ...`: the OCI runtime's verbs on bundles, with runc's command line and semantics
// (create, start, run, state, list, kill, delete, exec, ps, pause, resume, events, update, spec,
// features): the same verbs the `keel-runc` command offers, over keel's state root /run/keel.
import type { Command } from "commander";
import { DEFAULT_ROOT } from "../../runtime/state.js";
import { addRuncVerbs } from "../runc-verbs.js";

export function register(program: Command): void {
  addRuncVerbs(program.command("oci").description("run OCI bundles with runc's verbs (create, start, run, state, kill, delete, exec, ...)"), DEFAULT_ROOT);
}
