import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AllChannelsLostError } from '../../src/transport/striper.js';
import { SIM_MAX_CHUNKS, SIM_STRIPE_DEFAULTS, simStripeOptions, simulateStripedTransfer, type SimChannel } from '../../src/transport/sim-channels.js';

const MiB = 2 ** 20;
const opts = { chunkSize: MiB, window: 8 * MiB };
const chans = (rates: number[], rtt = 50e-6): SimChannel[] => rates.map((rate, id) => ({ id, rate, rtt }));
const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('striped transfers in virtual time', () => {
  it('over equal channels takes bytes / total rate, plus at most a chunk and a round trip', () => {
    const c = chans([300e6, 300e6, 300e6, 300e6]);
    const bytes = 1000 * MiB;
    const r = simulateStripedTransfer(bytes, c, opts);
    const ideal = bytes / 1200e6;
    expect(r.seconds).toBeGreaterThanOrEqual(ideal);
    expect(r.seconds).toBeLessThanOrEqual(ideal + MiB / 300e6 + 50e-6 + 1e-9);
    expect(sum(r.perChannel)).toBe(bytes);
    expect(r.bytesResent).toBe(0);
    expect(r.chunks).toBe(1000);
  });

  it('gives each channel a share of the bytes proportional to its rate (fewest bytes in flight per unit of rate)', () => {
    const r = simulateStripedTransfer(900 * MiB, chans([100e6, 200e6, 600e6]), opts);
    const shares = [0, 1, 2].map((id) => r.perChannel.get(id)! / (900 * MiB));
    [1 / 9, 2 / 9, 6 / 9].forEach((want, i) => expect(Math.abs(shares[i]! - want)).toBeLessThan(0.01));
  });

  it('moves a dead channel’s unacknowledged chunks to the survivors once the sender notices', () => {
    const c = chans([300e6, 300e6]);
    const bytes = 600 * MiB;
    const clean = simulateStripedTransfer(bytes, c, opts);
    const r = simulateStripedTransfer(bytes, c, opts, [{ channel: 0, dies: 0.5, noticed: 1.5 }]);
    expect(sum(r.perChannel)).toBe(bytes);
    expect(r.perChannel.get(0)!).toBeLessThanOrEqual(0.5 * 300e6 + MiB);
    expect(r.bytesResent).toBeGreaterThan(0);
    expect(r.bytesResent).toBeLessThanOrEqual(8 * MiB + MiB); // at most its window (and the chunk in progress)
    // after the death only one channel carries: the rest takes about (bytes - carried) / 300 MB/s
    expect(r.seconds).toBeGreaterThan(clean.seconds);
    expect(r.seconds).toBeCloseTo((bytes - r.perChannel.get(0)!) / 300e6, 1);
  });

  it('lets survivors on the dead channel’s NIC take up its share when told how (rerate)', () => {
    const c = chans([250e6, 250e6, 250e6, 250e6]);
    const f = [{ channel: 0, dies: 0.1, noticed: 0.2 }];
    const fixed = simulateStripedTransfer(2000 * MiB, c, opts, f);
    const shared = simulateStripedTransfer(2000 * MiB, c, opts, f, (dead) => new Map(c.map((x) => [x.id, dead.has(x.id) ? 0 : 1000e6 / (4 - dead.size)])));
    expect(shared.seconds).toBeLessThan(fixed.seconds * 0.8);
    expect(shared.seconds).toBeCloseTo((2000 * MiB) / 1000e6, 1);
  });

  it('fails with the typed error when every channel dies before the end', () => {
    const f = [
      { channel: 0, dies: 0.1, noticed: 0.2 },
      { channel: 1, dies: 0.1, noticed: 0.3 },
    ];
    expect(() => simulateStripedTransfer(600 * MiB, chans([300e6, 300e6]), opts, f)).toThrow(AllChannelsLostError);
    // ...but not when the data was all acknowledged before
    expect(simulateStripedTransfer(10 * MiB, chans([300e6, 300e6]), opts, f).seconds).toBeLessThan(0.1);
  });

  it('delivers every byte exactly once for any schedule of deaths that leaves a channel alive (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 10, max: 1000 }), { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.tuple(fc.nat(), fc.double({ min: 0, max: 2, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 7 }),
        (ratesMb, mib, deaths) => {
          const c = chans(ratesMb.map((r) => r * 1e6));
          const failures = deaths.map(([ch, dies, lag]) => ({ channel: ch % c.length, dies, noticed: dies + lag }));
          const killed = new Set(failures.map((f) => f.channel));
          fc.pre(killed.size < c.length);
          const bytes = mib * MiB;
          const r = simulateStripedTransfer(bytes, c, opts, failures);
          expect(sum(r.perChannel)).toBe(bytes);
          expect(r.seconds).toBeGreaterThanOrEqual(bytes / c.reduce((s, x) => s + x.rate, 0));
          expect(simulateStripedTransfer(bytes, c, opts, failures)).toEqual(r); // deterministic
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('simulation chunking of large transfers', () => {
  const GiB = 2 ** 30;
  const eight = (rtt: number): SimChannel[] => Array.from({ length: 8 }, (_, id) => ({ id, rate: 0.3e9 + id * 1e7, rtt }));

  it("keeps the sender's settings up to 2 GiB, and above it uses at most 2048 chunks, ending within 2 x channels / 2048 of the sender's own schedule", () => {
    const ch = eight(50e-6);
    expect(simStripeOptions(2 * GiB, ch)).toEqual(SIM_STRIPE_DEFAULTS);
    for (const bytes of [3 * GiB, 16 * GiB + 12345]) {
      const o = simStripeOptions(bytes, ch);
      expect(Math.ceil(bytes / o.chunkSize)).toBeLessThanOrEqual(SIM_MAX_CHUNKS);
      expect(o.window).toBeGreaterThanOrEqual(o.chunkSize + Math.max(...ch.map((c) => c.rate * c.rtt)));
      const coarse = simulateStripedTransfer(bytes, ch, o);
      const fine = simulateStripedTransfer(bytes, ch, SIM_STRIPE_DEFAULTS);
      expect(coarse.chunks).toBeLessThanOrEqual(SIM_MAX_CHUNKS);
      expect(Math.abs(coarse.seconds - fine.seconds) / fine.seconds).toBeLessThanOrEqual((2 * ch.length) / SIM_MAX_CHUNKS);
    }
  });

  it("keeps the sender's settings where its 8 MiB window limits a channel (a long round trip), so the rate does not jump at 2 GiB", () => {
    const ch = eight(50e-3); // 0.3 GB/s x 50 ms = 15 MB in flight: window-bound
    expect(simStripeOptions(8 * GiB, ch)).toEqual(SIM_STRIPE_DEFAULTS);
    const below = simulateStripedTransfer(2 * GiB, ch, simStripeOptions(2 * GiB, ch));
    const above = simulateStripedTransfer(3 * GiB, ch, simStripeOptions(3 * GiB, ch));
    const rate = (bytes: number, sec: number) => bytes / sec;
    expect(rate(3 * GiB, above.seconds) / rate(2 * GiB, below.seconds)).toBeCloseTo(1, 1);
  });
});

