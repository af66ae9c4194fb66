import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { KIND_PHASES, MODE_FAULTS, MODE_PHASES, parseFault } from '../../src/migration/faults.js';

describe('fault specs', () => {
  it('parses a phase with or without a fraction, and a time', () => {
    expect(parseFault('link-down@precopy:0.25', 'cluster')).toEqual({ kind: 'link-down', when: { phase: 'precopy', fraction: 0.25 }, text: 'link-down@precopy:0.25' });
    expect(parseFault('stall@blackout', 'cluster').when).toEqual({ phase: 'blackout', fraction: 0.5 });
    expect(parseFault('dest-crash@12.5s', 'shared-nothing').when).toEqual({ time: 12.5 });
  });

  it.each([
    ['meltdown@precopy', 'cluster', /a fault kind among link-down/],
    ['link-down', 'cluster', /KIND@WHEN/],
    ['link-down@storage-copy', 'cluster', /a phase that mode cluster has \(config, precopy, blackout, handoff, resume, cleanup\)/],
    ['link-down@precopy', 'storage', /a fault kind that mode storage can suffer/],
    ['auth-failure@precopy', 'cluster', /a phase auth-failure can hit \(config\)/],
    ['dest-crash@cleanup', 'shared-nothing', /a phase dest-crash can hit/],
    ['stall@precopy:1.5', 'cluster', /fraction of the phase in \[0, 1\)/],
    ['stall@soon', 'cluster', /a phase .* or a time such as 12.5s/],
  ] as const)('rejects %s in mode %s', (text, mode, message) => {
    expect(() => parseFault(text, mode)).toThrow(InputError);
    expect(() => parseFault(text, mode)).toThrow(message);
  });

  it('keeps the tables consistent: every kind a mode allows can hit at least one of its phases', () => {
    for (const [mode, kinds] of Object.entries(MODE_FAULTS)) {
      for (const k of kinds) expect(KIND_PHASES[k].some((p) => MODE_PHASES[mode as keyof typeof MODE_PHASES].includes(p))).toBe(true);
    }
  });
});
