import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatBytes, formatDuration, formatRate, parseDuration, parseFraction, parseRate, parseSize, PAGE_SIZE } from '../../src/units/index.js';
import { UnitError } from '../../src/errors.js';

describe('parseSize', () => {
  it('reads IEC and SI sizes', () => {
    expect(parseSize('8GiB')).toBe(8 * 2 ** 30);
    expect(parseSize('8GB')).toBe(8e9);
    expect(parseSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5KiB')).toBe(1536);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('10pages')).toBe(10 * PAGE_SIZE);
    expect(parseSize('1TiB')).toBe(2 ** 40);
    expect(parseSize(' 2 GiB ')).toBe(2 * 2 ** 30);
  });
  it('rejects words and unknown units with the expected form', () => {
    for (const bad of ['eight', '8XB', '', '-1GiB', 'GiB', '1e400GiB']) {
      expect(() => parseSize(bad)).toThrow(UnitError);
    }
    expect(() => parseSize('eight')).toThrow(/8GiB/);
  });
});

describe('parseRate', () => {
  it('reads bit rates, byte rates and page rates into bytes per second', () => {
    expect(parseRate('10Gbit/s')).toBe(1.25e9);
    expect(parseRate('10Gbps')).toBe(1.25e9);
    expect(parseRate('100Mbit/s')).toBe(12.5e6);
    expect(parseRate('1.2GB/s')).toBeCloseTo(1.2e9);
    expect(parseRate('100MiB/s')).toBe(100 * 2 ** 20);
    expect(parseRate('25000pages/s')).toBe(25000 * 4096);
    expect(parseRate('1GBps')).toBe(1e9);
  });
  it('rejects sizes without a time unit and negative rates', () => {
    for (const bad of ['10G', '-5MB/s', 'fast', '10Gbit', '1Xbit/s']) expect(() => parseRate(bad)).toThrow(UnitError);
  });
});

describe('parseDuration and parseFraction', () => {
  it('reads durations into seconds', () => {
    expect(parseDuration('300ms')).toBeCloseTo(0.3);
    expect(parseDuration('2s')).toBe(2);
    expect(parseDuration('50us')).toBeCloseTo(50e-6);
    expect(parseDuration('1.5min')).toBe(90);
    expect(parseDuration('12.5s')).toBe(12.5);
    expect(() => parseDuration('soon')).toThrow(UnitError);
  });
  it('reads fractions and percentages in [0, 1]', () => {
    expect(parseFraction('25%')).toBe(0.25);
    expect(parseFraction('0.1')).toBe(0.1);
    expect(() => parseFraction('1.5')).toThrow(UnitError);
    expect(() => parseFraction('-1%')).toThrow(UnitError);
  });
});

describe('formatting', () => {
  it('prints sizes, rates and durations', () => {
    expect(formatBytes(8 * 2 ** 30)).toBe('8 GiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatRate(1.25e9)).toBe('10 Gbit/s');
    expect(formatDuration(0.3124)).toBe('312 ms');
    expect(formatDuration(4.523)).toBe('4.52 s');
    expect(formatDuration(35e-6)).toBe('35 us');
  });
  it('rounds durations before choosing the unit', () => {
    expect(formatDuration(959.6)).toBe('16 min 0 s');
    expect(formatDuration(723.2)).toBe('12 min 3 s');
    expect(formatDuration(599.7)).toBe('10 min 0 s');
    expect(formatDuration(0.99996)).toBe('1 s');
    expect(formatDuration(0.0009999)).toBe('1 ms');
    expect(formatDuration(-4.523)).toBe('-4.52 s');
    expect(formatBytes(1023.9 * 1024)).toBe('1 MiB');
    expect(formatRate(999.96e6 / 8)).toBe('1 Gbit/s');
    fc.assert(
      fc.property(fc.double({ min: 1e-7, max: 1e6, noNaN: true }), (s) => {
        const out = formatDuration(s);
        const m = /^(\d+) min (\d+) s$/.exec(out);
        if (m) expect(Number(m[2])).toBeLessThan(60);
        else expect(Number(out.split(' ')[0])).toBeLessThan(1000);
      }),
    );
  });
  it('round-trips formatted IEC sizes through the parser within print precision', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 45 }), (n) => {
        const back = parseSize(formatBytes(n, 6).replace(' ', ''));
        expect(Math.abs(back - n) / n).toBeLessThan(1e-5);
      }),
    );
  });
});
