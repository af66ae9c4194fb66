import { describe, expect, it } from 'vitest';
import { MICRO_CASES } from '../../bench/micro/cases.js';

describe('bench:micro cases', () => {
  it('have unique names and a description', () => {
    expect(new Set(MICRO_CASES.map((c) => c.name)).size).toBe(MICRO_CASES.length);
    for (const c of MICRO_CASES) expect(c.what.length).toBeGreaterThan(10);
    expect(MICRO_CASES.map((c) => c.name.split('/')[0])).toEqual(expect.arrayContaining(['dirty-pages', 'bitmap-sync', 'event-queue']));
  });

  it.each(MICRO_CASES.map((c) => [c.name, c] as const))('%s sets up and runs', (_name, c) => {
    const { fn, beforeEach } = c.setup();
    for (let i = 0; i < 3; i++) {
      beforeEach?.();
      expect(fn()).toBeUndefined();
    }
  });
});
