// `npm run bench:real` (the compiled script) on a tiny matrix: every row's prediction from one profile,
// given (--profile) or calibrated at the start and written to the report; comparison.csv says which.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadProfile } from '../../src/drivers/real/profile.js';
import { killStarted, startProcess } from '../support/processes.js';
import { fakeProfile } from '../support/profile.js';

const SCRIPT = new URL('../../dist/bench/real.js', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => {
  killStarted();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'migbench-bench-real-'));
  dirs.push(d);
  return d;
};
const bench = (args: string[]) => startProcess(process.execPath, [SCRIPT, '--memory', '32MiB', '--workloads', 'idle', '--channels', '2', '--headline-repeats', '0', '--name', 't', ...args], { timeoutMs: 180_000 }).done;
const rows = (dir: string) => parse(readFileSync(join(dir, 't', 'comparison.csv'), 'utf8'), { columns: true }) as Record<string, string>[];

describe('bench:real and its profile', () => {
  it('--profile: every row is predicted from it (its absurd setup time shows), and the CSV names it', async () => {
    const d = temp();
    const f = join(d, 'host.json');
    writeFileSync(f, JSON.stringify(fakeProfile({ links: [{ channels: 2, setup_time_s: 30 }, { channels: 2, rate_bps: 125e6, page_path_goodput_bps: null, link_goodput_bps: 120e6, setup_time_s: 40 }] })));
    const { code, stdout, stderr } = await bench(['--rates', '1Gbit/s,none', '--profile', f, '--reports', d]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`every prediction from profile ${f} (made 2026-12-01T10:00:00.000Z), before its run`);
    const r = rows(d);
    expect(r).toHaveLength(2);
    for (const row of r) {
      expect(row['prediction_from']).toBe('profile');
      expect(row['profile']).toBe(f);
      expect(Number(row['total_time_ratio'])).toBeCloseTo(Number(row['measured_total_time_s']) / Number(row['predicted_total_time_s']), 4);
      expect(row['measured_downtime_ms']).not.toBe('');
      expect(row['predicted_downtime_ms']).not.toBe('');
    }
    const limited = r.find((x) => x['rate_limit_bps'] !== '')!;
    const unlimited = r.find((x) => x['rate_limit_bps'] === '')!;
    expect(Number(limited['sim_setup_time_s'])).toBe(40);
    expect(Number(limited['sim_link_rate_bps'])).toBe(960e6);
    expect(Number(limited['predicted_total_time_s'])).toBeGreaterThan(40);
    expect(Number(unlimited['sim_setup_time_s'])).toBe(30);
    expect(Number(unlimited['sim_link_rate_bps'])).toBe(8e9);
    expect(Number(unlimited['predicted_total_time_s'])).toBeGreaterThan(30);
  });

  it('--profile without a link the matrix uses: refused before any run (exit 2)', async () => {
    const d = temp();
    const f = join(d, 'host.json');
    writeFileSync(f, JSON.stringify(fakeProfile({ links: [{ channels: 4 }] })));
    const { code, stderr } = await bench(['--rates', 'none', '--profile', f, '--reports', d]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${f}: links: expected a calibration of 2 channel(s) unlimited`);
    expect(existsSync(join(d, 't'))).toBe(false);
  });

  it('without a profile: calibrates every link once at the start, writes it to the report, and predicts from it', async () => {
    const d = temp();
    const { code, stdout, stderr } = await bench(['--rates', 'none', '--calibration-migrations', '1', '--reports', d]);
    expect(code, stderr).toBe(0);
    const f = join(d, 't', 'profile.json');
    const p = loadProfile(f);
    expect(p.links.map((l) => [l.channels, l.rate_bps])).toEqual([[2, null]]);
    expect(stdout.indexOf('calibrating 1 link(s) first')).toBeLessThan(stdout.indexOf('cluster/loopback-2ch/'));
    const [row] = rows(d);
    expect(row).toMatchObject({ prediction_from: 'calibration', profile: f, profile_created_at: p.created_at });
    expect(Number(row!['sim_link_rate_bps'])).toBe(Math.round(p.links[0]!.page_path_goodput_bps! * 8));
  });
});
