import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { run } from '../../src/cli/main.js';
import { memoryIo } from '../../src/cli/io.js';

async function cli(...args: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('migbench simulate', () => {
  it('prints a readable summary with a per-round table', async () => {
    const r = await cli('simulate', '--memory', '2GiB', '--workload', 'oltp', '--network', '10g', '--transport', 'tcp');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/outcome\s+completed, VM running on the destination/);
    expect(r.out).toMatch(/downtime\s+\d/);
    expect(r.out).toMatch(/round\s+phase\s+start\s+duration\s+pages/);
    expect(r.out).toMatch(/blackout/);
  });

  it('with --json prints one JSON object and nothing else', async () => {
    const r = await cli('simulate', '--memory', '1GiB', '--workload', 'web', '--json', '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out.trim().split('\n')).toHaveLength(1);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    for (const k of ['mode', 'network', 'transport', 'workload', 'memory_bytes', 'policy', 'seed', 'outcome', 'rollback_reason', 'converged', 'vm_running_on', 'total_time_s', 'downtime_ms', 'precopy_rounds', 'memory_bytes_sent', 'zero_pages', 'total_bytes_sent', 'pings_sent', 'missed_pings', 'max_ping_gap_ms', 'tcp_max_stall_ms', 'tcp_sessions_dropped', 'rounds']) {
      expect(j).toHaveProperty(k);
    }
    expect(j['memory_bytes']).toBe(2 ** 30);
    expect(j['seed']).toBe(3);
    expect(j['mode']).toBe('cluster');
  });

  it.each([
    [['--memory', 'eight'], '--memory', '8GiB'],
    [['--network', '5g'], '--network', '1g, 2x1g'],
    [['--workload', 'database'], '--workload', 'idle, web, oltp'],
    [['--workload', 'custom', '--dirty-rate', '-5MB/s'], '--dirty-rate', '25000pages/s'],
    [['--transport', 'udp'], '--transport', 'tcp, compression, smb'],
    [['--policy', 'vmware'], '--policy', 'hyperv'],
    [['--zero-fraction', '2'], '--zero-fraction', 'between 0 and 1'],
    [['--seed', 'x'], '--seed', 'whole number'],
    [['--mode', 'teleport'], '--mode', 'cluster, smb-share, shared-nothing, storage'],
    [['--mode', 'cluster', '--fault', 'meltdown@precopy'], '--fault', 'a fault kind among link-down'],
    [['--mode', 'cluster', '--fault', 'link-down@storage-copy'], '--fault', 'a phase that mode cluster has'],
    [['--mode', 'storage', '--fault', 'link-down@config'], '--fault', 'a fault kind that mode storage can suffer'],
    [['--mode', 'storage', '--transport', 'tcp'], '--transport', 'no --transport for a storage-only move'],
    [['--mode', 'cluster', '--converged'], '--converged', 'only with --mode smb-share'],
    [['--dest-storage', 'tape'], '--dest-storage', 'hdd, ssd, san, smb'],
    [['--vm', 'test/fixtures/vm-missing-size.json'], 'test/fixtures/vm-missing-size.json: files[1].size', 'a size such as 100GiB (the field is missing)'],
    [['--vm', 'test/fixtures/no-such-file.json'], '--vm', 'a readable JSON file'],
    [['--mtu', '100'], '--mtu', 'at least 576'],
    // Issue 15, item 7: these crashed with a stack trace (exit 1) or were accepted.
    [['--memory', '99999999PiB'], '--memory', 'at most 2^53 - 1 bytes'],
    [['--memory', '8PiB'], '--memory', 'at most 2^53 - 1 bytes'],
    [['--memory', '5TiB'], '--memory', 'at most 4TiB of guest memory'],
    [['--memory', '8Gb'], '--memory', 'did you mean 8GB or 8GiB?'],
    [['--mtu', '100000'], '--mtu', 'at most 9216'],
    [['--link-rate', '1gbit/s'], '--link-rate', 'did you mean 1Gbit/s?'],
    [['--workload', 'custom', '--dirty-rate', '1000pages/s', '--working-set', '9GiB'], '--working-set', 'no larger than the memory'],
  ])('rejects bad input %j with exit 2 naming the flag and the expected form', async (args, flag, form) => {
    const r = await cli('simulate', ...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(flag);
    expect(r.err).toContain(form);
  });

  it('takes --fault more than once and reports both', async () => {
    const r = await cli('simulate', '--mode', 'shared-nothing', '--memory', '1GiB', '--disk', '2GiB', '--fault', 'channel-down@precopy:0.2', '--fault', 'stall@cleanup', '--stall-time', '1s', '--transport', 'smb', '--network', '2x10g', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as Record<string, unknown>;
    expect(j['faults']).toBe('channel-down@precopy:0.2;stall@cleanup');
    expect(j['faults_applied']).toBe(2);
    expect(j['outcome']).toBe('completed');
    expect(j['invariants_ok']).toBe(true);
  });

  it('prints the storage side of a shared-nothing move', async () => {
    const r = await cli('simulate', '--mode', 'shared-nothing', '--memory', '1GiB', '--disk', '2GiB', '--workload', 'oltp');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/storage copied\s+2 GiB of 2 GiB/);
    expect(r.out).toMatch(/mirrored writes\s+\d+ \(.*\), 0 lost/);
    expect(r.out).toMatch(/invariants\s+all hold/);
  });

  it('exits 2 on an unknown flag', async () => {
    const r = await cli('simulate', '--bogus');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--bogus'/);
  });

  it('runs as `npx migbench` from the compiled bin, byte-identical for the same seed', () => {
    expect(existsSync('dist/src/cli/main.js')).toBe(true); // built by `npm ci` (prepare) and `npm test` (pretest)
    const args = ['bin/migbench.js', 'simulate', '--memory', '1GiB', '--workload', 'vdi', '--network', '2x1g', '--transport', 'smb', '--json'];
    const a = execFileSync(process.execPath, args, { encoding: 'utf8' });
    const b = execFileSync(process.execPath, args, { encoding: 'utf8' });
    expect(a).toBe(b);
    expect(JSON.parse(a).network).toBe('2x1g');
    const bad = spawnSync(process.execPath, ['bin/migbench.js', 'simulate', '--memory', 'eight'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--memory');
  });
});
