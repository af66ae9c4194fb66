import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlowNetwork } from '../../src/network/flows.js';

describe('FlowNetwork (max-min fair with caps)', () => {
  it('closed forms: one flow, flows sharing a link, a capped flow leaving room to the others', () => {
    const n = new FlowNetwork();
    const link = n.addResource('link', 100);
    const a = n.addFlow([link]);
    expect(n.rate(a)).toBeCloseTo(100, 9);
    const b = n.addFlow([link], 30);
    expect(n.rate(a)).toBeCloseTo(70, 9);
    expect(n.rate(b)).toBeCloseTo(30, 9);
    const c = n.addFlow([link]);
    expect([n.rate(a), n.rate(b), n.rate(c)].map((x) => Math.round(x * 1e6) / 1e6)).toEqual([35, 30, 35]);
    n.removeFlow(b);
    expect(n.rate(a)).toBeCloseTo(50, 9);
    // a dead resource carries nothing; the flow across it gets 0
    n.setCapacity(link, 0);
    expect(n.rate(a)).toBe(0);
  });

  it('the classic parking lot: a long flow across two links gets its fair share of the tighter one', () => {
    const n = new FlowNetwork();
    const l1 = n.addResource('l1', 10);
    const l2 = n.addResource('l2', 20);
    const long = n.addFlow([l1, l2]);
    const short1 = n.addFlow([l1]);
    const short2 = n.addFlow([l2]);
    expect(n.rate(long)).toBeCloseTo(5, 9);
    expect(n.rate(short1)).toBeCloseTo(5, 9);
    expect(n.rate(short2)).toBeCloseTo(15, 9);
  });

  it('usage per byte: a flow using 2 units of a resource per byte gets its share in bytes', () => {
    const n = new FlowNetwork();
    const cpu = n.addResource('cpu', 12);
    const heavy = n.addFlow([{ r: cpu, k: 2 }]);
    const light = n.addFlow([{ r: cpu, k: 1 }]);
    // equal rates x: 2x + x = 12
    expect(n.rate(heavy)).toBeCloseTo(4, 9);
    expect(n.rate(light)).toBeCloseTo(4, 9);
    expect(n.used(cpu)).toBeCloseTo(12, 9);
  });

  it('property: rates are feasible, within caps, and max-min fair (each flow is capped or crosses a full resource where no flow is faster)', () => {
    const spec = fc.record({
      caps: fc.array(fc.double({ min: 1, max: 1000, noNaN: true }), { minLength: 1, maxLength: 6 }),
      flows: fc.array(
        fc.record({
          uses: fc.uniqueArray(fc.record({ r: fc.nat(5), k: fc.constantFrom(1, 1.06, 2) }), { minLength: 1, maxLength: 3, selector: (u) => u.r }),
          cap: fc.oneof(fc.constant(Infinity), fc.double({ min: 0.5, max: 500, noNaN: true })),
        }),
        { minLength: 1, maxLength: 12 },
      ),
    });
    fc.assert(
      fc.property(spec, ({ caps, flows }) => {
        const n = new FlowNetwork();
        const rs = caps.map((c, i) => n.addResource(`r${i}`, c));
        const ids = flows.map((f) => n.addFlow(f.uses.map((u) => ({ r: rs[u.r % rs.length]!, k: u.k })).filter((u, i, a) => a.findIndex((x) => x.r === u.r) === i), f.cap));
        const rate = ids.map((id) => n.rate(id));
        const uses = flows.map((f) => f.uses.map((u) => ({ r: u.r % rs.length, k: u.k })).filter((u, i, a) => a.findIndex((x) => x.r === u.r) === i));
        const load = caps.map(() => 0);
        uses.forEach((us, i) => us.forEach((u) => (load[u.r]! += u.k * rate[i]!)));
        load.forEach((l, r) => expect(l).toBeLessThanOrEqual(caps[r]! * (1 + 1e-9) + 1e-9));
        rate.forEach((x, i) => {
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(flows[i]!.cap * (1 + 1e-9));
          const capped = x >= flows[i]!.cap * (1 - 1e-9);
          const bottleneck = uses[i]!.some((u) => load[u.r]! >= caps[u.r]! * (1 - 1e-7) && uses.every((v, j) => !v.some((w) => w.r === u.r) || rate[j]! <= x * (1 + 1e-7)));
          expect(capped || bottleneck, `flow ${i} at ${x} is neither capped nor at a bottleneck`).toBe(true);
        });
      }),
      { numRuns: 400, seed: 11 },
    );
  });

  it('reuses the ids of removed resources, and refuses to remove one a flow still crosses', () => {
    const n = new FlowNetwork();
    const a = n.addResource('a', 1);
    const f = n.addFlow([a]);
    expect(() => n.removeResource(a)).toThrow(/still crossed/);
    n.removeFlow(f);
    n.removeResource(a);
    expect(n.addResource('b', 2)).toBe(a);
  });
});
