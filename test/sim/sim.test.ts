import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventQueue, Simulator } from '../../src/sim/index.js';

describe('EventQueue', () => {
  it('pops in (time, priority, insertion) order for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 })), { maxLength: 300 }), (items) => {
        const q = new EventQueue<number>();
        items.forEach(([t, p], i) => q.push(t, i, p));
        const out: number[] = [];
        for (let e = q.pop(); e; e = q.pop()) out.push(e.payload);
        const expected = items
          .map(([t, p], i) => ({ t, p, i }))
          .sort((a, b) => a.t - b.t || a.p - b.p || a.i - b.i)
          .map((x) => x.i);
        expect(out).toEqual(expected);
      }),
    );
  });

  it('skips cancelled events and counts only live ones', () => {
    const q = new EventQueue<string>();
    const a = q.push(1, 'a');
    q.push(2, 'b');
    q.cancel(a);
    q.cancel(a);
    expect(q.size).toBe(1);
    expect(q.pop()?.payload).toBe('b');
    expect(q.pop()).toBeUndefined();
  });
});

describe('Simulator', () => {
  it('advances virtual time event by event and stops at `until`', () => {
    const sim = new Simulator();
    const seen: [number, string][] = [];
    sim.at(5, () => seen.push([sim.now, 'five']));
    sim.at(1, () => {
      seen.push([sim.now, 'one']);
      sim.after(1.5, () => seen.push([sim.now, 'two-and-a-half']));
    });
    sim.at(10, () => seen.push([sim.now, 'ten']));
    sim.run(7);
    expect(seen).toEqual([
      [1, 'one'],
      [2.5, 'two-and-a-half'],
      [5, 'five'],
    ]);
    expect(sim.now).toBe(7);
    sim.run();
    expect(seen.at(-1)).toEqual([10, 'ten']);
    expect(() => sim.at(3, () => {})).toThrow(/past/);
  });

  it('bounds the number of events it will run', () => {
    const sim = new Simulator();
    const tick = (): void => void sim.after(1, tick);
    sim.after(0, tick);
    expect(() => sim.run(Infinity, 1000)).toThrow(/exceeded 1000 events/);
  });
});
