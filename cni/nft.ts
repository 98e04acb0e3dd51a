// Applying an nftables table as one transaction: declare it (so the delete cannot fail), delete
// it, and write it whole, in one script. Either the new table is in force or the old one still
// is; a repeated sync with the same input yields the same table. Scripts run in-process through
// libnftables (cni/netlink.ts runNft), the library `nft -f` itself is a front end to.
import { runNft } from "./netlink.js";
import { NftError } from "./errors.js";

export async function replaceTable(netns: string | undefined, family: "ip" | "inet", table: string, body: string): Promise<void> {
  const script = `add table ${family} ${table}\ndelete table ${family} ${table}\ntable ${family} ${table} {\n${body}\n}\n`;
  await runNft(netns, script, `load nftables table ${family} ${table}`);
}

/**
 * Removes the table; one that is not there is already removed. A plain delete rather than
 * add-then-delete: when there is nothing to remove (most pods have no host ports) that costs
 * the kernel no transaction (~13 ms here).
 */
export async function deleteTable(netns: string | undefined, family: "ip" | "inet", table: string): Promise<void> {
  try {
    await runNft(netns, `delete table ${family} ${table}\n`, `remove nftables table ${family} ${table}`);
  } catch (e) {
    if (!(e instanceof NftError && e.code === "ENOENT")) throw e;
  }
}

export async function listTable(netns: string | undefined, family: "ip" | "inet", table: string): Promise<string | undefined> {
  try {
    return await runNft(netns, `list table ${family} ${table}\n`, `list nftables table ${table}`);
  } catch (e) {
    if (e instanceof NftError && e.code === "ENOENT") return undefined;
    throw e;
  }
}

/** A name safe inside an nft identifier. */
export function nftIdent(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}
