// Numbers in CSV files: rounded to the digits that mean something for their unit, and never in exponent
// notation (a spreadsheet or a reader should not meet `5.4e-16` or `1e+21`). The unit comes from the
// column's (or, in summary.csv and compare.csv, the metric's) name, as docs/csv.md describes.

export interface Precision {
  /** Significant digits kept. */
  significant: number;
  /** At most this many digits after the decimal point (what is finer than that is noise for the unit). */
  maxDecimals: number;
}

const P = (significant: number, maxDecimals: number): Precision => ({ significant, maxDecimals });

/** Whole units: bytes, pages, bits per second. */
const WHOLE = P(21, 0);
const RULES: [RegExp, Precision][] = [
  // Probabilities: three significant digits; below 1e-20 they print as 0.
  [/(^|_)p_value$|^p_adjusted$/, P(3, 20)],
  // Seconds: 7 significant digits (a microsecond of a 6 s move), nothing finer than 0.1 ns.
  [/_s$/, P(7, 10)],
  [/_ms$/, P(7, 6)],
  [/_ns$/, P(7, 3)],
  [/_pct$/, P(6, 4)],
  [/_gbps$/, P(6, 6)],
  [/_bps$|_bytes$|(^|_)bytes(_|$)|(^|_)pages(_|$)/, WHOLE],
];
/** Counts' means, shares of runs, ratios, fractions. */
const DEFAULT = P(6, 9);

/** The precision of a column or metric, from its name. */
export function precisionOf(name: string): Precision {
  for (const [re, p] of RULES) if (re.test(name)) return p;
  return DEFAULT;
}

/** `x` in plain decimal notation with the given precision, trailing zeros dropped; '' when not finite. */
export function formatNumber(x: number, p: Precision = DEFAULT): string {
  if (!Number.isFinite(x)) return '';
  if (Number.isInteger(x)) return Math.abs(x) < 1e21 ? String(x) : BigInt(x).toString();
  if (Math.abs(x) >= 1e21) return BigInt(Math.round(x)).toString();
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  const decimals = Math.min(Math.max(p.significant - 1 - magnitude, 0), p.maxDecimals);
  let s = x.toFixed(decimals);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

/** The value a CSV cell of `name` holds once written: `x` rounded as formatNumber rounds it. */
export function roundFor(name: string, x: number): number {
  return Number(formatNumber(x, precisionOf(name)));
}
