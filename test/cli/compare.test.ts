import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    expect(r.out).toMatch(/^0 worse, 0 better, \d+ same; wrote .*same\/compare\.csv$/m);
    const rows = parse(readFileSync(join(copy, 'compare.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...COMPARE_COLUMNS]);
    expect(rows.every((x) => x['verdict'] === 'same')).toBe(true);
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
    expect(r.out).toMatch(new RegExp(`worse\\s+${victim.replace(/\//g, '\\/')}\\s+total_time_s\\s+deterministic\\s+[\\d.]+\\s+[\\d.]+\\s+8\\.00`));
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
    expect(r.out).toMatch(/worse\s+cluster\/1g\/tcp\/idle\/1GiB\/hyperv\s+harness_wall_ms\s+measured/);
    const meta = JSON.parse(readFileSync(join(copy, 'meta.json'), 'utf8'));
    meta.machine.cpu_model = 'Some Other CPU';
    writeFileSync(join(copy, 'meta.json'), JSON.stringify(meta));
    const other = await cli('compare', base, copy, '--metrics', 'harness_wall_ms,total_time_s');
    expect(other.code).toBe(0);
    expect(other.out).toMatch(/note: measured metrics not judged: the base ran on .*, the current report on \d+ x Some Other CPU/);
    expect((await cli('compare', base, copy, '--metrics', 'harness_wall_ms', '--any-machine')).code).toBe(1);
  });

  it.each([
    [['nosuch', 'nosuch2'], 'BASE: expected a runs.csv file or a report folder'],
    [['BASE', 'BASE', '--threshold', 'lots'], '--threshold: expected a share such as 5% or 0.05'],
    [['BASE', 'BASE', '--alpha', '2'], '--alpha'],
    [['BASE', 'BASE', '--metrics', 'bogus'], '--metrics: expected metrics present in both reports'],
  ])('bad input %j exits 2', async (args, message) => {
    const r = await cli('compare', ...args.map((a) => (a === 'BASE' ? base : a)));
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });
});
