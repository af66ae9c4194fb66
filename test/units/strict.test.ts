// Issue 15, item 7: one strict unit grammar. A lower-case b is a bit, an upper-case B a byte; sizes are
// bytes, so a size in bits is refused with a suggestion; prefixes are case-exact where case carries
// meaning (a lower-case m is milli); nothing beyond 2^53 - 1 bytes.
import { describe, expect, it } from 'vitest';
import { parseDuration, parseRate, parseSize } from '../../src/units/index.js';
import { UnitError } from '../../src/errors.js';

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UnitError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('rates: b is a bit, B is a byte', () => {
  it('reads 1Gb/s, 1Gbps and 1Gbit/s alike as one gigabit per second', () => {
    expect(parseRate('1Gb/s')).toBe(1.25e8);
    expect(parseRate('1Gbps')).toBe(1.25e8);
    expect(parseRate('1Gbit/s')).toBe(1.25e8);
    expect(parseRate('100Mb/s')).toBe(12.5e6);
    expect(parseRate('1kb/s')).toBe(125);
  });
  it('reads 1GB/s and 1GBps as one gigabyte per second', () => {
    expect(parseRate('1GB/s')).toBe(1e9);
    expect(parseRate('1GBps')).toBe(1e9);
    expect(parseRate('1GiB/s')).toBe(2 ** 30);
  });
  it('refuses a prefix in the wrong case, suggesting the right one', () => {
    expect(refusal(() => parseRate('100mbit/s'))).toMatch(/did you mean 100Mbit\/s\?/);
    expect(refusal(() => parseRate('1gbit/s'))).toMatch(/did you mean 1Gbit\/s\?/);
    expect(refusal(() => parseRate('1gbps'))).toMatch(/did you mean 1Gbps\?/);
    expect(() => parseRate('1mB/s')).toThrow(UnitError);
  });
});

describe('sizes: bytes only, case-exact', () => {
  it('refuses a size in bits (lower-case b) and names the byte forms', () => {
    for (const bad of ['8Gb', '8gb', '8Mb', '8b', '8Gbit', '2gib', '512mib']) {
      expect(refusal(() => parseSize(bad))).toMatch(/lower-case b .* is a bit/);
    }
    expect(refusal(() => parseSize('8Gb'))).toMatch(/did you mean 8GB or 8GiB\?/);
  });
  it('refuses a lower-case m, g or t prefix (a lower-case m is milli)', () => {
    for (const bad of ['8mB', '8gB', '8tB', '8MIB', '8GIB']) expect(() => parseSize(bad)).toThrow(UnitError);
    expect(parseSize('8kB')).toBe(8000);
    expect(parseSize('8KB')).toBe(8000);
    expect(parseSize('8KiB')).toBe(8192);
  });
  it('refuses sizes beyond 2^53 - 1 bytes instead of returning an inexact number', () => {
    expect(refusal(() => parseSize('99999999PiB'))).toMatch(/at most 2\^53 - 1 bytes/);
    expect(() => parseSize('10PB')).toThrow(UnitError);
    expect(parseSize('7PiB')).toBe(7 * 2 ** 50);
  });
});

describe('durations: case-exact, no ambiguous m', () => {
  it('refuses "5m" (minutes or milliseconds?) and upper-case units', () => {
    expect(refusal(() => parseDuration('5m'))).toMatch(/5min or 5ms/);
    expect(() => parseDuration('2MS')).toThrow(UnitError);
    expect(() => parseDuration('1S')).toThrow(UnitError);
    expect(parseDuration('1.5min')).toBe(90);
    expect(parseDuration('300ms')).toBeCloseTo(0.3);
  });
});
