// bench:real's drain list and the namespace bench's labels.
import { describe, expect, it } from 'vitest';
import { parseDrains } from '../../src/bench/real-evacuations.js';
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
