import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/guest/memory.js';
import { resolveWorkload, WORKLOAD_NAMES, WORKLOAD_PRESETS, WorkloadModel, workingSetPages } from '../../src/guest/workload.js';
import { InputError } from '../../src/errors.js';
import { Rng } from '../../src/random/index.js';

describe('workloads', () => {
  it('offers the five presets and custom', () => {
    expect(WORKLOAD_NAMES).toEqual(['idle', 'web', 'oltp', 'vdi', 'churn', 'custom']);
    for (const w of Object.values(WORKLOAD_PRESETS)) {
      expect(w.description.length).toBeGreaterThan(10);
      expect(w.dirtyRate).toBeGreaterThan(0);
    }
  });

  it('applies flag overrides to a preset and builds custom from flags', () => {
    const w = resolveWorkload('oltp', { dirtyRate: 123, zeroFraction: 0.5 });
    expect(w.dirtyRate).toBe(123);
    expect(w.zeroFraction).toBe(0.5);
    expect(w.workingSet).toEqual(WORKLOAD_PRESETS['oltp']!.workingSet);
    const c = resolveWorkload('custom', { dirtyRate: 1000, workingSet: { bytes: 2 ** 20 } });
    expect(workingSetPages(c, 10_000)).toBe(256);
    expect(() => resolveWorkload('database')).toThrow(InputError);
    expect(() => resolveWorkload('database')).toThrow(/--workload: expected one of idle, web, oltp, vdi, churn, custom/);
  });

  it('shrinks a preset working set to a small VM, but rejects a user working set that does not fit', () => {
    expect(workingSetPages(WORKLOAD_PRESETS['churn']!, 1000)).toBe(1000);
    const c = resolveWorkload('custom', { dirtyRate: 1, workingSet: { bytes: 2 ** 30 } });
    expect(() => workingSetPages(c, 1000)).toThrow(/--working-set/);
  });

  it('splits writes between a hot and a cold region by the hot share', () => {
    const spec = resolveWorkload('custom', { dirtyRate: 1000, workingSet: { fraction: 0.5 }, hotFraction: 0.1, hotShare: 0.9 });
    const m = new WorkloadModel(spec, 100_000, Rng.stream(1, 'w'));
    expect(m.regions).toHaveLength(2);
    expect(m.regions[0]!.count).toBe(5000);
    expect(m.regions[1]!.count).toBe(45_000);
    expect(m.regions[0]!.rate).toBeCloseTo(900);
    expect(m.regions[0]!.start + 5000).toBe(m.regions[1]!.start);
    expect(m.regions[1]!.start + 45_000).toBeLessThanOrEqual(100_000);
  });

  it('dirties as many distinct pages as the closed form W(1 - e^(-rT/W)) predicts, and fewer when throttled', () => {
    const spec = resolveWorkload('custom', { dirtyRate: 50_000, workingSet: { fraction: 0.5 } });
    const pages = 200_000;
    for (const [dt, throttle] of [
      [0.5, 0],
      [2, 0],
      [2, 0.6],
    ] as const) {
      let total = 0;
      const runs = 10;
      for (let s = 0; s < runs; s++) {
        const mem = new GuestMemory(pages, 0, Rng.stream(s, 'layout'));
        mem.startLogging();
        mem.sync();
        const rng = Rng.stream(s, 'w');
        const model = new WorkloadModel(spec, pages, rng);
        total += model.advance(mem, dt, throttle, rng);
      }
      const expected = new WorkloadModel(spec, pages, Rng.stream(0, 'x')).expectedDirty(dt, throttle);
      expect(Math.abs(total / runs - expected) / expected).toBeLessThan(0.01);
    }
  });
});
