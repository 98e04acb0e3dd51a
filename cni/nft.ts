// Applying an nftables table as one transaction: declare it (so the delete cannot fail), delete
// it, and write it whole, in a single `nft -f`. Either the new table is in force or the old one
// still is; a repeated sync with the same input yields the same table.
import { runIn } from "./netns.js";
import { NetCommandError } from "./errors.js";

export async function replaceTable(netns: string | undefined, family: "ip" | "inet", table: string, body: string): Promise<void> {
  const script = `add table ${family} ${table}\ndelete table ${family} ${table}\ntable ${family} ${table} {\n${body}\n}\n`;
  await runIn(netns, ["nft", "-f", "-"], `load nftables table ${family} ${table}`, script);
}

export async function deleteTable(netns: string | undefined, family: "ip" | "inet", table: string): Promise<void> {
  await runIn(netns, ["nft", "-f", "-"], `remove nftables table ${family} ${table}`, `add table ${family} ${table}\ndelete table ${family} ${table}\n`);
}

export async function listTable(netns: string | undefined, family: "ip" | "inet", table: string): Promise<string | undefined> {
  try {
    return (await runIn(netns, ["nft", "list", "table", family, table], `list nftables table ${table}`)).stdout;
  } catch (e) {
    if (e instanceof NetCommandError && /No such file|does not exist/.test(e.stderr)) return undefined;
    throw e;
  }
}

/** A name safe inside an nft identifier. */
export function nftIdent(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}
