// Aligned text tables for people: columns padded to the widest cell, trailing space trimmed.
// `--format json` is the machine-readable form of the same rows.
export function printTable(rows: string[][], gap = "   "): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join(gap).trimEnd() + "\n");
}
