import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { memoryIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { COMPARE_COLUMNS } from '../../src/report/bench-csv.js';

async function cli(...args: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

const MATRIX = `
repeats: 3
axes:
  modes: [cluster]
  networks: [1g, 10g]
  transports: [tcp, smb]
  workloads: [idle, oltp]
  vms: [1GiB]
  policies: [hyperv]
`;

/** The simulated metrics: the same in any two runs of one matrix, whatever the machine's load (unlike harness time). */
const SIMULATED = 'total_time_s,downtime_ms,missed_pings,precopy_rounds';

/** Rewrite a report's runs.csv through a real CSV parser and writer, changing some rows. */
function edit(file: string, change: (row: Record<string, string>) => void): void {
  const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
  rows.forEach(change);
  writeFileSync(file, stringify(rows, { header: true, record_delimiter: 'windows' }));
}

describe('migbench compare', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-compare-'));
  writeFileSync(join(dir, 'm.yaml'), MATRIX);
  const reports = join(dir, 'reports');
  const bench = await cli('bench', '--matrix', join(dir, 'm.yaml'), '--reports', reports, '--name', 'base');
  const base = join(reports, 'base');

  it('the base bench ran', () => {
    expect(bench.code).toBe(0);
  });

  it('passes an unchanged copy of a report and writes compare.csv beside it', async () => {
    const copy = join(dir, 'same');
    cpSync(base, copy, { recursive: true });
    const r = await cli('compare', base, copy);
    expect(r.code).toBe(0);
    // harness_wall_ratio is not judged when both reports have harness_cpu_ratio (Linux): 8 rows.
    expect(r.out).toMatch(/^0 worse, 0 better, \d+ same(, 8 not compared)?; wrote .*same\/compare\.csv$/m);
    const rows = parse(readFileSync(join(copy, 'compare.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...COMPARE_COLUMNS]);
    expect(rows.every((x) => x['verdict'] === 'same' || (x['verdict'] === 'not_compared' && x['metric'] === 'harness_wall_ratio' && x['note'] !== ''))).toBe(true);
    expect(rows.some((x) => x['metric'] === 'harness_wall_ms' && x['kind'] === 'measured' && x['p_value'] === '1')).toBe(true);
    expect(rows.some((x) => x['metric'] === 'total_time_s' && x['kind'] === 'deterministic' && x['differs'] === 'false')).toBe(true);
  });

  it('flags a regression injected into a copy of a report and exits 1', async () => {
    const copy = join(dir, 'slower');
    cpSync(base, copy, { recursive: true });
    const victim = 'cluster/10g/smb/oltp/1GiB/hyperv';
    edit(join(copy, 'runs.csv'), (row) => {
      if (row['scenario'] === victim) row['total_time_s'] = String(Number(row['total_time_s']) * 1.08);
    });
    const r = await cli('compare', join(base, 'runs.csv'), copy, '--threshold', '5%');
    expect(r.code).toBe(1);
    // The regression names its scenario, metric, old and new value with units, the change and (n/a) p-value.
    expect(r.out).toMatch(new RegExp(`worse\\s+${victim.replace(/\//g, '\\/')}\\s+total_time_s\\s+[\\d.]+ s\\s+[\\d.]+ s\\s+\\+8\\.00%\\s+n/a`));
    expect(r.out).toMatch(/^1 worse, 0 better, \d+ same/m);
    expect(r.err).toMatch(/1 metric worse than the base beyond the threshold \(a regression\)/);
    const rows = parse(readFileSync(join(copy, 'compare.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.filter((x) => x['verdict'] === 'worse').map((x) => `${x['scenario']} ${x['metric']}`)).toEqual([`${victim} total_time_s`]);
    // A wider threshold lets the same change pass.
    expect((await cli('compare', base, copy, '--threshold', '10%', '--out', join(dir, 'wide.csv'))).code).toBe(0);
    expect(existsSync(join(dir, 'wide.csv'))).toBe(true);
  });

  it('judges wall time only with a significant t-test, and only on the same machine', async () => {
    const copy = join(dir, 'slowwall');
    cpSync(base, copy, { recursive: true });
    const victim = 'cluster/1g/tcp/idle/1GiB/hyperv';
    let i = 0;
    edit(join(copy, 'runs.csv'), (row) => {
      if (row['scenario'] === victim) row['harness_wall_ms'] = String(1000 + i++);
    });
    const r = await cli('compare', base, copy, '--metrics', 'harness_wall_ms,total_time_s');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/worse\s+cluster\/1g\/tcp\/idle\/1GiB\/hyperv\s+harness_wall_ms\s+[\d.]+ ms\s+1 s\s+\+[\d.]+%\s+[\d.e-]+/);
    const meta = JSON.parse(readFileSync(join(copy, 'meta.json'), 'utf8'));
    meta.machine.cpu_model = 'Some Other CPU';
    writeFileSync(join(copy, 'meta.json'), JSON.stringify(meta));
    const other = await cli('compare', base, copy, '--metrics', 'harness_wall_ms,total_time_s');
    expect(other.code).toBe(0);
    expect(other.out).toMatch(/note: harness_wall_ms not judged: the base ran on .*, the current report on \d+ x Some Other CPU; the ratios to the reference workload measured in the same bench are judged instead/);
    expect((await cli('compare', base, copy, '--metrics', 'harness_wall_ms', '--any-machine')).code).toBe(1);
  });

  it('--json: one JSON document naming each regression with units, change and p-value', async () => {
    const copy = join(dir, 'json');
    cpSync(base, copy, { recursive: true });
    const victim = 'cluster/1g/smb/oltp/1GiB/hyperv';
    edit(join(copy, 'runs.csv'), (row) => {
      if (row['scenario'] === victim) row['downtime_ms'] = String(Number(row['downtime_ms']) * 1.5);
    });
    const r = await cli('compare', base, copy, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ refused: false, regression: true, matched_runs: 24, counts: { worse: 1 } });
    expect(j.regressions).toHaveLength(1);
    expect(j.regressions[0]).toMatchObject({ scenario: victim, metric: 'downtime_ms', unit: 'ms', kind: 'deterministic', verdict: 'worse', p_value: null });
    expect(j.regressions[0].change_pct).toBeCloseTo(50, 6);
    expect(j.regressions[0].new / j.regressions[0].old).toBeCloseTo(1.5, 6);
    expect(j.regressions[0].old_text).toMatch(/^[\d.]+ ms$/);
  });

  it('--markdown: a summary for $GITHUB_STEP_SUMMARY with the regression in a table', async () => {
    const r = await cli('compare', base, join(dir, 'json'), '--markdown');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^### migbench compare: ❌ 1 regression/);
    expect(r.out).toContain('| scenario | metric | old | new | change | p-value |');
    expect(r.out).toMatch(/\| cluster\/1g\/smb\/oltp\/1GiB\/hyperv \| `downtime_ms` \| [\d.]+ ms \| [\d.]+ ms \| \+50\.00% \| n\/a \|/);
    const same = await cli('compare', base, base, '--markdown', '--out', join(dir, 'same.csv'));
    expect(same.code).toBe(0);
    expect(same.out).toMatch(/^### migbench compare: ✅ no regression/);
  });

  it('refuses (exit 2, saying why) reports of another matrix, unless --allow-partial', async () => {
    writeFileSync(join(dir, 'other.yaml'), MATRIX.replace('networks: [1g, 10g]', 'networks: [1g]'));
    expect((await cli('bench', '--matrix', join(dir, 'other.yaml'), '--reports', reports, '--name', 'other')).code).toBe(0);
    const r = await cli('compare', base, join(reports, 'other'), '--markdown');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not comparable: the matrices differ: BASE was made from m \(sha256 [0-9a-f]{12}\), CURRENT from other .*4 of BASE's 8 scenarios are missing from CURRENT/);
    expect(r.out).toMatch(/^### migbench compare: ⛔ not compared/);
    // Two separate runs: only the deterministic metrics (harness time moves with the machine's load).
    const partial = await cli('compare', base, join(reports, 'other'), '--allow-partial', '--metrics', SIMULATED);
    expect(partial.code).toBe(0);
    expect(partial.out).toMatch(/^12 runs matched by run_id; 12 only in BASE, 0 only in CURRENT/m);
    expect(partial.out).toMatch(/note: partial comparison \(--allow-partial\): the matrices differ/);
  });

  it('5 repeats against 3 is refused; allowed, it compares the matched runs and finds nothing (deterministic runs)', async () => {
    expect((await cli('bench', '--matrix', join(dir, 'm.yaml'), '--reports', reports, '--name', 'more', '--repeats', '5')).code).toBe(0);
    const r = await cli('compare', base, join(reports, 'more'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the repeats differ: BASE 3, CURRENT 5/);
    const partial = await cli('compare', base, join(reports, 'more'), '--allow-partial', '--metrics', SIMULATED);
    expect(partial.code).toBe(0);
    expect(partial.out).toMatch(/^0 worse, 0 better, 32 same/m);
  });

  it('refuses when nothing matches, even with --allow-partial (another shard)', async () => {
    for (const s of ['1', '2']) expect((await cli('bench', '--matrix', join(dir, 'm.yaml'), '--reports', reports, '--name', `shard${s}`, '--shard', `${s}/2`)).code).toBe(0);
    const r = await cli('compare', join(reports, 'shard1'), join(reports, 'shard2'), '--allow-partial', '--json');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nothing to compare: no run of CURRENT has a run_id found in BASE/);
    expect(JSON.parse(r.out)).toMatchObject({ refused: true, regression: null });
    // A shard against the whole base: only its own scenarios are expected, and it passes.
    const ok = await cli('compare', base, join(reports, 'shard2'), '--metrics', SIMULATED);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/note: CURRENT is shard 2\/2: 4 of BASE's 8 scenarios are its own/);
  });

  it.each([
    [['nosuch', 'nosuch2'], 'BASE: expected a runs.csv file or a report folder'],
    [['BASE', 'BASE', '--threshold', 'lots'], '--threshold: expected a share such as 5% or 0.05'],
    [['BASE', 'BASE', '--alpha', '2'], '--alpha'],
    [['BASE', 'BASE', '--metrics', 'bogus'], '--metrics: expected metrics present in both reports'],
    [['BASE', 'BASE', '--json', '--markdown'], '--json, --markdown: expected one output format, not both'],
  ])('bad input %j exits 2', async (args, message) => {
    const r = await cli('compare', ...args.map((a) => (a === 'BASE' ? base : a)));
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });
});

describe('migbench compare: evacuations', async () => {
  const EVAC = `
repeats: 2
axes:
  modes: [cluster]
  networks: [10g]
  transports: [tcp]
  workloads: [idle]
  vms: [1GiB]
  policies: [hyperv]
evacuations:
  axes: {vms: [3], maxLive: [1, 2], networks: [10g], transports: [tcp, smb]}
  set: {memory: 1GiB, workload: web}
`;
  const dir = mkdtempSync(join(tmpdir(), 'migbench-compare-ev-'));
  writeFileSync(join(dir, 'e.yaml'), EVAC);
  writeFileSync(join(dir, 'only.yaml'), EVAC.replace(/^axes:\n(  .*\n)+/m, ''));
  const reports = join(dir, 'reports');
  const made = await Promise.all([
    cli('bench', '--matrix', join(dir, 'e.yaml'), '--reports', reports, '--name', 'base'),
    cli('bench', '--matrix', join(dir, 'only.yaml'), '--reports', reports, '--name', 'only'),
  ]);
  const base = join(reports, 'base');
  const victim = 'evacuation/10g/smb/3vms/live2';

  it('the benches ran, one of evacuations only', () => {
    expect(made.map((m) => m.code)).toEqual([0, 0]);
  });

  it("compares evacuations.csv beside runs.csv: a slower drain is a regression naming its scenario and makespan_s", async () => {
    const copy = join(dir, 'slower');
    cpSync(base, copy, { recursive: true });
    edit(join(copy, 'evacuations.csv'), (row) => {
      if (row['scenario'] === victim) row['makespan_s'] = String(Number(row['makespan_s']) * 1.2);
    });
    const r = await cli('compare', base, copy, '--metrics', `${SIMULATED},makespan_s,moved`, '--json');
    expect(r.code, r.err).toBe(1);
    const j = JSON.parse(r.out) as { regression: boolean; matched_runs: number; regressions: { scenario: string; metric: string }[] };
    expect(j.regression).toBe(true);
    // 2 runs of the one migration scenario and 8 evacuation runs (4 scenarios x 2 repeats).
    expect(j.matched_runs).toBe(10);
    expect(j.regressions.map((x) => `${x.scenario} ${x.metric}`)).toEqual([`${victim} makespan_s`]);
    const same = await cli('compare', base, base, '--metrics', `${SIMULATED},makespan_s,moved,failed,unplaced`);
    expect(same.code, same.out + same.err).toBe(0);
    expect(same.out).toMatch(/^10 runs matched by run_id/m);
  });

  it('a drain that moved fewer VMs is a regression; judged by default (moved, failed: counts, higher and lower is better)', async () => {
    const copy = join(dir, 'fewer');
    cpSync(base, copy, { recursive: true });
    edit(join(copy, 'evacuations.csv'), (row) => {
      if (row['scenario'] === victim) {
        row['moved'] = '2';
        row['failed'] = '1';
      }
    });
    const r = await cli('compare', base, copy, '--json', '--metrics', 'moved,failed,makespan_s');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { regressions: { scenario: string; metric: string }[] };
    expect(j.regressions.map((x) => `${x.scenario} ${x.metric}`).sort()).toEqual([`${victim} failed`, `${victim} moved`]);
  });

  it('an evacuations-only bench compares with itself; a report without its evacuations is refused (exit 2)', async () => {
    const only = join(reports, 'only');
    const r = await cli('compare', only, only);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^8 runs matched by run_id/m);
    const gone = join(dir, 'gone');
    cpSync(base, gone, { recursive: true });
    rmSync(join(gone, 'evacuations.csv'));
    const refused = await cli('compare', base, gone);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/4 of BASE's 4 scenarios are missing from CURRENT: evacuation\/10g\/tcp\/3vms\/live1/);
  });
});
