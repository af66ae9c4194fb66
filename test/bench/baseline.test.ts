// The nightly job compares each night's bench with reports/baseline/: a baseline from another matrix
// or an older model would fail every night (or hide regressions in scenarios it lacks). These checks
// fail as soon as the model or the nightly matrix changes without a refreshed baseline
// (`npm run bench -- --matrix nightly --name baseline`, docs/bench.md).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadMatrix } from '../../src/bench/matrix.js';
import { planMatrix } from '../../src/bench/plan.js';
import { simulate } from '../../src/drivers/sim/index.js';
import { readRunsCsv } from '../../src/report/bench-csv.js';
import { RUN_COLUMNS } from '../../src/report/csv.js';
import { matrixHash } from '../../src/report/meta.js';
import { roundFor } from '../../src/report/numbers.js';
import { resolveScenario } from '../../src/scenario.js';

const meta = JSON.parse(readFileSync('reports/baseline/meta.json', 'utf8')) as { matrix: { sha256: string } };
const rows = readRunsCsv(readFileSync('reports/baseline/runs.csv', 'utf8'));
const loaded = loadMatrix('nightly');
const plan = planMatrix(loaded);

describe('reports/baseline', () => {
  it('was made from the current nightly matrix', () => {
    expect(meta.matrix.sha256).toBe(matrixHash(loaded.matrix));
    expect(rows).toHaveLength(plan.runs.length);
  });

  it('matches the current model: a sample of its runs simulated again gives the same deterministic columns (as runs.csv rounds them)', () => {
    const byId = new Map(plan.runs.map((r) => [r.runId, r]));
    const sample = rows.filter((_, i) => i % Math.ceil(rows.length / 40) === 0);
    expect(sample.length).toBeGreaterThanOrEqual(30);
    for (const row of sample) {
      const run = byId.get(String(row['run_id']));
      expect(run, `baseline run ${row['run_id']} is not in the nightly plan`).toBeDefined();
      const r = simulate(resolveScenario({ ...run!.scenario.input, seed: run!.seed })) as unknown as Record<string, unknown>;
      // Both sides as runs.csv now rounds them (a baseline written before the rounding has more digits).
      const written = (c: string, v: unknown) => (typeof v === 'number' ? roundFor(c, v) : (v ?? null));
      for (const c of RUN_COLUMNS) expect(written(c, row[c]), `${row['run_id']}: ${c}`).toEqual(written(c, r[c]));
    }
  });
});
