import { describe, expect, it } from 'vitest';
import { deriveSeed, Rng } from '../../src/random/index.js';

describe('Rng streams', () => {
  it('is reproducible for the same seed and labels, different across labels', () => {
    const a = Rng.stream(42, 'workload');
    const b = Rng.stream(42, 'workload');
    const c = Rng.stream(42, 'probe');
    const xa = Array.from({ length: 8 }, () => a.nextU32());
    const xb = Array.from({ length: 8 }, () => b.nextU32());
    const xc = Array.from({ length: 8 }, () => c.nextU32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    expect(deriveSeed('key', 1)).toBe(deriveSeed('key', 1));
    expect(deriveSeed('key', 1)).not.toBe(deriveSeed('key', 2));
  });

  it('gives uniform doubles with the right mean and variance', () => {
    const r = Rng.stream(1, 'u');
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      s += x;
      s2 += x * x;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const mean = s / n;
    expect(mean).toBeCloseTo(0.5, 2);
    expect(s2 / n - mean * mean).toBeCloseTo(1 / 12, 2);
  });

  it('draws Poisson and exponential variates with the requested means', () => {
    const r = Rng.stream(7, 'p');
    for (const mean of [0.5, 3, 40, 1000]) {
      let s = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) s += r.poisson(mean);
      expect(Math.abs(s / n - mean) / mean).toBeLessThan(0.05);
    }
    let e = 0;
    for (let i = 0; i < 20_000; i++) e += r.exponential(4);
    expect(e / 20_000).toBeCloseTo(0.25, 1);
  });

  it('sets each bit of a Bernoulli mask with probability p', () => {
    const r = Rng.stream(3, 'mask');
    for (const p of [0.01, 0.3, 0.5, 0.77, 0.999]) {
      let ones = 0;
      const words = 20_000;
      for (let i = 0; i < words; i++) {
        let m = r.bernoulliMask32(p) >>> 0;
        while (m) {
          m &= m - 1;
          ones++;
        }
      }
      const got = ones / (words * 32);
      expect(Math.abs(got - p)).toBeLessThan(0.01 + 0.02 * p);
    }
    expect(r.bernoulliMask32(0)).toBe(0);
    expect(r.bernoulliMask32(1) >>> 0).toBe(0xffffffff);
  });
});
