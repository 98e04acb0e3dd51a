// Exact parsing of Kubernetes resource quantities ("100m", "1.5", "512Mi", "1e3", "2G").
// Exact because scheduling compares sums: 0.1 CPU must be 100 millicores, not 100.0000001
// rounded up to 101. The mantissa is kept as a BigInt with a decimal scale, and the result is
// rounded up (as Kubernetes does for MilliValue/Value) into a safe JavaScript integer.

export class QuantityError extends Error {
  readonly code = "EQUANTITY";
  constructor(readonly field: string, readonly value: unknown, reason: string) {
    super(`invalid quantity for ${field}: ${JSON.stringify(value)} (${reason})`);
    this.name = "QuantityError";
  }
}

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const SHAPE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** The quantity times `scale` (1 for base units, 1000 for milli-units), rounded up. */
export function parseQuantity(value: string | number, field = "quantity", scale = 1): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new QuantityError(field, value, "must be a finite non-negative number");
    value = String(value);
  }
  const m = SHAPE.exec(value.trim());
  if (!m) throw new QuantityError(field, value, "expected a number with an optional suffix such as m, Ki, Mi, Gi, k, M, G or an exponent");
  const [, sign, mantissa, suffix, exponent] = m as unknown as [string, string, string, string | undefined, string | undefined];
  if (sign === "-") throw new QuantityError(field, value, "must not be negative");
  const [intPart, fracPart = ""] = mantissa.split(".");
  let num = BigInt((intPart || "0") + fracPart) * BigInt(scale);
  let decExp = -fracPart.length;
  if (suffix && suffix in BINARY) num *= BINARY[suffix]!;
  else if (suffix !== undefined) decExp += DECIMAL[suffix]!;
  if (exponent !== undefined) decExp += Number(exponent);
  let den = 1n;
  if (decExp >= 0) num *= 10n ** BigInt(decExp);
  else den = 10n ** BigInt(-decExp);
  const result = (num + den - 1n) / den;
  if (result > BigInt(Number.MAX_SAFE_INTEGER)) throw new QuantityError(field, value, "too large");
  return Number(result);
}

/** CPU in millicores: "1" → 1000, "250m" → 250, "0.1" → 100. */
export function parseCpuMillis(value: string | number, field = "cpu"): number {
  return parseQuantity(value, field, 1000);
}

/** Memory (or any byte quantity) in bytes: "1Gi" → 1073741824, "1G" → 1e9. */
export function parseBytes(value: string | number, field = "memory"): number {
  return parseQuantity(value, field, 1);
}
