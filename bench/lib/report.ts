// Every benchmark writes its results the same way: bench/results/NAME.json (machine-readable),
// NAME.md (a Markdown table) and NAME.svg (a bar chart of one chosen figure).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";

// Compiled to dist/bench/lib/report.js; results live in the source tree's bench/results.
export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "bench", "results");

export interface Row {
  /** What was measured: "keel (in-process)", "crun", ... */
  subject: string;
  /** Figures: numbers or short strings, in the column order of the first row. */
  [figure: string]: string | number | boolean | null | undefined;
}

export interface Report {
  name: string;
  title: string;
  /** Free-form facts about the run (parameters, versions). */
  params: Record<string, unknown>;
  rows: Row[];
  /** Ratios computed in this run, e.g. { "keel_in_process_p50 / crun_p50": 0.41 }. */
  ratios: Record<string, number>;
  /** Which numeric figure the chart shows, and its unit. */
  chart: { figure: string; unit: string };
  notes?: string[];
}

export function writeReport(r: Report): { json: string; md: string; svg: string } {
  mkdirSync(resultsDir, { recursive: true });
  const base = join(resultsDir, r.name);
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version };
  const json = { name: r.name, title: r.title, date: new Date().toISOString(), machine, params: r.params, results: r.rows, ratios: r.ratios, notes: r.notes ?? [] };
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2) + "\n");
  writeFileSync(`${base}.md`, markdown(r));
  writeFileSync(`${base}.svg`, barChart(r));
  return { json: `${base}.json`, md: `${base}.md`, svg: `${base}.svg` };
}

export function markdown(r: Report): string {
  // Every column any row has, in first-seen order (rows of different workloads differ).
  const cols = [...new Set(r.rows.flatMap((row) => Object.keys(row)))];
  if (!cols.length) cols.push("subject");
  const fmt = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v == null ? "" : String(v));
  const lines = [`# ${r.title}`, "", `| ${cols.join(" | ")} |`, `| ${cols.map(() => "---").join(" | ")} |`];
  for (const row of r.rows) lines.push(`| ${cols.map((c) => fmt(row[c])).join(" | ")} |`);
  if (Object.keys(r.ratios).length) {
    lines.push("", "| ratio | value |", "| --- | --- |");
    for (const [k, v] of Object.entries(r.ratios)) lines.push(`| ${k} | ${v.toFixed(3)} |`);
  }
  if (r.notes?.length) lines.push("", ...r.notes.map((n) => `- ${n}`));
  lines.push("", `Parameters: \`${JSON.stringify(r.params)}\``, "");
  return lines.join("\n");
}

export function barChart(r: Report): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const bars = r.rows
    .map((row) => ({ label: String(row.subject), value: Number(row[r.chart.figure]) }))
    .filter((b) => Number.isFinite(b.value));
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const rowH = 26, left = 260, width = 760, chartW = width - left - 90;
  const height = 50 + bars.length * rowH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(r.title)} — ${esc(r.chart.figure)} (${esc(r.chart.unit)})</text>`,
  ];
  bars.forEach((b, i) => {
    const y = 40 + i * rowH;
    const w = Math.max(1, (b.value / max) * chartW);
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="#3b82f6"/>`);
    parts.push(`<text x="${left + w + 6}" y="${y + 15}">${b.value.toFixed(2)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
