// `migbench migrate` and `migbench migrate-receiver` as processes (the compiled CLI; `npm test` builds it).
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStarted, startCli } from '../support/processes.js';

const dirs: string[] = [];
afterEach(() => {
  killStarted();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'migbench-cli-real-'));
  dirs.push(d);
  return d;
};

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => startCli(args, { env });

describe('migbench migrate', () => {
  it('moves a guest on loopback and prints the result record with the measurements and the prediction, made before the run by a calibration (exit 0)', async () => {
    const { code, stdout, stderr } = await cli(['migrate', '--memory', '64MiB', '--workload', 'web', '--channels', '2', '--probe', '16MiB', '--json']).done;
    expect(code, stderr).toBe(0);
    const r = JSON.parse(stdout);
    expect(r).toMatchObject({ engine: 'real', outcome: 'completed', verified: true, memory_verified: true, memory_bytes: 64 * 2 ** 20 });
    expect(r.real.link_goodput_bps).toBeGreaterThan(0);
    // the run's own probes are reported...
    expect(r.real.page_path_goodput_bps).toBeGreaterThan(0);
    expect(r.real.zero_scan_bps).toBeGreaterThan(0);
    // ...but the prediction comes from the calibration made before it (its own probes, another figure)
    expect(r.prediction.inputs).toMatchObject({ from: 'calibration', profile: null, link_rate_from: 'page-path probe' });
    expect(r.prediction.inputs.link_rate_bps).toBeGreaterThan(0);
    expect(r.prediction.inputs.link_rate_bps).not.toBe(r.real.page_path_goodput_bps);
    expect(r.prediction.post_hoc.run_probe_over_profile.page_path_goodput).toBeCloseTo(r.real.page_path_goodput_bps / r.prediction.inputs.link_rate_bps, 9);
    expect(r.real.hashes.dest_ram).toBe(r.real.hashes.source_ram);
    expect(r.prediction.sim.total_time_s).toBeGreaterThan(0);
    expect(r.prediction.ratio.total_time).toBeCloseTo(r.total_time_s / r.prediction.sim.total_time_s, 6);
  });

  it('Ctrl-C cancels: the migration rolls back, the guest stays on the source intact, nothing is left behind (exit 130)', async () => {
    const tmp = temp(); // the run's own temporary directory, to prove it is removed
    const dest = temp();
    // 100 Mbit/s: pre-copy of a 128 MiB guest takes seconds, so the signal lands in it
    const run = cli(['migrate', '--memory', '128MiB', '--workload', 'web', '--channels', '2', '--rate', '100Mbit/s', '--probe', '0', '--dest-dir', dest], { TMPDIR: tmp });
    for (let i = 0; i < 600 && !/migrating \d+ bytes/.test(run.stderr()) && run.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(run.stderr()).toMatch(/migrating \d+ bytes of memory over 2 channel\(s\)/);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT: cancelling the migration/);
    expect(stderr).toMatch(/migration rolled back \(cancelled\): cancelled by the operator .*the VM keeps running on the source \(memory intact\), 0 file\(s\) left on the destination/);
    expect(readdirSync(dest)).toEqual([]);
    expect(readdirSync(tmp).filter((f) => f.startsWith('migbench-real-'))).toEqual([]);
  });

  it("a terminal's Ctrl-C (to the whole process group) reaches only migrate: the destination survives to clean up, then exits", async () => {
    const dest = temp();
    // its own process group, as a shell's foreground job
    const run = startCli(['migrate', '--memory', '128MiB', '--workload', 'web', '--channels', '2', '--rate', '100Mbit/s', '--probe', '0', '--dest-dir', dest], { detached: true });
    for (let i = 0; i < 600 && !/migrating \d+ bytes/.test(run.stderr()) && run.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    process.kill(-run.child.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    const { code, stderr } = await run.done;
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/migration rolled back \(cancelled\)/);
    // the destination was not hit by the Ctrl-C: the rollback used the migration's own session
    expect(stderr).not.toMatch(/starting it again|abort over the migration session failed/);
    expect(readdirSync(dest)).toEqual([]);
    // the destination process (its command line names the directory) is gone too
    const alive = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dest);
      } catch {
        return false;
      }
    });
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });

  it('Ctrl-C while probing stops before anything moves (exit 130)', async () => {
    const tmp = temp();
    const run = cli(['migrate', '--memory', '64MiB', '--workload', 'web', '--channels', '2', '--rate', '20Mbit/s', '--probe', '64MiB', '--no-predict'], { TMPDIR: tmp });
    for (let i = 0; i < 600 && !/probing the link/.test(run.stderr()) && run.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(run.stderr()).toMatch(/probing the link to 127\.0\.0\.1:\d+ with 64 MiB/);
    run.child.kill('SIGINT');
    const { code, stderr } = await run.done;
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/migration cancelled before it started \(nothing was moved\)/);
    expect(stderr).not.toMatch(/migrating \d+ bytes/);
    expect(readdirSync(tmp).filter((f) => f.startsWith('migbench-real-'))).toEqual([]);
  });

  it('a fault rolls back: exit 3 with a message naming what happened', async () => {
    const { code, stdout, stderr } = await cli(['migrate', '--memory', '64MiB', '--workload', 'oltp', '--channels', '2', '--probe', '0', '--fault', 'dest-crash@precopy:0.5']).done;
    expect(code).toBe(3);
    expect(stdout).toMatch(/rolled back \(dest_crash\)/);
    expect(stderr).toMatch(/migbench: migration rolled back \(dest_crash\): the destination process died \(fault dest-crash@precopy:0.5\); the VM keeps running on the source \(memory intact\), 0 file\(s\) left on the destination/);
  });

  it('bad input exits 2 naming the flag', async () => {
    const key = join(temp(), 'key');
    writeFileSync(key, randomBytes(32).toString('hex'));
    const cases: [string[], string][] = [
      [['--mode', 'storage'], '--mode'],
      [['--mode', 'shared-nothing'], '--disk'],
      [['--to', '127.0.0.1:1'], '--key-file'],
      [['--channels', '3', '--to', '127.0.0.1:1,127.0.0.1:2', '--key-file', key], '--channels'],
      [['--fault', 'stall@precopy', '--to', '127.0.0.1:9', '--key-file', key], 'stall only with a local receiver'],
      [['--memory', '1000'], '--memory'],
      [['--rate', 'fast'], '--rate'],
      // Issue 15, item 6: checked against this host's memory (a 100TiB guest ran the host into the OOM killer).
      [['--memory', '3TiB'], '--memory: expected at most'],
      [['--memory', '100TiB'], '--memory: expected at most 4TiB'],
      [['--memory', '3TiB', '--to', '127.0.0.1:9', '--key-file', key], "of memory; the guest may use 75% of it"],
    ];
    const done = await Promise.all(cases.map(([args]) => cli(['migrate', ...args]).done));
    done.forEach((d, i) => {
      expect(d.code, cases[i]![0].join(' ')).toBe(2);
      expect(d.stderr).toContain(cases[i]![1]);
    });
  });

  it('migrates to a separately started migrate-receiver (--to, key file), which survives a dest-crash (its supervisor restarts it) and refuses a wrong key', async () => {
    const d = temp();
    const key = join(d, 'key');
    writeFileSync(key, `${randomBytes(32).toString('hex')}\n`);
    const dest = join(d, 'dest');
    mkdirSync(dest);
    // --allow-fault-injection: the test-only switch that lets the source's dest-crash fault kill it.
    const rx = cli(['migrate-receiver', '--listen', '127.0.0.1:0', '--dir', dest, '--key-file', key, '--reserve', '64MiB', '--json', '--allow-fault-injection']);
    const end = Date.now() + 20_000;
    while (!rx.stdout().includes('\n')) {
      if (Date.now() > end || rx.child.exitCode !== null) throw new Error(`migrate-receiver did not start: ${(await rx.done).stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const addr = JSON.parse(rx.stdout().split('\n')[0]!).listening[0] as string;
    const ok = await cli(['migrate', '--memory', '64MiB', '--workload', 'idle', '--to', addr, '--key-file', key, '--probe', '0', '--json']).done;
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ outcome: 'completed', verified: true, network: `${addr}-4ch` });
    expect(readdirSync(dest).filter((f) => f.endsWith('.vmcx'))).toHaveLength(1);
    // A second VM into the same reserved memory: it must be zeroed again (zero pages are not sent).
    const ok2 = await cli(['migrate', '--memory', '64MiB', '--workload', 'web', '--to', addr, '--key-file', key, '--probe', '0', '--json']).done;
    expect(ok2.code, ok2.stderr).toBe(0);
    expect(JSON.parse(ok2.stdout)).toMatchObject({ outcome: 'completed', verified: true });
    expect(readdirSync(dest).filter((f) => f.endsWith('.vmcx'))).toHaveLength(2);
    // The destination dies mid-copy: its supervisor restarts it, the restarted endpoint removes what the
    // migration left, and the source, having waited for it, confirms that nothing is left.
    const crash = await cli(['migrate', '--memory', '64MiB', '--workload', 'oltp', '--to', addr, '--key-file', key, '--probe', '0', '--fault', 'dest-crash@precopy:0.5', '--json']).done;
    expect(crash.code).toBe(3);
    const cr = JSON.parse(crash.stdout);
    expect(cr).toMatchObject({ outcome: 'rolled_back', rollback_reason: 'dest_crash', destination_files_left: 0, invariants_ok: true });
    expect(readdirSync(dest).filter((f) => !f.endsWith('.vmcx'))).toEqual([]);
    expect(readdirSync(dest)).toHaveLength(2);
    const again = await cli(['migrate', '--memory', '64MiB', '--workload', 'idle', '--to', addr, '--key-file', key, '--probe', '0', '--json']).done;
    expect(again.code, again.stderr).toBe(0);
    // A wrong key is refused by the receiver before anything moves.
    const badKey = join(d, 'bad');
    writeFileSync(badKey, randomBytes(32).toString('hex'));
    const bad = await cli(['migrate', '--memory', '64MiB', '--workload', 'idle', '--to', addr, '--key-file', badKey, '--probe', '0']).done;
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/cannot reach the destination .*authentication failed/);
    rx.child.kill('SIGTERM');
    await rx.done;
  });
});

describe('migbench migrate --help', () => {
  it("shows the real engine's default guest memory (1 GiB), not the simulator's", async () => {
    const r = await startCli(['migrate', '--help']).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--memory <SIZE>\s+guest memory \(default: 1GiB\)/);
  });
});
