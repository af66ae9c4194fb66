import { describe as group, expect, it } from 'vitest';
import { describe, tCdf, tQuantile, welch } from '../../src/bench/stats.js';
import { incompleteBeta, logGamma } from '../../src/bench/tdist.js';

// Reference values computed with SciPy 1.17 (scipy.stats.ttest_ind(equal_var=False), scipy.stats.t)
// and NumPy (percentile, linear method).
group('describe', () => {
  it('matches NumPy/SciPy for mean, median, p95, sample stdev and the t-based 95% CI', () => {
    const x = [3, 6, 7, 8, 8, 9, 10, 13, 15, 16, 20];
    const d = describe(x);
    expect(d.n).toBe(11);
    expect(d.mean).toBeCloseTo(10.454545454545455, 12);
    expect(d.median).toBe(9);
    expect(d.p95).toBeCloseTo(18.0, 12);
    expect(d.min).toBe(3);
    expect(d.max).toBe(20);
    expect(d.stdev).toBeCloseTo(5.007267445696033, 12);
    expect(d.ci95_low).toBeCloseTo(7.090617412252236, 9);
    expect(d.ci95_high).toBeCloseTo(13.818473496838674, 9);
  });

  it('gives no standard deviation and no CI for a single run', () => {
    const d = describe([4.2]);
    expect(d).toMatchObject({ n: 1, mean: 4.2, median: 4.2, p95: 4.2, min: 4.2, max: 4.2, stdev: null, ci95_low: null, ci95_high: null });
  });

  it('gives a zero-width CI for identical values', () => {
    const d = describe([7, 7, 7]);
    expect(d.stdev).toBe(0);
    expect(d.ci95_low).toBe(7);
    expect(d.ci95_high).toBe(7);
  });

  it('gives exactly zero spread for identical values that the arithmetic would blur (no 5.4e-16)', () => {
    const v = 6.783727554;
    expect(describe([v, v, v, v, v])).toMatchObject({ mean: v, stdev: 0, ci95_low: v, ci95_high: v });
    // The naive sample standard deviation of these is not 0:
    const m = (v * 5) / 5;
    expect(Math.sqrt([v, v, v, v, v].reduce((s, x) => s + (x - m) ** 2, 0) / 4)).toBeLessThan(1e-15);
  });

  it('clips the interval to the range of the metric (counts and times are never negative; shares stay within 0..1)', () => {
    const missed = [0, 0, 0, 1];
    const open = describe(missed);
    expect(open.ci95_low!).toBeLessThan(0);
    const clipped = describe(missed, { min: 0, max: Infinity });
    expect(clipped.ci95_low).toBe(0);
    expect(clipped.ci95_high).toBeCloseTo(open.ci95_high!, 12);
    const share = describe([1, 1, 1, 0], { min: 0, max: 1 });
    expect(share.ci95_high).toBe(1);
    expect(share.ci95_low!).toBeGreaterThanOrEqual(0);
  });
});

group('t distribution (src/bench/tdist.ts)', () => {
  // scipy.stats.t.ppf(p, df), SciPy 1.17.
  it.each([
    [0.975, 1, 12.706204736174694],
    [0.975, 2, 4.302652729749462],
    [0.975, 3, 3.1824463052837078],
    [0.975, 5, 2.5705818356363146],
    [0.975, 9, 2.262157162798205],
    [0.975, 30, 2.0422724563012378],
    [0.975, 120, 1.9799304050824402],
    [0.975, 1000, 1.9623390808264083],
    [0.995, 3, 5.840909309733355],
    [0.9995, 2, 31.599054576445365],
    [0.95, 7.5, 1.8757474792112878],
    [0.025, 6, -2.4469118511449794],
  ])('quantile(%f, df %f) matches SciPy to 1e-12 relative', (p, df, q) => {
    expect(Math.abs(tQuantile(p, df) / q - 1)).toBeLessThan(1e-12);
  });

  // A published two-sided 95% t table (critical values at 0.975, three decimals): e.g. NIST/SEMATECH
  // e-Handbook of Statistical Methods, table 1.3.6.7.2.
  it.each([
    [1, 12.706],
    [2, 4.303],
    [3, 3.182],
    [4, 2.776],
    [5, 2.571],
    [10, 2.228],
    [20, 2.086],
    [30, 2.042],
    [60, 2.0],
    [100, 1.984],
  ])('t(0.975, %i) rounds to the t table value %f', (df, q) => {
    expect(Number(tQuantile(0.975, df).toFixed(3))).toBe(q);
  });

  // scipy.stats.t.cdf(t, df): fractional df, far tails, near 0 with a huge df.
  it.each([
    [-3, 3.5, 0.02368761974237321],
    [-10, 5, 8.547378787148181e-5],
    [-40, 100, 1.2310538010700354e-63],
    [-0.5, 2, 0.33333333333333337],
    [2.5, 20, 0.9893832272804338],
    [-0.001, 1e6, 0.4996010578858246],
    [-50, 1000, 1.379336206162586e-274],
    [-8, 1.2, 0.027422236975805207],
  ])('cdf(%f, df %f) matches SciPy to 1e-11 relative', (t, df, p) => {
    expect(Math.abs(tCdf(t, df) / p - 1)).toBeLessThan(1e-11);
  });

  it('is a distribution: symmetric, 0.5 at 0, monotone, and the quantile inverts the CDF', () => {
    expect(tCdf(0, 3)).toBe(0.5);
    expect(tQuantile(0.5, 7)).toBe(0);
    for (const df of [1, 2.5, 9, 40]) {
      let last = 0;
      for (let t = -20; t <= 20; t += 0.5) {
        const c = tCdf(t, df);
        expect(c).toBeGreaterThanOrEqual(last);
        expect(c + tCdf(-t, df)).toBeCloseTo(1, 14);
        last = c;
      }
      for (const p of [0.001, 0.1, 0.6, 0.975, 0.99999]) expect(tCdf(tQuantile(p, df), df)).toBeCloseTo(p, 12);
    }
    expect(tCdf(Infinity, 3)).toBe(1);
    expect(tCdf(-Infinity, 3)).toBe(0);
    expect(tQuantile(0, 3)).toBe(-Infinity);
    expect(Number.isNaN(tCdf(1, 0))).toBe(true);
  });

  it('ln Gamma and the incomplete beta function match known values', () => {
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(incompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 14);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14); // uniform
    expect(incompleteBeta(0.2, 2, 3)).toBeCloseTo(0.1808, 14); // 6x^2 - 8x^3 + 3x^4 at 0.2
  });
});

group('welch', () => {
  it.each([
    [[10.1, 10.4, 9.8, 10.0, 10.3], [11.0, 11.4, 10.9, 11.2, 11.6], -6.59736158294475, 7.74932317256593, 0.00019568763241679753],
    [[1, 2, 3, 4, 5], [2, 4, 6, 8, 10, 12], -2.3763541031440183, 6.972255729794934, 0.04928433820673053],
    [[5.1, 4.9, 5.0], [5.05, 4.95, 5.0, 5.1], -0.3779644730092339, 3.2347188264058686, 0.7289110484045997],
  ])('matches scipy.stats.ttest_ind(equal_var=False) for %j vs %j', (a, b, t, df, p) => {
    const w = welch(a, b)!;
    expect(w.t).toBeCloseTo(t, 9);
    expect(w.df).toBeCloseTo(df, 9);
    expect(w.p).toBeCloseTo(p, 9);
  });

  it('is symmetric in p and antisymmetric in t', () => {
    const a = [1, 2, 3, 4];
    const b = [2, 3, 5, 7];
    expect(welch(a, b)!.p).toBeCloseTo(welch(b, a)!.p, 12);
    expect(welch(a, b)!.t).toBeCloseTo(-welch(b, a)!.t, 12);
  });

  it('needs two values on each side, and handles zero variance', () => {
    expect(welch([1], [1, 2])).toBeNull();
    expect(welch([3, 3], [3, 3])!.p).toBe(1);
    expect(welch([3, 3], [4, 4])!.p).toBe(0);
  });
});
