// `keel simulate` end to end through commander (in-process, output captured).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { register } from "../../cli/commands/simulate.js";

async function run(args: string[]): Promise<string> {
  const program = new Command("keel").exitOverride();
  register(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array) => { chunks.push(String(c)); return true; }) as typeof process.stdout.write;
  try { await program.parseAsync(["node", "keel", "simulate", ...args]); } finally { process.stdout.write = write; }
  return chunks.join("");
}

test("keel simulate generates, saves and runs a trace", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "keel-simulate-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "trace.jsonl");
  const out = await run(["--generate", "300", "--seed", "4", "--trace", file, "--nodes", "10x32c128g", "--all-at-once"]);
  assert.match(out, /keel simulate: 300 tasks on 10 nodes, profile default, all at once/);
  assert.match(out, /utilization: cpu \d+\.\d%, memory \d+\.\d%/);
  assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 300);
  const json = JSON.parse(await run(["--trace", file, "--nodes", "10x32c128g", "--profile", "most-allocated", "--all-at-once", "--json", "--compaction", "2"]));
  assert.equal(json.tasks, 300);
  assert.equal(json.profile, "most-allocated");
  assert.equal(json.placed + json.pending.length, 300);
  assert.equal(json.compaction.perSeed.length, 2);
});

test("keel simulate without a trace is a usage error", async () => {
  await assert.rejects(run([]), (e: unknown) => (e as { exitCode?: number }).exitCode === 2 && /--trace FILE/.test((e as Error).message));
  await assert.rejects(run(["--generate", "ten"]), /--generate must be an integer/);
});
