// Statistics for bench summaries and comparisons. Descriptive statistics come from simple-statistics;
// the Student t distribution (CDF and quantile) from tdist.ts (regularized incomplete beta). Welch's
// unequal-variance t-test is written here because simple-statistics' tTestTwoSample is a pooled
// (equal-variance) Student t without a p-value. Methods are stated in docs/bench.md.

import { max, mean, median, min, quantileSorted, sampleStandardDeviation } from 'simple-statistics';
import { tCdf, tQuantile } from './tdist.js';

export interface Describe {
  n: number;
  mean: number;
  median: number;
  /** 95th percentile, linear interpolation between order statistics (R type 7, numpy's default). */
  p95: number;
  min: number;
  max: number;
  /** Sample standard deviation (n - 1 in the denominator); null for n = 1. */
  stdev: number | null;
  /**
   * 95% confidence interval of the mean: mean +- t(0.975, n - 1) * stdev / sqrt(n), clipped to the values
   * the metric can take (`range`); null for n = 1.
   */
  ci95_low: number | null;
  ci95_high: number | null;
}

/** The values a metric can take: [0, Infinity) for times, sizes and counts, [0, 1] for shares of runs. */
export interface Range {
  min: number;
  max: number;
}
export const ANY: Range = { min: -Infinity, max: Infinity };

/** Descriptive statistics of a non-empty sample; the confidence interval is clipped to `range`. */
export function describe(values: readonly number[], range: Range = ANY): Describe {
  if (values.length === 0) throw new RangeError('describe() needs at least one value');
  const xs = [...values];
  const sorted = [...values].sort((a, b) => a - b);
  const n = xs.length;
  const m = mean(xs);
  let stdev: number | null = null;
  let lo: number | null = null;
  let hi: number | null = null;
  const lowest = sorted[0]!;
  const highest = sorted[n - 1]!;
  if (n >= 2) {
    // Identical values have no spread (the arithmetic would leave one of about 1e-16 of the mean).
    stdev = lowest === highest ? 0 : sampleStandardDeviation(xs);
    const half = tQuantile(0.975, n - 1) * (stdev / Math.sqrt(n));
    lo = Math.min(Math.max(m - half, range.min), range.max);
    hi = Math.max(Math.min(m + half, range.max), range.min);
  }
  // Identical values: their mean and interval are the value itself (not a neighbour of it in the last bit).
  const mu = lowest === highest ? lowest : m;
  if (lowest === highest && n >= 2) lo = hi = mu;
  return { n, mean: mu, median: median(xs), p95: quantileSorted(sorted, 0.95), min: min(xs), max: max(xs), stdev, ci95_low: lo, ci95_high: hi };
}

export interface WelchResult {
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** Two-sided p-value. */
  p: number;
}

/**
 * Welch's unequal-variance t-test of mean(a) = mean(b), two-sided. Needs at least two values on each
 * side (returns null otherwise). With both variances zero the test degenerates: p = 1 when the means
 * are equal and p = 0 when they differ.
 */
export function welch(a: readonly number[], b: readonly number[]): WelchResult | null {
  if (a.length < 2 || b.length < 2) return null;
  const ma = mean([...a]);
  const mb = mean([...b]);
  const va = sampleStandardDeviation([...a]) ** 2 / a.length;
  const vb = sampleStandardDeviation([...b]) ** 2 / b.length;
  const se2 = va + vb;
  if (se2 === 0) {
    const same = ma === mb;
    return { t: same ? 0 : Math.sign(ma - mb) * Infinity, df: a.length + b.length - 2, p: same ? 1 : 0 };
  }
  const t = (ma - mb) / Math.sqrt(se2);
  const df = se2 ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const p = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  return { t, df, p };
}

/** Student t CDF and quantile, re-exported for tests and docs. */
export { tCdf, tQuantile };
