// Reading the CRI log files keel's supervisors write ("<RFC3339Nano time> <stream> <F|P> <text>",
// partial lines tagged P): whole entries, with partial pieces joined per stream, read whole
// (`keel logs`) or incrementally as the file grows (kubectl logs -f, attach).
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";

export interface CriEntry { time: string; stream: string; text: string }

/**
 * Splits CRI log text ("<time> <stream> <F|P> <text>\n") into whole entries, joining partial
 * ("P") pieces; keeps an unfinished last line for the next chunk.
 */
export class CriLogParser {
  private rest = "";
  private partial = new Map<string, string>();

  push(chunk: string): CriEntry[] {
    const text = this.rest + chunk;
    const lines = text.split("\n");
    this.rest = lines.pop() ?? "";
    const out: CriEntry[] = [];
    for (const raw of lines) {
      const a = raw.indexOf(" "), b = raw.indexOf(" ", a + 1), c = raw.indexOf(" ", b + 1);
      if (a < 0 || b < 0 || c < 0) continue;
      const stream = raw.slice(a + 1, b);
      const piece = (this.partial.get(stream) ?? "") + raw.slice(c + 1);
      if (raw.slice(b + 1, c) === "P") { this.partial.set(stream, piece); continue; }
      this.partial.delete(stream);
      out.push({ time: raw.slice(0, a), stream, text: piece });
    }
    return out;
  }
}

/** Reads what the file has beyond `offset` (whole lines); a file now shorter than offset was rotated: from 0. */
export function readCriLogFrom(file: string, offset: number): { text: string; offset: number } {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return { text: "", offset };
  }
  try {
    const size = fstatSync(fd).size;
    if (size < offset) offset = 0;
    if (size === offset) return { text: "", offset };
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    // Stop at the last newline: the supervisor may be halfway through a line.
    const end = buf.lastIndexOf(0x0a, n - 1) + 1;
    return { text: buf.subarray(0, end).toString("utf8"), offset: offset + end };
  } finally {
    closeSync(fd);
  }
}

/** The entries of a CRI log file, optionally only the last `tail`; none when there is no file. */
export function readCriLog(logFile: string, opts: { tail?: number } = {}): { stream: "stdout" | "stderr"; line: string; time: string }[] {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return [];
  }
  // a last line without its newline still counts
  const out = new CriLogParser().push(text.endsWith("\n") ? text : `${text}\n`).map((e) => ({ time: e.time, stream: e.stream as "stdout" | "stderr", line: e.text }));
  return opts.tail !== undefined ? out.slice(-opts.tail) : out;
}
