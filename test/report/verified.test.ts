import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/drivers/sim/index.js';
import { RUN_COLUMNS, runsCsv } from '../../src/report/csv.js';
import { verifiedOf, withVerified, type MigrationResult } from '../../src/result.js';
import { resolveScenario } from '../../src/scenario.js';

const sim = (faults: string[] = [], mode = 'cluster'): MigrationResult =>
  simulate(resolveScenario({ memory: '256MiB', workload: 'web', network: '10g', transport: 'tcp', mode, disk: '1GiB', fault: faults }));

describe('verified', () => {
  it('is the last runs.csv column', () => {
    expect(RUN_COLUMNS.at(-1)).toBe('verified');
  });

  it('sim: true for a completed run whose checks held, null after a rollback', () => {
    const ok = sim();
    expect(ok.outcome).toBe('completed');
    expect(verifiedOf(ok)).toBe(true);
    const back = sim(['dest-crash@precopy:0.5']);
    expect(back.outcome).toBe('rolled_back');
    expect(verifiedOf(back)).toBeNull();
    const sn = sim([], 'shared-nothing');
    expect(withVerified(sn).verified).toBe(true);
  });

  it('sim: false when the memory check or a storage write failed, and an engine value wins', () => {
    const ok = sim();
    expect(verifiedOf({ ...ok, memory_verified: false })).toBe(false);
    expect(verifiedOf({ ...ok, writes_lost: 2 })).toBe(false);
    expect(verifiedOf({ ...ok, verified: false })).toBe(false);
    expect(verifiedOf({ ...ok, engine: 'real', verified: null })).toBeNull();
  });

  it('runs.csv carries it for sim records', () => {
    const csv = runsCsv([sim(), sim(['link-down@precopy'])]);
    const [head, a, b] = csv.trim().split('\r\n');
    expect(head!.split(',').at(-1)).toBe('verified');
    expect(a!.split(',').at(-1)).toBe('true');
    expect(b!.split(',').at(-1)).toBe('');
  });
});
