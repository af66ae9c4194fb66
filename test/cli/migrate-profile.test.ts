// `migbench migrate`'s prediction: from --profile alone, or from a calibration it makes first; made before
// the migration; a profile of another path refused. The compiled CLI, loopback, small guests.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Profile } from '../../src/drivers/real/profile.js';
import { killStarted, startCli } from '../support/processes.js';
import { fakeProfile } from '../support/profile.js';

const dirs: string[] = [];
afterEach(() => {
  killStarted();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function profileFile(p: Profile | string): string {
  const d = mkdtempSync(join(tmpdir(), 'migbench-cli-profile-'));
  dirs.push(d);
  const f = join(d, 'host.json');
  writeFileSync(f, typeof p === 'string' ? p : JSON.stringify(p));
  return f;
}
const cli = (args: string[]) => startCli(args, { timeoutMs: 120_000 });
const base = ['migrate', '--memory', '64MiB', '--workload', 'idle', '--channels', '2'];

describe('migbench migrate --profile', () => {
  it('predicts from the profile alone, before moving: absurd fixed costs show in it, and runs that differ get the same prediction', async () => {
    const f = profileFile(fakeProfile({ links: [{ channels: 2, setup_time_s: 30, cleanup_time_s: 20 }] }));
    const a = await cli([...base, '--probe', '0', '--profile', f, '--json']).done;
    const b = await cli([...base, '--probe', '8MiB', '--profile', f, '--json']).done;
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ra = JSON.parse(a.stdout);
    const rb = JSON.parse(b.stdout);
    expect(ra.prediction.inputs).toMatchObject({ from: 'profile', profile: f, profile_created_at: '2026-12-01T10:00:00.000Z', link_rate_bps: 1e9, setup_time_s: 30, cleanup_time_s: 20, rtt_s: 0.001 });
    expect(ra.prediction.sim.total_time_s).toBeGreaterThan(50);
    expect(ra.total_time_s).toBeLessThan(50);
    expect(ra.prediction.ratio.total_time).toBeCloseTo(ra.total_time_s / ra.prediction.sim.total_time_s, 9);
    // the second run probed its own link and measured other figures: the prediction is the same
    expect(rb.real.page_path_goodput_bps).toBeGreaterThan(0);
    expect(rb.total_time_s).not.toBe(ra.total_time_s);
    expect(rb.prediction.inputs).toEqual(ra.prediction.inputs);
    expect(rb.prediction.sim).toEqual(ra.prediction.sim);
    expect(rb.prediction.post_hoc.run_probe_over_profile.page_path_goodput).toBeCloseTo(rb.real.page_path_goodput_bps / 1e9, 9);
    expect(a.stderr).toBe('');
  });

  it('says so before moving, and prints predicted beside measured', async () => {
    const f = profileFile(fakeProfile({ links: [{ channels: 2 }] }));
    const { code, stdout, stderr } = await cli([...base, '--probe', '0', '--profile', f]).done;
    expect(code, stderr).toBe(0);
    expect(stderr).not.toMatch(/calibrat/);
    expect(stderr.indexOf('predicted before moving (from profile')).toBeGreaterThanOrEqual(0);
    expect(stderr.indexOf('predicted before moving')).toBeLessThan(stderr.indexOf('migrating 67108864 bytes'));
    expect(stdout).toContain(`made before the migration from profile ${f} (calibrated 2026-12-01T10:00:00.000Z)`);
    expect(stdout).toMatch(/measured\/predicted +total .* \/ .* = \d+\.\d\d, downtime/);
  });

  it('without --profile calibrates first (probes and one tiny migration, before the run), then predicts, then moves', async () => {
    const { code, stdout, stderr } = await cli(['migrate', '--memory', '32MiB', '--workload', 'idle', '--channels', '2', '--probe', '8MiB']).done;
    expect(code, stderr).toBe(0);
    const at = (re: RegExp) => stderr.search(re);
    const order = [/calibrating first \(not part of the migration\)/, /calibration: probing the link/, /calibration: migrating 67108864 bytes/, /predicted before moving \(from the calibration\)/, /^migbench migrate: probing the link/m, /^migbench migrate: migrating 33554432 bytes/m].map(at);
    expect(order.every((i) => i >= 0), stderr).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(stdout).toContain('a calibration just before it (not counted in the migration)');
  });

  it('refuses a profile of another destination or link (exit 2, naming the file and field; nothing moves)', async () => {
    const other = profileFile(fakeProfile({ links: [{ channels: 2 }], target: { to: ['10.0.0.2:7100'] } }));
    const four = profileFile(fakeProfile({ links: [{ channels: 4 }] }));
    const [a, b] = await Promise.all([cli([...base, '--profile', other]).done, cli([...base, '--profile', four]).done]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(`${other}: target.to: expected a profile of this run's destination (a local receiver on loopback)`);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(`${four}: links: expected a calibration of 2 channel(s) unlimited`);
    for (const r of [a, b]) expect(r.stderr).not.toMatch(/migrating|calibrating/);
  });

  it('warns about lesser differences, in the record too', async () => {
    const f = profileFile(fakeProfile({ links: [{ channels: 2 }], target: { dest_reserve: false, chunk_bytes: 2 ** 21 } }));
    const { code, stdout, stderr } = await cli([...base, '--probe', '0', '--profile', f, '--json']).done;
    expect(code, stderr).toBe(0);
    const w = JSON.parse(stdout).prediction.warnings as string[];
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/did not reserve its memory, this run's does/);
    expect(stderr).toContain(`migbench migrate: warning: --profile ${f}: the profile was calibrated with --chunk 2097152 bytes, this run uses 1048576`);
  });

  it('a bad profile is refused naming the file and field; --no-predict skips everything', async () => {
    const p = fakeProfile({ links: [{ channels: 2 }] }) as unknown as { links: Record<string, unknown>[] };
    delete p.links[0]!['setup_time_s'];
    const f = profileFile(JSON.stringify(p));
    const bad = await cli([...base, '--profile', f]).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`migbench: ${f}: links[0].setup_time_s: expected setup time: seconds (a number >= 0) (missing)`);
    const skip = await cli([...base, '--probe', '0', '--profile', join(tmpdir(), 'no-such-profile.json'), '--no-predict', '--json']).done;
    expect(skip.code, skip.stderr).toBe(0);
    expect(JSON.parse(skip.stdout).prediction).toBeNull();
  });

  it('Ctrl-C during the calibration stops before anything moves (exit 130)', async () => {
    const run = cli([...base, '--rate', '20Mbit/s', '--probe', '64MiB']);
    for (let i = 0; i < 600 && !/calibration: probing the link/.test(run.stderr()) && run.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(run.stderr()).toMatch(/calibration: probing the link to 127\.0\.0\.1:\d+ with 3 MiB/);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    expect(code, stderr).toBe(130);
    expect(stderr).not.toMatch(/^migbench migrate: migrating/m);
  });
});
