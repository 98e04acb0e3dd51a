// `keel image ...` verbs through commander, in-process, on a temporary store.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readdir } from "node:fs/promises";
import { Command } from "commander";
import { register } from "../../cli/commands/image.js";
import { tempStore } from "./helpers.js";

async function keel(root: string, ...args: string[]): Promise<string> {
  const program = new Command("keel").exitOverride().enablePositionalOptions();
  register(program);
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["node", "keel", "image", "--root", root, ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

test("build, ls, inspect, export, rm, import, prune through the CLI", async (t) => {
  const { root, cleanup } = await tempStore();
  t.after(cleanup);
  const store = join(root, "cli-store");
  const built = (await keel(store, "build", "--busybox", "-q")).trim();
  assert.match(built, /^sha256:[a-f0-9]{64}$/);
  const ls = JSON.parse(await keel(store, "ls", "--format", "json")) as { name: string; digest: string; size: number }[];
  assert.deepEqual(ls.map((i) => [i.name, i.digest]), [["localhost/busybox:latest", built]]);
  assert.ok(ls[0]!.size > 1_000_000);
  const table = await keel(store, "ls");
  assert.match(table, /^REPOSITORY\s+TAG\s+DIGEST\s+CREATED\s+SIZE\nlocalhost\/busybox\s+latest\s+[a-f0-9]{12}\s/);
  const inspect = JSON.parse(await keel(store, "inspect", "busybox"));
  assert.deepEqual(inspect.config.config.Cmd, ["sh"]);
  const archive = join(root, "busybox.tar");
  await keel(store, "export", "busybox", "-o", archive);
  const rm = await keel(store, "rm", "busybox");
  assert.match(rm, /Untagged: localhost\/busybox:latest/);
  assert.match(rm, new RegExp(`Deleted: ${built}`));
  assert.deepEqual(JSON.parse(await keel(store, "ls", "--format", "json")), []);
  assert.deepEqual(await readdir(join(store, "blobs", "sha256")), []);
  const imported = JSON.parse(await keel(store, "import", archive, "--format", "json"));
  assert.equal(imported[0].digest, built);
  const prune = JSON.parse(await keel(store, "prune", "--format", "json"));
  assert.deepEqual(prune.blobsRemoved, []);
  await assert.rejects(keel(store, "rm", "nothing-here"), /not in the store/);
});

test("every verb has --help", async () => {
  const program = new Command("keel").exitOverride().enablePositionalOptions();
  register(program);
  const image = program.commands.find((c) => c.name() === "image")!;
  const verbs = image.commands.map((c) => c.name()).sort();
  assert.deepEqual(verbs, ["build", "export", "import", "inspect", "ls", "prune", "pull", "push", "rm"]);
  for (const c of image.commands) assert.ok(c.helpInformation().replace(/\s+/g, " ").includes(c.description().replace(/\s+/g, " ")), c.name());
});
