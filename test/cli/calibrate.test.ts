// `migbench calibrate` as a process (the compiled CLI): loopback, small probes and guests.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProfile } from '../../src/drivers/real/profile.js';
import { killStarted, startCli } from '../support/processes.js';

const dirs: string[] = [];
afterEach(() => {
  killStarted();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'migbench-cli-calibrate-'));
  dirs.push(d);
  return d;
};
const cli = (args: string[]) => startCli(args, { timeoutMs: 120_000 }).done;
const small = ['--probe', '8MiB', '--memory', '16MiB'];

describe('migbench calibrate', () => {
  it('calibrates against a local receiver and writes a profile that loads (atomically: only the file in the folder)', async () => {
    const d = temp();
    const out = join(d, 'host.json');
    const { code, stdout, stderr } = await cli(['calibrate', '--channels', '2', '--migrations', '2', ...small, '--out', out, '--json']);
    expect(code, stderr).toBe(0);
    expect(readdirSync(d)).toEqual(['host.json']);
    const p = loadProfile(out);
    expect(JSON.parse(stdout)).toEqual(p);
    expect(p.target).toMatchObject({ to: null, dest_reserve: true, chunk_bytes: 2 ** 20 });
    expect(p.calibration).toMatchObject({ probe_bytes: 8 * 2 ** 20, migrations: 2, memory_bytes: 16 * 2 ** 20, workload: 'idle', zero_fraction: 0 });
    expect(p.links).toHaveLength(1);
    const l = p.links[0]!;
    expect(l).toMatchObject({ channels: 2, rate_bps: null, dest_page_cost_s: null });
    expect(l.page_path_goodput_bps).toBeGreaterThan(0);
    expect(l.zero_scan_bps).toBeGreaterThan(0);
    expect(l.migrations).toHaveLength(2);
    expect(new Set(l.migrations.map((m) => m.vm)).size).toBe(2);
    // the fixed costs are the medians of the migrations' phases less a round trip each
    const med = (xs: number[]) => (xs.length === 2 ? (xs[0]! + xs[1]!) / 2 : NaN);
    expect(l.cleanup_time_s).toBeCloseTo(med(l.migrations.map((m) => Math.max(0, m.cleanup_s - m.control_rtt_s))), 12);
    expect(l.resume_time_s).toBeCloseTo(med(l.migrations.map((m) => Math.max(0, m.resume_s - m.control_rtt_s))), 12);
    expect(stderr).toBe('');
  });

  it('calibrates each link of --channels and --rate lists, and prints a summary', async () => {
    const d = temp();
    const out = join(d, 'host.json');
    const { code, stdout, stderr } = await cli(['calibrate', '--channels', '1,2', '--rate', '200Mbit/s', '--migrations', '1', ...small, '--out', out]);
    expect(code, stderr).toBe(0);
    const p = loadProfile(out);
    expect(p.links.map((l) => [l.channels, l.rate_bps])).toEqual([[1, 25e6], [2, 25e6]]);
    // rate-limited: the link probe is the rate (no page path), the probe lasts at most 1.5 s of the rate
    // (whole MiB) and the guest moves in at most half a second
    expect(p.links[0]).toMatchObject({ page_path_goodput_bps: null, run_cost_s: null, probe_bytes: 8 * 2 ** 20 });
    expect(p.links[0]!.migrations[0]!.memory_bytes).toBe(11 * 2 ** 20);
    expect(stdout).toMatch(/calibrated .* to a local receiver on loopback \(memory reserved\)/);
    expect(stdout).toContain(`wrote ${out}`);
    expect(stderr).toMatch(/calibrating 1 channel\(s\) limited to 200 Mbit\/s: migration 1 of 1/);
  });

  it('--out into a folder that does not exist: exit 2 before anything is measured, nothing created', async () => {
    const d = temp();
    const { code, stderr } = await cli(['calibrate', ...small, '--out', join(d, 'no', 'host.json')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--out: expected a file in a folder that exists/);
    expect(stderr).not.toMatch(/calibrating/);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a calibration that fails (destination unreachable) writes nothing and leaves an older profile as it was (exit 3)', async () => {
    const d = temp();
    const key = join(d, 'key');
    writeFileSync(key, randomBytes(32).toString('hex'));
    const out = join(d, 'host.json');
    writeFileSync(out, 'the previous profile');
    const { code, stderr } = await cli(['calibrate', '--to', '127.0.0.1:1', '--key-file', key, '--channels', '1', ...small, '--out', out]);
    expect(code).toBe(3);
    expect(stderr).toMatch(/cannot reach the destination/);
    expect(readFileSync(out, 'utf8')).toBe('the previous profile');
    expect(readdirSync(d).sort()).toEqual(['host.json', 'key']);
  });

  it('bad input exits 2 naming the flag', async () => {
    const d = temp();
    const out = join(d, 'host.json');
    const cases: [string[], string][] = [
      [['--out', out, '--rate', 'fast'], '--rate'],
      [['--out', out, '--channels', '0'], '--channels'],
      [['--out', out, '--probe', '100KiB'], '--probe'],
      [['--out', out, '--migrations', '0'], '--migrations'],
      [['--out', out, '--to', '127.0.0.1:1'], '--key-file'],
      [['--out', d], '--out: expected a file, not a folder'],
      [[], "required option '--out <file>' not specified"],
    ];
    const done = await Promise.all(cases.map(([args]) => cli(['calibrate', ...args])));
    done.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toContain(cases[i]![1]);
    });
    expect(existsSync(out)).toBe(false);
  });
});
