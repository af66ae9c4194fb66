import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { memoryIo } from '../../src/cli/io.js';

async function channels(...args: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', 'channels', ...args], io);
  return { code, io, json: code === 0 && args.includes('--json') ? JSON.parse(io.stdout) : undefined };
}

function nicFile(nics: unknown): string {
  const f = join(mkdtempSync(join(tmpdir(), 'migbench-nics-')), 'nics.json');
  writeFileSync(f, JSON.stringify(nics));
  return f;
}

describe('migbench channels', () => {
  it('2x10g gives 8 RSS channels on 2 NICs', async () => {
    const { code, json } = await channels('--network', '2x10g', '--json');
    expect(code).toBe(0);
    expect(json.channels).toHaveLength(8);
    expect(new Set(json.channels.map((c: { nic: string }) => c.nic))).toEqual(new Set(['nic1', 'nic2']));
    expect(json.channels.every((c: { kind: string; speed_bps: number }) => c.kind === 'rss' && c.speed_bps === 10e9)).toBe(true);
    expect(json.excluded).toEqual([]);
  });

  it('10g-rdma gives 2 RDMA channels', async () => {
    const { json } = await channels('--network', '10g-rdma', '--json');
    expect(json.channels).toEqual([
      { nic: 'nic1', kind: 'rdma', speed_bps: 10e9 },
      { nic: 'nic1', kind: 'rdma', speed_bps: 10e9 },
    ]);
  });

  it('a 10GbE RSS NIC next to a 1GbE NIC uses only the 10GbE one, and says why', async () => {
    const f = nicFile({ nics: [{ name: 'fast', speed: '10Gbit/s', rss: true }, { name: 'slow', speed: '1Gbit/s', rss: true }] });
    const { json } = await channels('--nics', f, '--json');
    expect(json.channels).toHaveLength(4);
    expect(json.channels.every((c: { nic: string }) => c.nic === 'fast')).toBe(true);
    expect(json.excluded).toEqual([{ nic: 'slow', reason: expect.stringMatching(/slower \(1 Gbit\/s\).*10 Gbit\/s/) }]);
    const human = await channels('--nics', f);
    expect(human.io.stdout).toMatch(/4 channels on 1 interface/);
    expect(human.io.stdout).toMatch(/slow: not used: slower/);
  });

  it('a team is one interface; RDMA beats RSS; a plain NIC gets one connection; the cap is 32', async () => {
    const team = await channels('--network', '2x1g-team', '--json');
    expect(team.json.channels).toHaveLength(4);
    expect(new Set(team.json.channels.map((c: { nic: string }) => c.nic))).toEqual(new Set(['team1']));
    const mixed = nicFile([
      { name: 'r', speed: '10Gbit/s', rss: true, rdma: true },
      { name: 's', speed: '40Gbit/s', rss: true },
    ]);
    const m = await channels('--nics', mixed, '--json');
    expect(m.json.channels.map((c: { nic: string }) => c.nic)).toEqual(['r', 'r']);
    expect(m.json.excluded[0].reason).toMatch(/better class \(rdma\)/);
    const plain = await channels('--nics', nicFile([{ name: 'p', speed: '1Gbit/s' }]), '--json');
    expect(plain.json.channels).toEqual([{ nic: 'p', kind: 'plain', speed_bps: 1e9 }]);
    const many = nicFile(Array.from({ length: 10 }, (_, i) => ({ name: `n${i}`, speed: '10Gbit/s', rss: true })));
    const capped = await channels('--nics', many, '--json');
    expect(capped.json.channels).toHaveLength(32);
    expect(new Set(capped.json.channels.map((c: { nic: string }) => c.nic)).size).toBe(10);
  });

  it('overrides: connections per RSS NIC, an explicit interface list, RDMA disabled', async () => {
    expect((await channels('--network', '2x10g', '--connections-per-rss', '2', '--json')).json.channels).toHaveLength(4);
    const only = await channels('--nics', nicFile([{ name: 'a', speed: '10Gbit/s', rss: true }, { name: 'b', speed: '1Gbit/s' }]), '--only', 'b', '--json');
    expect(only.json.channels.map((c: { nic: string }) => c.nic)).toEqual(['b']);
    const nordma = await channels('--network', '10g-rdma', '--disable-rdma', '--json');
    expect(nordma.json.channels).toHaveLength(4);
  });

  it('bad input exits 2 naming the flag, file and field', async () => {
    const a = await channels();
    expect(a.code).toBe(2);
    expect(a.io.stderr).toMatch(/--network\/--nics/);
    const b = await channels('--network', '3x10g');
    expect(b.code).toBe(2);
    expect(b.io.stderr).toMatch(/--network: expected one of 1g/);
    const f = nicFile({ nics: [{ name: 'x', speed: 'fast' }] });
    const c = await channels('--nics', f);
    expect(c.code).toBe(2);
    expect(c.io.stderr).toContain(`${f}: nics[0].speed: expected a rate`);
    const d = await channels('--nics', nicFile({ nics: [{ name: 'x', speed: '1Gbit/s', rss: 'yes' }] }));
    expect(d.code).toBe(2);
    expect(d.io.stderr).toMatch(/nics\[0\]\.rss/);
    const e = await channels('--network', '2x10g', '--max-channels', '0');
    expect(e.code).toBe(2);
    expect(e.io.stderr).toMatch(/--max-channels: expected a positive integer/);
  });
});
