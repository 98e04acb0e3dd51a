// npm run bench -- NAME [--quick]: runs bench/NAME.ts, which writes bench/results/NAME.{json,md,svg}.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here).filter((f) => f.endsWith(".js") && f !== "main.js").map((f) => f.slice(0, -3)).sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || name === "--help" || name === "-h") {
  console.log(`usage: npm run bench -- NAME [--quick]\n\nbenchmarks: ${available.join(", ")}\n\n--quick runs fewer iterations (a smoke run); results go to bench/results/NAME.{json,md,svg}`);
  process.exit(name ? 0 : 2);
}
const file = join(here, `${name}.js`);
if (!existsSync(file)) {
  console.error(`bench: no benchmark named '${name}' (available: ${available.join(", ")})`);
  process.exit(2);
}
const mod = (await import(pathToFileURL(file).href)) as { main(args: { quick: boolean; argv: string[] }): Promise<void> };
await mod.main({ quick: rest.includes("--quick"), argv: rest });
