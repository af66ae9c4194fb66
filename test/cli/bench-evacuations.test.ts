// Issue 11, item 4: a bench of a matrix with evacuations writes evacuations.csv (a row per evacuation run)
// and evacuation-vms.csv (a row per VM of each), deterministically; meta.json and the CLI say how many.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { memoryIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { parseMatrix } from '../../src/bench/matrix.js';
import { planMatrix } from '../../src/bench/plan.js';
import { runBench } from '../../src/bench/runner.js';
import { EVACUATION_NONDETERMINISTIC_COLUMNS, EVACUATION_RUN_COLUMNS, EVACUATION_VM_COLUMNS } from '../../src/report/bench-evacuations.js';

async function cli(...args: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

const MATRIX = `
seed: 5
repeats: 1
axes: { modes: [cluster], networks: [10g], transports: [tcp], workloads: [idle], vms: [512MiB], policies: [hyperv] }
evacuations:
  axes: { vms: [2, 3], maxLive: [1, 2], networks: [10g], transports: [tcp] }
  set: { memory: 512MiB, workload: idle, window: 1h }
  repeats: 2
`;

function setup(matrix = MATRIX) {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-bench-evac-'));
  const file = join(dir, 'm.yaml');
  writeFileSync(file, matrix);
  return { file, reports: join(dir, 'reports') };
}

const rowsOf = (file: string) => parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
const deterministic = (rows: Record<string, string>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !(EVACUATION_NONDETERMINISTIC_COLUMNS as readonly string[]).includes(k))));

describe('migbench bench with evacuations', () => {
  it('writes evacuations.csv and evacuation-vms.csv with a row per evacuation run and per VM, and says so', async () => {
    const { file, reports } = setup();
    const r = await cli('bench', '--matrix', file, '--reports', reports, '--name', 'a', '--threads', '2');
    expect(r.code).toBe(0);
    expect(r.err).toContain('m: 1 runs (1 scenarios x 1 repeats) and 8 evacuations (4 scenarios x 2 repeats, 20 VMs) on 2 threads');
    expect(r.out).toMatch(/evacuations: 8 of 8 drains \(20 VM moves, makespans [\d.]+ s to [\d.]+ s\): .*a\/evacuations\.csv, .*a\/evacuation-vms\.csv/);
    expect(r.out).toMatch(/1 of 1 runs and 8 of 8 evacuations in [\d.]+ s on 2 threads; reports in .*a\/ \(runs\.csv, rounds\.csv, summary\.csv, evacuations\.csv, evacuation-vms\.csv, report\.html, meta\.json\)/);

    const text = readFileSync(join(reports, 'a', 'evacuations.csv'), 'utf8');
    expect(text.split('\r\n')[0]).toBe(EVACUATION_RUN_COLUMNS.join(','));
    const rows = rowsOf(join(reports, 'a', 'evacuations.csv'));
    expect(rows.map((x) => x['run_id'])).toEqual([2, 3].flatMap((v) => [1, 2].flatMap((l) => [0, 1].map((k) => `evacuation/10g/tcp/${v}vms/live${l}#${k}`))));
    const meta = JSON.parse(readFileSync(join(reports, 'a', 'meta.json'), 'utf8'));
    for (const x of rows) {
      expect(x).toMatchObject({ report_id: meta.report_id, network: '10g', transport: 'tcp', mode: 'cluster', workload: 'idle', memory_bytes: String(512 * 2 ** 20), failed: '0', unplaced: '0', fits_window: 'true', source_link: 'source/nic1/tx' });
      expect(x['moved']).toBe(x['vms']);
      expect(Number(x['peak_live'])).toBe(Math.min(Number(x['vms']), Number(x['max_live'])));
      expect(Number(x['makespan_s'])).toBeGreaterThan(0);
      expect(Number(x['window_margin_s'])).toBeCloseTo(3600 - Number(x['makespan_s']), 3);
      const mean = Number(x['source_link_mean_utilisation']);
      expect(mean).toBeGreaterThan(0);
      expect(mean).toBeLessThanOrEqual(Number(x['source_link_peak_utilisation']));
      expect(Number(x['source_link_peak_utilisation'])).toBeLessThanOrEqual(1);
      expect(Number(x['harness_wall_ms'])).toBeGreaterThan(0);
    }
    // Two at a time drain faster than one at a time (one TCP stream does not fill 10GbE).
    const makespan = (id: string) => Number(rows.find((x) => x['run_id'] === id)!['makespan_s']);
    expect(makespan('evacuation/10g/tcp/3vms/live2#0')).toBeLessThan(makespan('evacuation/10g/tcp/3vms/live1#0'));

    const vms = rowsOf(join(reports, 'a', 'evacuation-vms.csv'));
    expect(Object.keys(vms[0]!)).toEqual([...EVACUATION_VM_COLUMNS]);
    expect(vms).toHaveLength(2 * 2 * 2 + 3 * 2 * 2);
    for (const x of rows) {
      const mine = vms.filter((v) => v['run_id'] === x['run_id']);
      expect(mine.map((v) => v['name']).sort()).toEqual(Array.from({ length: Number(x['vms']) }, (_, i) => `vm${i + 1}`));
      expect(mine.every((v) => v['outcome'] === 'completed' && v['destination'] === 'dest1')).toBe(true);
      expect(Math.max(...mine.map((v) => Number(v['end_s'])))).toBeCloseTo(Number(x['makespan_s']), 5);
    }

    expect(meta.evacuations).toEqual({ scenarios: 4, scenarios_total: 4, repeats: 2, runs_planned: 8, runs_finished: 8, vms_planned: 20, nondeterministic_columns: ['report_id', 'harness_wall_ms', 'harness_cpu_ms'] });
    expect(meta.runs_planned).toBe(1);
  });

  it('is deterministic: the same matrix gives the same evacuations.csv (harness columns aside) on 1 or 2 threads, and shards add up to the whole', async () => {
    const { file, reports } = setup();
    for (const [name, extra] of [['one', ['--threads', '1']], ['two', ['--threads', '2']], ['s1', ['--shard', '1/3']], ['s2', ['--shard', '2/3']], ['s3', ['--shard', '3/3']]] as const) {
      expect((await cli('bench', '--matrix', file, '--reports', reports, '--name', name, ...extra)).code).toBe(0);
    }
    const one = rowsOf(join(reports, 'one', 'evacuations.csv'));
    const two = rowsOf(join(reports, 'two', 'evacuations.csv'));
    expect(deterministic(two)).toEqual(deterministic(one));
    expect(one.map((r) => r['report_id'])).not.toEqual(two.map((r) => r['report_id']));
    expect(readFileSync(join(reports, 'one', 'evacuation-vms.csv'), 'utf8')).toBe(readFileSync(join(reports, 'two', 'evacuation-vms.csv'), 'utf8'));
    // Shards: scenario k of the evacuations in shard k mod 3 + 1; together exactly the whole.
    const parts = ['s1', 's2', 's3'].map((s) => rowsOf(join(reports, s, 'evacuations.csv')));
    expect(parts.map((p) => p.length)).toEqual([4, 2, 2]);
    const order = new Map(one.map((r, i) => [r['run_id'], i]));
    expect(deterministic(parts.flat().sort((a, b) => order.get(a['run_id'])! - order.get(b['run_id'])!))).toEqual(deterministic(one));
    // A different seed changes the results.
    expect((await cli('bench', '--matrix', file, '--reports', reports, '--name', 'seed', '--seed', '6')).code).toBe(0);
    expect(deterministic(rowsOf(join(reports, 'seed', 'evacuations.csv')))).not.toEqual(deterministic(one));
  });

  it('a matrix without evacuations writes neither file; one of evacuations only writes them and no run', async () => {
    const { file, reports } = setup(MATRIX.slice(0, MATRIX.indexOf('evacuations:')));
    const r = await cli('bench', '--matrix', file, '--reports', reports, '--name', 'plain');
    expect(r.code).toBe(0);
    expect(existsSync(join(reports, 'plain', 'evacuations.csv'))).toBe(false);
    expect(existsSync(join(reports, 'plain', 'evacuation-vms.csv'))).toBe(false);
    expect(r.out).not.toContain('evacuations');
    expect(JSON.parse(readFileSync(join(reports, 'plain', 'meta.json'), 'utf8')).evacuations).toBeNull();

    const only = setup(MATRIX.replace(/^axes:.*$/m, ''));
    const o = await cli('bench', '--matrix', only.file, '--reports', only.reports, '--name', 'only');
    expect(o.code).toBe(0);
    expect(o.err).toMatch(/m: 8 evacuations \(4 scenarios x 2 repeats, 20 VMs\) on \d+ threads?/);
    expect(o.out).toMatch(/^8 of 8 evacuations in /m);
    expect(rowsOf(join(only.reports, 'only', 'evacuations.csv'))).toHaveLength(8);
    expect(rowsOf(join(only.reports, 'only', 'runs.csv'))).toHaveLength(0);
    const html = readFileSync(join(only.reports, 'only', 'report.html'), 'utf8');
    expect(html).toContain('<h2 id="evacuations">Evacuations</h2>');
    expect(html).not.toContain('<h2 id="overview">');
  });

  it('an evacuation that fails in its worker is reported like a failed run: its run id, code and message', async () => {
    const plan = planMatrix(parseMatrix(MATRIX, 'm.yaml', 'yaml'));
    // A value the planner would refuse, planted past it: the worker's evacuationSpec refuses it.
    const bad = plan.evacuations!.runs[0]!;
    plan.evacuations!.runs[0] = { ...bad, scenario: { ...bad.scenario, evacuation: { ...bad.scenario.evacuation, maxLive: 0 } } };
    const out = await runBench(plan, { threads: 1 });
    expect(out.failure).toEqual({ runId: 'evacuation/10g/tcp/2vms/live1#0', code: 'E_INPUT', message: expect.stringContaining('--max-live: expected a whole number from 1 to 64, got 0') });
    expect(out.interrupted).toBe(true);
  });
});
