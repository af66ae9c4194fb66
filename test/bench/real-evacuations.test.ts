// bench:real's drain list and the namespace bench's labels.
import { describe, expect, it } from 'vitest';
import { kernelLinks, parseDrains } from '../../src/bench/real-evacuations.js';
import { rateTag } from '../../src/bench/real-netns.js';
import { InputError } from '../../src/errors.js';

describe('parseDrains', () => {
  it('reads NxM lists', () => {
    expect(parseDrains('3x2, 6x3,1x1')).toEqual([{ vms: 3, maxLive: 2 }, { vms: 6, maxLive: 3 }, { vms: 1, maxLive: 1 }]);
    expect(parseDrains('none')).toEqual([]);
    expect(parseDrains('')).toEqual([]);
  });

  it.each(['3', '3x0', '2x3', '65x2', 'ax2', '3x2;4x2'])('refuses %s naming the flag and the form', (bad) => {
    expect(() => parseDrains(bad)).toThrow(InputError);
    expect(() => parseDrains(bad)).toThrow(/--evacuations: expected drains as VMSxAT_ONCE/);
  });
});

describe('rateTag', () => {
  it('labels a link rate for run names', () => {
    expect(rateTag(125e6)).toBe('1gbit');
    expect(rateTag(312.5e6)).toBe('2.5gbit');
    expect(rateTag(12.5e6)).toBe('100mbit');
  });
});

describe('kernelLinks', () => {
  const link = (name: string, mean: number, cap: number | null) => ({
    link: name,
    capacity_bps: cap,
    mean_bytes_per_s: mean,
    peak_bytes_per_s: mean * 1.2,
    mean_utilisation: cap === null ? null : (mean * 8) / cap,
    peak_utilisation: cap === null ? null : (mean * 1.2 * 8) / cap,
  });

  it('sums what the sending interfaces sent, and names the one busiest against its capacity', () => {
    const r = kernelLinks([link('source/a/tx', 100e6, 1e9), link('source/b/tx', 110e6, 1e9), link('source/b/rx', 5e6, 1e9), link('source/c/tx', 400e6, 10e9)]);
    expect(r['sent_bps']).toBe(8 * 610e6);
    expect(r['busiest_link']).toBe('source/b/tx');
    expect(r['busiest_link_mean_utilisation']).toBeCloseTo(0.88, 9);
    expect(r['busiest_link_peak_utilisation']).toBeCloseTo(1.056, 9);
  });

  it('loopback (no capacity): throughput only; no counters: all empty', () => {
    expect(kernelLinks([link('source/lo/tx', 2e9, null), link('source/lo/rx', 2e9, null)])).toEqual({ sent_bps: 16e9, busiest_link: null, busiest_link_mean_utilisation: null, busiest_link_peak_utilisation: null });
    expect(kernelLinks([])).toEqual({ sent_bps: null, busiest_link: null, busiest_link_mean_utilisation: null, busiest_link_peak_utilisation: null });
  });
});
