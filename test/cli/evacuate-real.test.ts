// `migbench evacuate --engine real`: the simulated evacuate's JSON, every VM verified, and a prediction
// made before the drain from the profile alone (a hand-made profile's figures show in it); the engine's
// limits and the real-only flags refused with the flag named; an interrupted drain exits 130.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { memoryIo } from '../../src/cli/io.js';
import { fakeProfile } from '../support/profile.js';

async function cli(...args: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'migbench-evreal-'));
const KEY = join(dir, 'key');
writeFileSync(KEY, 'ab'.repeat(32));

describe('evacuate --engine real', () => {
  it('moves the VMs for real, each verified, in the simulated evacuate\'s shape, beside a prediction from the profile alone', async () => {
    // A profile of a slow link (100 MB/s page path) with a 2 s setup: a prediction made from it says so,
    // whatever the loopback run measures.
    const profile = join(dir, 'slow.json');
    writeFileSync(profile, JSON.stringify(fakeProfile({ links: [{ channels: 2, page_path_goodput_bps: 1e8, link_goodput_bps: 1e8, setup_time_s: 2 }] })));
    const r = await cli('evacuate', '--engine', 'real', '--vms', '3', '--memory', '16MiB', '--max-live', '2', '--channels', '2', '--profile', profile, '--json', '--out', join(dir, 'out'));
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.engine).toBe('real');
    expect(j.vms).toHaveLength(3);
    for (const v of j.vms) expect([v.outcome, v.verified]).toEqual(['completed', true]);
    for (const k of ['makespan_s', 'peak_live', 'moved', 'vm_count', 'migrations', 'links', 'timeline']) expect(j).toHaveProperty(k);
    expect(j.peak_live).toBe(2);
    // 2 s of setup for each VM, two waves (3 VMs, 2 at once): the prediction is over 4 s.
    expect(j.prediction.from).toBe('profile');
    expect(j.prediction.profile).toBe(profile);
    expect(j.prediction.inputs.setup_time_s).toBe(2);
    expect(j.prediction.makespan_s).toBeGreaterThan(4);
    expect(j.prediction.vms.map((v: { name: string }) => v.name).sort()).toEqual(['vm1', 'vm2', 'vm3']);
    expect(j.ratio.makespan).toBeCloseTo(j.makespan_s / j.prediction.makespan_s, 9);
    expect(j.real.vms).toHaveLength(3);
    for (const v of j.real.vms) expect(v.measured.hashes.dest_ram).toBe(v.measured.hashes.source_ram);
    const csv = readFileSync(join(dir, 'out', 'evacuation.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toContain('verified');
    expect(csv).toHaveLength(4);
    expect(JSON.parse(readFileSync(join(dir, 'out', 'evacuation.json'), 'utf8')).prediction.makespan_s).toBe(j.prediction.makespan_s);
  }, 120_000);

  it('prints the measurement beside the prediction for a person', async () => {
    const profile = join(dir, 'p.json');
    writeFileSync(profile, JSON.stringify(fakeProfile({ links: [{ channels: 1 }] })));
    const r = await cli('evacuate', '--engine', 'real', '--vms', '2', '--memory', '8MiB', '--max-live', '1', '--channels', '1', '--profile', profile, '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/with the real engine/);
    expect(r.out).toMatch(/verified\s+2 of 2/);
    expect(r.out).toMatch(/predicted\s+makespan .*: measured \/ predicted \d+\.\d\d \(from profile /);
    expect(r.out).toMatch(/measured beside predicted/);
  }, 120_000);

  it.each([
    [['--network', '10g'], '--network: expected no simulated network with --engine real'],
    [['--transport', 'smb'], '--transport: expected no --transport with --engine real'],
    [['--rolling', '3'], '--rolling: expected no --rolling with --engine real'],
    [['--fault', 'link-down@1s'], '--fault: expected no drain faults with --engine real'],
    [['--channels', '3', '--to', '127.0.0.1:1,127.0.0.1:2', '--key-file', KEY], '--channels: expected a multiple of the 2 --to address(es), got 3'],
    [['--profile', '/nonexistent/p.json'], '/nonexistent/p.json'],
  ])('refuses %j', async (args, text) => {
    const r = await cli('evacuate', '--engine', 'real', '--vms', '2', '--memory', '8MiB', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(text);
  });

  it('the real-only flags are refused without --engine real, and --engine takes sim or real', async () => {
    expect((await cli('evacuate', '--vms', '2', '--profile', 'x.json')).err).toContain('--profile: expected only with --engine real');
    expect((await cli('evacuate', '--vms', '2', '--key-file', 'k')).err).toContain('--key-file: expected only with --engine real');
    const e = await cli('evacuate', '--engine', 'vmware');
    expect(e.code).toBe(2);
    expect(e.err).toContain('--engine: expected sim or real');
  });

  it('a profile of another destination is refused before any guest starts', async () => {
    const profile = join(dir, 'remote.json');
    writeFileSync(profile, JSON.stringify(fakeProfile({ target: { to: ['10.9.9.9:7100'] } })));
    const r = await cli('evacuate', '--engine', 'real', '--vms', '2', '--memory', '8MiB', '--profile', profile);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/target\.to: expected a profile of this run's destination \(a local receiver on loopback\)/);
  });
});
