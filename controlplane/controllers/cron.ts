// Cron schedules as CronJobs write them: five fields (minute hour day-of-month month
// day-of-week) with *, lists, ranges, steps and names, plus @hourly/@daily/... macros. UTC.
export class CronScheduleError extends Error {
  constructor(readonly schedule: string, readonly field: string, message: string) {
    super(`schedule ${JSON.stringify(schedule)}: ${field}: ${message}`);
    this.name = "CronScheduleError";
  }
}

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
};
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS = [
  { name: "minute", min: 0, max: 59 }, { name: "hour", min: 0, max: 23 }, { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, base: 1 }, { name: "day of week", min: 0, max: 7, names: DAYS, base: 0 },
] as const;

export interface CronSchedule {
  minute: Set<number>; hour: Set<number>; dom: Set<number>; month: Set<number>; dow: Set<number>;
  domStar: boolean; dowStar: boolean;
}

export function parseCron(schedule: string): CronSchedule {
  const expr = MACROS[schedule.trim().toLowerCase()] ?? schedule.trim();
  const parts = expr.split(/\s+/);
  if (parts.length !== 5) throw new CronScheduleError(schedule, "fields", `expected 5 fields, got ${parts.length}`);
  const sets = parts.map((part, fi) => {
    const f = FIELDS[fi]!;
    const val = (s: string): number => {
      const names = "names" in f ? f.names : undefined;
      const i = names ? (names as readonly string[]).indexOf(s.toLowerCase()) : -1;
      if (i >= 0) return i + ("base" in f ? f.base : 0);
      if (!/^\d+$/.test(s)) throw new CronScheduleError(schedule, f.name, `bad value ${JSON.stringify(s)}`);
      const n = Number(s);
      if (n < f.min || n > f.max) throw new CronScheduleError(schedule, f.name, `${n} is outside ${f.min}-${f.max}`);
      return n;
    };
    const out = new Set<number>();
    for (const item of part.split(",")) {
      const [range, stepS] = item.split("/") as [string, string | undefined];
      const step = stepS === undefined ? 1 : Number(stepS);
      if (!Number.isInteger(step) || step < 1) throw new CronScheduleError(schedule, f.name, `bad step ${JSON.stringify(stepS)}`);
      let lo: number, hi: number;
      if (range === "*" || range === "?") { lo = f.min; hi = f.max; } else if (range.includes("-")) { const [a, b] = range.split("-"); lo = val(a!); hi = val(b!); } else { lo = val(range); hi = stepS === undefined ? lo : f.max; }
      if (lo > hi) throw new CronScheduleError(schedule, f.name, `range ${range} is backwards`);
      for (let v = lo; v <= hi; v += step) out.add(fi === 4 && v === 7 ? 0 : v);
    }
    return out;
  });
  return { minute: sets[0]!, hour: sets[1]!, dom: sets[2]!, month: sets[3]!, dow: sets[4]!, domStar: parts[2]!.startsWith("*"), dowStar: parts[4]!.startsWith("*") };
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.dom.has(d.getUTCDate()), dow = s.dow.has(d.getUTCDay());
  // As in cron: when both are restricted, either one matching is enough.
  if (!s.domStar && !s.dowStar) return dom || dow;
  return dom && dow;
}

/** The first scheduled time strictly after `after` (ms), or undefined within five years. */
export function nextRun(s: CronSchedule, after: number): number | undefined {
  const d = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  const limit = after + 5 * 366 * 86_400_000;
  while (d.getTime() < limit) {
    if (!s.month.has(d.getUTCMonth() + 1)) { d.setUTCMonth(d.getUTCMonth() + 1, 1); d.setUTCHours(0, 0, 0, 0); continue; }
    if (!dayMatches(s, d)) { d.setUTCDate(d.getUTCDate() + 1); d.setUTCHours(0, 0, 0, 0); continue; }
    if (!s.hour.has(d.getUTCHours())) { d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0); continue; }
    if (!s.minute.has(d.getUTCMinutes())) { d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0); continue; }
    return d.getTime();
  }
  return undefined;
}

/** The latest scheduled time in (since, now], if any. */
export function lastRunBetween(s: CronSchedule, since: number, now: number): number | undefined {
  let last: number | undefined;
  let t = nextRun(s, since);
  // Bounded: a CronJob missing more than 100 starts is reported as such by Kubernetes too.
  for (let i = 0; t !== undefined && t <= now && i < 100_000; i++) { last = t; t = nextRun(s, t); }
  return last;
}
