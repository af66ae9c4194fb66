import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { memoryIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { NONDETERMINISTIC_COLUMNS } from '../../src/bench/columns.js';
import { REFERENCE_VERSION } from '../../src/bench/reference.js';

async function cli(...args: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

const MATRIX = `
seed: 3
repeats: 2
axes:
  modes: [cluster]
  networks: [1g, 10g, 10g-rdma]
  transports: [tcp, smb]
  workloads: [idle, web]
  vms: [1GiB]
  policies: [hyperv, { name: qemu-ac, policy: qemu, autoConverge: true }]
exclude:
  - { network: 10g-rdma, transport: tcp, reason: tcp over 10g-rdma is the 10g link }
`;

function setup(matrix = MATRIX) {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-bench-'));
  const file = join(dir, 'm.yaml');
  writeFileSync(file, matrix);
  return { dir, file, reports: join(dir, 'reports') };
}

/** runs.csv rows without the report id and the harness (wall-time) columns, the only non-deterministic ones. */
function deterministicRows(csvText: string): Record<string, string>[] {
  const rows = parse(csvText, { columns: true }) as Record<string, string>[];
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !(NONDETERMINISTIC_COLUMNS as readonly string[]).includes(k))));
}

describe('migbench bench', () => {
  it('writes the report folder, points reports/latest at it and prints where and a summary table', async () => {
    const { file, reports } = setup();
    const r = await cli('bench', '--matrix', file, '--reports', reports, '--name', 'first', '--threads', '2');
    expect(r.code).toBe(0);
    for (const f of ['runs.csv', 'rounds.csv', 'summary.csv', 'report.html', 'meta.json']) expect(existsSync(join(reports, 'first', f)), f).toBe(true);
    expect(readdirSync(join(reports, 'first')).some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(lstatSync(join(reports, 'latest')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(reports, 'latest'))).toBe('first');
    expect(r.out).toMatch(/median total time \/ downtime, workload idle, VM 1GiB, policy hyperv/);
    expect(r.out).toMatch(/cluster\s+10g-rdma\s+-\s+\d/);
    expect(r.out).toMatch(/40 of 40 runs in [\d.]+ s on 2 threads; reports in .*first\/ \(runs\.csv, rounds\.csv, summary\.csv, report\.html, meta\.json\)/);
    const meta = JSON.parse(readFileSync(join(reports, 'first', 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ migbench_version: expect.any(String), node_version: process.version, threads: 2, runs_planned: 40, runs_finished: 40, interrupted: false, shard: null, nondeterministic_columns: ['report_id', 'harness_wall_ms', 'harness_wall_ratio', 'harness_cpu_ms', 'harness_cpu_ratio'], planted_slowdown: null });
    expect(meta.report_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.reference_workload).toMatchObject({ version: REFERENCE_VERSION, median_ms: expect.any(Number) });
    expect(meta.reference_workload.samples_ms.length).toBeGreaterThanOrEqual(16); // 8 per thread at least
    expect(meta.matrix).toMatchObject({ name: 'm', seed: 3, repeats: 2, scenarios: 20, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(meta.matrix.excluded[0]).toMatchObject({ scenarios: 4, reason: 'tcp over 10g-rdma is the 10g link' });
    expect(meta.machine.cpus).toBeGreaterThan(0);
    expect(meta.git_revision === null || /^[0-9a-f]{40}$/.test(meta.git_revision)).toBe(true);

    // A second bench moves reports/latest; the first folder stays.
    const r2 = await cli('bench', '--matrix', file, '--reports', reports, '--name', 'second', '--threads', '1');
    expect(r2.code).toBe(0);
    expect(readlinkSync(join(reports, 'latest'))).toBe('second');
    expect(existsSync(join(reports, 'first', 'runs.csv'))).toBe(true);
  });

  it('is deterministic: the same matrix gives the same runs.csv (harness wall time aside) on 1 or 2 threads', async () => {
    const { file, reports } = setup();
    expect((await cli('bench', '--matrix', file, '--reports', reports, '--name', 'a', '--threads', '1')).code).toBe(0);
    expect((await cli('bench', '--matrix', file, '--reports', reports, '--name', 'b', '--threads', '2')).code).toBe(0);
    const a = readFileSync(join(reports, 'a', 'runs.csv'), 'utf8');
    const b = readFileSync(join(reports, 'b', 'runs.csv'), 'utf8');
    expect(deterministicRows(a)).toEqual(deterministicRows(b));
    expect(readFileSync(join(reports, 'a', 'rounds.csv'), 'utf8')).toBe(readFileSync(join(reports, 'b', 'rounds.csv'), 'utf8'));
    // The wall-time column is there and is a positive number of milliseconds.
    for (const r of parse(a, { columns: true }) as Record<string, string>[]) expect(Number(r['harness_wall_ms'])).toBeGreaterThan(0);
    // A different seed changes the results.
    expect((await cli('bench', '--matrix', file, '--reports', reports, '--name', 'c', '--seed', '4')).code).toBe(0);
    expect(deterministicRows(readFileSync(join(reports, 'c', 'runs.csv'), 'utf8'))).not.toEqual(deterministicRows(a));
  });

  it('shards 1/2 and 2/2 together equal the whole', async () => {
    const { file, reports } = setup();
    for (const [name, extra] of [['whole', []], ['s1', ['--shard', '1/2']], ['s2', ['--shard', '2/2']]] as const) {
      expect((await cli('bench', '--matrix', file, '--reports', reports, '--name', name, ...extra)).code).toBe(0);
    }
    const whole = deterministicRows(readFileSync(join(reports, 'whole', 'runs.csv'), 'utf8'));
    const s1 = deterministicRows(readFileSync(join(reports, 's1', 'runs.csv'), 'utf8'));
    const s2 = deterministicRows(readFileSync(join(reports, 's2', 'runs.csv'), 'utf8'));
    expect(s1.length).toBeGreaterThan(0);
    expect(s2.length).toBeGreaterThan(0);
    const order = new Map(whole.map((r, i) => [r['run_id'], i]));
    const merged = [...s1, ...s2].sort((x, y) => order.get(x['run_id'])! - order.get(y['run_id'])!);
    expect(merged).toEqual(whole);
    expect(JSON.parse(readFileSync(join(reports, 's2', 'meta.json'), 'utf8')).shard).toBe('2/2');
  });

  it('a bad axis value exits 2 naming the file and the field path, and writes nothing', async () => {
    const { file, reports } = setup(MATRIX.replace('[1g, 10g, 10g-rdma]', '[1g, 10gig]'));
    const r = await cli('bench', '--matrix', file, '--reports', reports, '--name', 'bad');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/m\.yaml: axes\.networks\[1\]: expected a network profile \(1g, 2x1g, .*"10gig" is neither a profile nor a NIC spec.*got "10gig"/);
    expect(r.out).toBe('');
    expect(existsSync(reports)).toBe(false);
  });

  it.each([
    [['--threads', '0'], '--threads'],
    [['--shard', '3/2'], '--shard'],
    [['--name', '../x'], '--name'],
    [['--matrix', 'nosuch'], '--matrix'],
    [['--repeats', 'two'], '--repeats'],
  ])('bad option %j exits 2 naming %s', async (args, flag) => {
    const { file, reports } = setup();
    const r = await cli('bench', '--matrix', file, '--reports', reports, ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(flag);
  });

  it('a planted slowdown (test only) is refused when malformed and, when set, said on stderr and in meta.json', async () => {
    const { file, reports } = setup();
    const key = 'MIGBENCH_TEST_PLANTED_SLOWDOWN';
    try {
      process.env[key] = 'fast';
      const bad = await cli('bench', '--matrix', file, '--reports', reports, '--name', 'bad');
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('MIGBENCH_TEST_PLANTED_SLOWDOWN: expected a test-only slowdown factor');
      process.env[key] = '1.4';
      const r = await cli('bench', '--matrix', file, '--reports', reports, '--name', 'planted', '--threads', '1');
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/TEST ONLY: MIGBENCH_TEST_PLANTED_SLOWDOWN=1\.4/);
      const meta = JSON.parse(readFileSync(join(reports, 'planted', 'meta.json'), 'utf8'));
      expect(meta.planted_slowdown).toBe(1.4);
      expect(meta.warnings.join(' ')).toMatch(/TEST ONLY: a slowdown of 1\.4x was planted/);
      expect(readFileSync(join(reports, 'planted', 'report.html'), 'utf8')).toMatch(/TEST ONLY: a slowdown of 1\.4x was planted/);
    } finally {
      delete process.env[key];
    }
  });

  it('Ctrl-C stops scheduling, keeps what finished, leaves reports/latest alone and exits 130', async () => {
    const { file, reports } = setup(MATRIX.replace('repeats: 2', 'repeats: 40').replace('[1GiB]', '[4GiB]'));
    const child = spawn(process.execPath, ['bin/migbench.js', 'bench', '--matrix', file, '--reports', reports, '--name', 'cut', '--threads', '1', '--progress-interval', '50ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/bench m: \d+\/\d+ runs/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted; letting the runs in flight finish/);
    const meta = JSON.parse(readFileSync(join(reports, 'cut', 'meta.json'), 'utf8'));
    expect(meta.interrupted).toBe(true);
    expect(meta.runs_finished).toBeLessThan(800);
    const rows = parse(readFileSync(join(reports, 'cut', 'runs.csv'), 'utf8'), { columns: true }) as unknown[];
    expect(rows).toHaveLength(meta.runs_finished);
    expect(existsSync(join(reports, 'latest'))).toBe(false);
    expect(stdout).toMatch(/reports in .*cut\//);
  });
});
