// Real migrations over real links (issue 12, item 4): two network namespaces joined by two veth pairs,
// each shaped by the kernel (tc tbf) to 1 Gbit/s; migrate-receiver in one, `migrate` and `evacuate
// --engine real` in the other with --to. Every guest verified byte for byte; the kernel's shaping seen in
// what crossed each link; everything removed afterwards. And `bench:real -- --netns` end to end, or its
// clear refusal without root. Root only (CI runs as root); elsewhere it skips and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetnsPair, netnsUnavailable, type NetnsPair } from '../../src/bench/netns.js';
import { packageRoot } from '../../src/bench/paths.js';
import { BIN, startProcess, type Started } from '../support/processes.js';

const RATE = 125e6; // 1 Gbit/s per link
const BENCH = join(packageRoot(), 'dist', 'bench', 'real.js');
const why = netnsUnavailable();
if (why) console.warn(`real-engine netns test skipped: ${why}`);
it.runIf(process.env['CI'] === 'true')('can use network namespaces in CI', () => {
  expect(why, `netns test would skip in CI: ${why}`).toBeUndefined();
});

describe.skipIf(why !== undefined)('real migrations between namespaces over tbf-shaped 1 Gbit/s links', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-real-netns-'));
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'));
  mkdirSync(join(dir, 'vms'));
  let net: NetnsPair;
  let receiver: ChildProcess | undefined;
  let to = '';
  let bind = '';
  const inSrc = (args: string[], timeoutMs = 120_000): Started => startProcess('ip', ['netns', 'exec', net.src, process.execPath, BIN, ...args], { timeoutMs });

  beforeAll(async () => {
    net = createNetnsPair({ tag: `r${process.pid % 10000}`, links: 2, rate: RATE, subnet: 232 });
    to = net.links.map((l) => `${l.dstAddr}:7100`).join(',');
    bind = net.links.map((l) => l.srcAddr).join(',');
    receiver = net.spawn('dst', process.execPath, [BIN, 'migrate-receiver', '--listen', to, '--dir', join(dir, 'vms'), '--key-file', keyFile, '--max-incoming', '8', '--json', '--quiet', '--no-supervise'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    receiver.stdout!.on('data', (d) => (out += d));
    const end = Date.now() + 15_000;
    while (!out.includes('listening')) {
      if (Date.now() > end || receiver.exitCode !== null) throw new Error('the receiver in the namespace did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
  }, 30_000);

  afterAll(() => {
    receiver?.kill('SIGKILL');
    net?.remove();
    rmSync(dir, { recursive: true, force: true });
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(left).not.toContain(net.src);
    expect(left).not.toContain(net.dst);
  });

  it('migrate --to both links: verified, striped over both, never faster than the kernel lets two 1 Gbit/s links carry', async () => {
    const before = [net.sentBytes(0), net.sentBytes(1)];
    const r = await inSrc(['migrate', '--to', to, '--bind', bind, '--key-file', keyFile, '--memory', '128MiB', '--workload', 'web', '--channels', '4', '--probe', '16MiB', '--no-predict', '--json']).done;
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verified).toBe(true);
    expect(j.real.hashes.dest_ram).toBe(j.real.hashes.source_ram);
    const sent = [net.sentBytes(0) - before[0]!, net.sentBytes(1) - before[1]!];
    // Each link carried a good part of the memory (striping), and the pre-copy's memory could not have
    // crossed faster than both shaped links together (5% for the bucket).
    for (const s of sent) expect(s).toBeGreaterThan(0.25 * j.memory_bytes_sent);
    expect(j.memory_bytes_sent / j.real.phases.precopy_s).toBeLessThan(2 * RATE * 1.05);
  }, 120_000);

  it('evacuate --engine real --to: three guests two at a time, all verified, beside the prediction from a calibration of these links', async () => {
    const vmcx = () => readdirSync(join(dir, 'vms')).filter((f) => f.endsWith('.vmcx')).length;
    const before = vmcx();
    const r = await inSrc(['evacuate', '--engine', 'real', '--to', to, '--bind', bind, '--key-file', keyFile, '--vms', '3', '--memory', '64MiB', '--workload', 'web', '--max-live', '2', '--channels', '4', '--probe', '32MiB', '--json'], 180_000).done;
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.vms.map((v: { verified: boolean }) => v.verified)).toEqual([true, true, true]);
    expect(j.peak_live).toBe(2);
    expect(j.prediction.from).toBe('calibration');
    // The calibrated link is the shaped pair, not loopback: at most the two links' rate.
    expect(j.prediction.inputs.link_rate_bps).toBeLessThan(2 * RATE * 1.05);
    expect(j.ratio.makespan).toBeGreaterThan(0);
    // The three guests' memory crossed two 1 Gbit/s links: the drain cannot be shorter than that.
    const bytes = j.vms.reduce((t: number, v: { memory_bytes_sent: number }) => t + v.memory_bytes_sent, 0);
    expect(j.makespan_s).toBeGreaterThan(bytes / (2 * RATE * 1.05));
    // The kernel's counters of the two shaped interfaces: each carried a good share of the drain, at most
    // its tbf rate (the capacity it reports, the veth's 10 Gbit/s being higher), in every timeline slice.
    type Link = { link: string; capacity_bps: number | null; mean_utilisation: number | null; peak_utilisation: number | null };
    for (const l of net.links) {
      const u = (j.links as Link[]).find((x) => x.link === `source/${l.srcIf}/tx`);
      expect(u, JSON.stringify(j.links)).toBeDefined();
      expect(u!.capacity_bps).toBe(8 * RATE);
      expect(u!.mean_utilisation!).toBeGreaterThan(0.2);
      expect(u!.peak_utilisation!).toBeLessThan(1.1);
    }
    expect(j.timeline.samples.length).toBeGreaterThan(2 * j.links.length);
    // The receiver keeps the three VMs it received, not the calibration's (scratch: removed once verified).
    expect(vmcx() - before).toBe(3);
  }, 180_000);

  it('bench:real -- --netns: a small matrix and a drain over its own namespaces, verified, with reports, and nothing left', async () => {
    const reports = join(dir, 'reports');
    const r = await startProcess(process.execPath, [BENCH, '--netns', '--netns-rates', '1Gbit/s', '--workloads', 'web', '--channels', '2', '--memory', '64MiB', '--evacuations', '3x2', '--evacuation-memory', '64MiB', '--calibration-migrations', '1', '--reports', reports, '--name', 'ns'], { timeoutMs: 240_000 }).done;
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/each shaped by tc tbf to 1 Gbit\/s/);
    expect(r.stdout).toMatch(/simulated drains' makespan within 15% of the measured: \d of 1/);
    expect(r.stdout).toMatch(/\(all verified\)/);
    const rep = join(reports, 'ns');
    for (const f of ['runs.csv', 'comparison.csv', 'drains.csv', 'drain-vms.csv', 'profile.json']) expect(existsSync(join(rep, f)), f).toBe(true);
    expect(readFileSync(join(rep, 'comparison.csv'), 'utf8')).toContain('netns-2x1gbit-2ch');
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(/mbsrcb|mbdstb/);
  }, 240_000);
});

describe('bench:real -- --netns without root', () => {
  it('refuses with a clear message and exit 2', async () => {
    const asRoot = process.getuid?.() === 0;
    const child = spawn(process.execPath, [BENCH, '--netns', '--reports', join(tmpdir(), 'migbench-never')], { stdio: ['ignore', 'pipe', 'pipe'], ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    if (!asRoot && why === undefined) return; // a non-root user who can make namespaces: nothing to refuse
    expect(code, err).toBe(2);
    expect(err).toMatch(/bench:real --netns: cannot create network namespaces here: .*need root/);
  }, 30_000);
});
