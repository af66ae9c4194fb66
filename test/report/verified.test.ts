import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { simulate } from '../../src/drivers/sim/index.js';
import { benchRunsCsv } from '../../src/report/bench-csv.js';
import { RUN_COLUMNS } from '../../src/report/csv.js';
import { simVerified, type MigrationResult } from '../../src/result.js';
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
    expect(ok.verified).toBe(true);
    const back = sim(['dest-crash@precopy:0.5']);
    expect(back.outcome).toBe('rolled_back');
    expect(back.verified).toBeNull();
    expect(sim([], 'shared-nothing').verified).toBe(true);
  });

  it('sim: false when the memory check or a storage write failed', () => {
    expect(simVerified({ outcome: 'completed', memory_verified: false, writes_lost: 0 })).toBe(false);
    expect(simVerified({ outcome: 'completed', memory_verified: true, writes_lost: 2 })).toBe(false);
    expect(simVerified({ outcome: 'completed', memory_verified: null, writes_lost: 0 })).toBe(true); // storage-only move
    expect(simVerified({ outcome: 'rolled_back', memory_verified: null, writes_lost: 0 })).toBeNull();
  });
});
