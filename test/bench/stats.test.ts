import { describe as group, expect, it } from 'vitest';
import { describe, tCdf, tQuantile, welch } from '../../src/bench/stats.js';

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
});

group('t distribution', () => {
  it.each([
    [1, 12.706204736174694],
    [2, 4.302652729749462],
    [9, 2.262157162798205],
  ])('t(0.975, %i) = %f', (df, q) => {
    expect(tQuantile(0.975, df)).toBeCloseTo(q, 9);
  });

  it('CDF matches SciPy at a fractional df', () => {
    expect(tCdf(-3, 3.5)).toBeCloseTo(0.02368761974237321, 9);
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
