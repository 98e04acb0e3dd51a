// Percentiles and summaries of timing samples (milliseconds).

export interface Summary {
  n: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
  min_ms: number;
  max_ms: number;
}

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: readonly number[]): Summary {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const mean = samples.reduce((a, b) => a + b, 0) / (samples.length || 1);
  return {
    n: samples.length,
    p50_ms: round(percentile(samples, 50)),
    p90_ms: round(percentile(samples, 90)),
    p99_ms: round(percentile(samples, 99)),
    mean_ms: round(mean),
    min_ms: round(samples.length ? Math.min(...samples) : NaN),
    max_ms: round(samples.length ? Math.max(...samples) : NaN),
  };
}

/** Wall time of fn in milliseconds. */
export async function timeIt(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
