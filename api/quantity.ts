// Resource quantities ("100m", "64Mi", "1.5Gi", "2e3") parsed exactly: the value is held as a
// bigint count of nano-units, the finest scale Kubernetes keeps, so no float ever rounds it.

export class QuantityParseError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (${JSON.stringify(input)}: ${reason})`);
    this.name = "QuantityParseError";
  }
}

const NANO = 1_000_000_000n;

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n,
};
// Decimal suffixes as a power of ten.
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const FORM = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

export type QuantityFormat = "BinarySI" | "DecimalSI" | "DecimalExponent";

export class Quantity {
  private constructor(readonly nanos: bigint, readonly format: QuantityFormat) {}

  static parse(input: string): Quantity {
    if (typeof input !== "string" || input.length === 0) throw new QuantityParseError(String(input), "empty");
    const m = FORM.exec(input.trim());
    if (!m) throw new QuantityParseError(input, "unable to parse quantity's suffix");
    const [, sign, num, suffix = ""] = m;
    const [intPart, fracPart = ""] = num.split(".");
    // digits as an integer and the power of ten that scales it
    let digits = BigInt((intPart || "0") + fracPart);
    let exp10 = -fracPart.length;
    let mult = 1n;
    let format: QuantityFormat = "DecimalSI";
    if (suffix in BINARY) { mult = BINARY[suffix]; format = "BinarySI"; }
    else if (/^[eE][+-]?[0-9]/.test(suffix)) { exp10 += Number(suffix.slice(1)); format = "DecimalExponent"; }
    else exp10 += DECIMAL[suffix];
    // to nano-units: value = digits * mult * 10^exp10; nanos = value * 1e9, rounded up (as Kubernetes does)
    exp10 += 9;
    digits *= mult;
    let nanos: bigint;
    if (exp10 >= 0) nanos = digits * 10n ** BigInt(exp10);
    else {
      const div = 10n ** BigInt(-exp10);
      nanos = digits / div + (digits % div === 0n ? 0n : 1n);
    }
    return new Quantity(sign === "-" ? -nanos : nanos, format);
  }

  static fromMilli(milli: bigint | number, format: QuantityFormat = "DecimalSI"): Quantity {
    return new Quantity(BigInt(milli) * 1_000_000n, format);
  }

  /** Whole units, rounded up (cpu "100m" → 1, memory "64Mi" → 67108864). */
  value(): bigint {
    return ceilDiv(this.nanos, NANO);
  }

  /** Thousandths of a unit, rounded up (cpu "100m" → 100, "1.5" → 1500). */
  milliValue(): bigint {
    return ceilDiv(this.nanos, 1_000_000n);
  }

  cmp(other: Quantity): number {
    return this.nanos < other.nanos ? -1 : this.nanos > other.nanos ? 1 : 0;
  }

  add(other: Quantity): Quantity {
    return new Quantity(this.nanos + other.nanos, this.format);
  }

  sub(other: Quantity): Quantity {
    return new Quantity(this.nanos - other.nanos, this.format);
  }

  isZero(): boolean {
    return this.nanos === 0n;
  }

  /** The canonical form Kubernetes prints: the largest suffix that keeps the value whole. */
  toString(): string {
    const neg = this.nanos < 0n;
    const n = neg ? -this.nanos : this.nanos;
    const sign = neg ? "-" : "";
    if (n === 0n) return "0";
    if (this.format === "BinarySI" && n % NANO === 0n) {
      const v = n / NANO;
      for (const suf of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
        if (v % BINARY[suf] === 0n) return `${sign}${v / BINARY[suf]}${suf}`;
      }
      return `${sign}${v}`;
    }
    const scales: [string, number][] = [["E", 27], ["P", 24], ["T", 21], ["G", 18], ["M", 15], ["k", 12], ["", 9], ["m", 6], ["u", 3], ["n", 0]];
    for (const [suf, p] of scales) {
      const d = 10n ** BigInt(p);
      if (n % d === 0n) return `${sign}${n / d}${suf}`;
    }
    return `${sign}${n}n`;
  }
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

export function parseQuantity(s: string): Quantity {
  return Quantity.parse(s);
}

/** The quantity in v (a string or number), or undefined when there is none or it does not parse. */
export function quantityOrUndefined(v: unknown): Quantity | undefined {
  if (v === undefined || v === null) return undefined;
  try { return Quantity.parse(String(v)); } catch { return undefined; }
}

export function isValidQuantity(s: unknown): boolean {
  if (typeof s === "number") return Number.isFinite(s);
  if (typeof s !== "string") return false;
  try { Quantity.parse(s); return true; } catch { return false; }
}
