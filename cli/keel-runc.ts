#!/usr/bin/env node
// keel-runc: keel's runtime behind runc's command line (see runc-verbs.ts), for podman,
// containerd, cri-o and the OCI runtime-tools suite.
import { Command } from "commander";
import { addRuncVerbs, fail } from "./runc-verbs.js";

const program = addRuncVerbs(new Command("keel-runc").description("keel's OCI runtime with runc's command line").version("keel-runc 0.1.0\nspec: 1.2.0"), "/run/keel-runc");
program.parseAsync(process.argv).catch(fail);
