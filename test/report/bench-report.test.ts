import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMatrix } from '../../src/bench/matrix.js';
import { packageRoot } from '../../src/bench/paths.js';
import { planMatrix } from '../../src/bench/plan.js';
import { BENCH_RUN_COLUMNS } from '../../src/report/bench-csv.js';
import { checkReportName, defaultReportName, pointLatest, writeBenchReport } from '../../src/report/bench-report.js';

const loaded = parseMatrix('axes: {modes: [cluster], networks: [1g], transports: [tcp], workloads: [idle], vms: [1GiB], policies: [hyperv]}', 'm.yaml', 'yaml');

describe('report folder', () => {
  it('an interrupted bench with no finished run still writes a complete, empty report and leaves latest alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'migbench-report-'));
    const plan = planMatrix(loaded);
    const w = writeBenchReport({ root, name: 'empty', plan, matrix: loaded.matrix, matrixFile: 'm.yaml', outcome: { runs: [], interrupted: true, failure: null, wallS: 0 }, threads: 1, startedAt: new Date(), packageRoot: packageRoot() });
    expect(w.latest).toBe(false);
    expect(readFileSync(join(root, 'empty', 'runs.csv'), 'utf8')).toBe(BENCH_RUN_COLUMNS.join(',') + '\r\n');
    expect(JSON.parse(readFileSync(join(root, 'empty', 'meta.json'), 'utf8'))).toMatchObject({ runs_planned: 1, runs_finished: 0, interrupted: true });
    expect(readFileSync(join(root, 'empty', 'report.html'), 'utf8')).toContain('<h2>Excluded combinations</h2>');
    expect(existsSync(join(root, 'latest'))).toBe(false);
  });

  it('moves reports/latest atomically, and refuses to replace a real folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'migbench-latest-'));
    pointLatest(root, 'a');
    pointLatest(root, 'b');
    expect(readlinkSync(join(root, 'latest'))).toBe('b');
    const other = mkdtempSync(join(tmpdir(), 'migbench-latest-'));
    mkdirSync(join(other, 'latest'));
    expect(() => pointLatest(other, 'a')).toThrow(/is not a symbolic link/);
  });

  it('names folders by UTC time, uniquely, and checks given names', () => {
    const root = mkdtempSync(join(tmpdir(), 'migbench-names-'));
    const t = new Date('2026-11-25T23:02:11.123Z');
    expect(defaultReportName(root, t)).toBe('2026-11-25T23-02-11Z');
    mkdirSync(join(root, '2026-11-25T23-02-11Z'));
    expect(defaultReportName(root, t)).toBe('2026-11-25T23-02-11Z-2');
    expect(checkReportName('nightly-1')).toBe('nightly-1');
    for (const bad of ['latest', '../up', 'a/b', '', '.hidden']) expect(() => checkReportName(bad)).toThrow(/--name/);
  });
});
