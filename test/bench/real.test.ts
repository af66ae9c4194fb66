import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { COMPARISON_COLUMNS, planLinks, planReal } from '../../src/bench/real.js';

describe('bench:real plan', () => {
  it('expands workloads x channels x rates x repeats with stable keys, distinct seeds and repeat-major order', () => {
    const { plan, runs } = planReal({ memory: 512 * 2 ** 20, workloads: ['idle', 'web', 'oltp'], channels: [1, 2, 4], rates: [125e6, null], repeats: 2, seed: 1 });
    expect(plan.scenarios).toHaveLength(18);
    expect(runs).toHaveLength(36);
    expect(runs[0]!.runId).toBe('cluster/loopback-1ch-1gbit/smb/idle/512MiB/hyperv#0');
    expect(runs[1]!.runId).toBe('cluster/loopback-1ch/smb/idle/512MiB/hyperv#0');
    expect(runs[18]!.repeat).toBe(1);
    expect(new Set(runs.map((r) => r.seed)).size).toBe(36);
    expect(new Set(runs.map((r) => r.index)).size).toBe(36);
    expect(runs.find((r) => r.runId.includes('loopback-4ch-1gbit/smb/oltp'))).toMatchObject({ channels: 4, rate: 125e6 });
  });

  it("lists the plan's links once each, in order: what its profile must calibrate", () => {
    const { runs } = planReal({ memory: 512 * 2 ** 20, workloads: ['idle', 'web'], channels: [1, 4], rates: [125e6, null], repeats: 2, seed: 1 });
    expect(planLinks(runs)).toEqual([{ channels: 1, rate: 125e6 }, { channels: 1, rate: null }, { channels: 4, rate: 125e6 }, { channels: 4, rate: null }]);
  });

  it('documents every comparison.csv column with a unit in docs/csv.md', () => {
    const doc = readFileSync(new URL('../../docs/csv.md', import.meta.url), 'utf8');
    const start = doc.indexOf('## comparison.csv');
    const section = doc.slice(start, doc.indexOf('\n## ', start + 1)).split('\n').filter((l) => l.startsWith('| `'));
    for (const c of COMPARISON_COLUMNS) {
      const row = section.find((l) => l.split('|')[1]!.includes(`\`${c}\``));
      expect(row, c).toBeDefined();
      expect(row!.split('|').length).toBeGreaterThanOrEqual(4);
    }
  });
});
