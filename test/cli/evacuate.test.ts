import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main.js';
import { memoryIo } from '../../src/cli/io.js';
import { readRunsCsv } from '../../src/report/bench-csv.js';

async function cli(...args: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

const dir = () => mkdtempSync(join(tmpdir(), 'migbench-evacuate-'));

describe('migbench evacuate', () => {
  it('prints the makespan, the window, concurrency, the busiest links and a row per VM', async () => {
    const r = await cli('evacuate', '--vms', '4', '--memory', '2GiB', '--workload', 'web', '--network', '10g', '--transport', 'tcp', '--window', '30min');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Evacuation of 4 VMs to 1 host over 10g with tcp, 2 live and 2 storage migrations at once per host/);
    expect(r.out).toMatch(/makespan\s+\d/);
    expect(r.out).toMatch(/window\s+30 min 0 s: fits, 29 min \d+ s to spare/);
    expect(r.out).toMatch(/at once\s+at most 2 live/);
    expect(r.out).toMatch(/source\/nic1\/tx\s+10 Gbit\/s/);
    expect(r.out.match(/^\s+vm\d\s+dest1/gm)).toHaveLength(4);
  });

  it('--json: makespan_s, peak_live and one entry per VM', async () => {
    const r = await cli('evacuate', '--vms', '3', '--memory', '1GiB', '--workload', 'idle', '--max-live', '3', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { makespan_s: number; peak_live: number; vms: Record<string, unknown>[] };
    expect(j.peak_live).toBe(3);
    expect(j.vms).toHaveLength(3);
    for (const k of ['name', 'destination', 'queued_s', 'start_s', 'end_s', 'total_time_s', 'downtime_ms', 'memory_bytes_sent', 'outcome']) expect(j.vms[0]).toHaveProperty(k);
    expect(j.makespan_s).toBeGreaterThan(0);
  });

  it('--out writes evacuation.csv, timeline.csv, links.csv, evacuation.json and a report with the Gantt chart', async () => {
    const out = dir();
    const r = await cli('evacuate', '--vms', '3', '--memory', '1GiB', '--workload', 'oltp', '--network', '2x10g', '--transport', 'smb', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['evacuation.csv', 'evacuation.json', 'links.csv', 'report.html', 'timeline.csv']);
    const rows = readRunsCsv(readFileSync(join(out, 'evacuation.csv'), 'utf8'));
    expect(rows).toHaveLength(3);
    expect(Object.keys(rows[0]!)).toContain('downtime_ms');
    expect(readFileSync(join(out, 'timeline.csv'), 'utf8').split('\r\n')[0]).toBe('t_s,link,bytes_per_s,utilisation');
    // Each link's throughput is its utilisation of its capacity (the simulator knows every capacity).
    const links = readRunsCsv(readFileSync(join(out, 'links.csv'), 'utf8'));
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) {
      const fromShare = (Number(l['mean_utilisation']) * Number(l['capacity_bps'])) / 8; // the CSV rounds both
      expect(Math.abs(Number(l['mean_bytes_per_s']) - fromShare) / fromShare).toBeLessThan(1e-3);
      expect(Number(l['peak_bytes_per_s'])).toBeGreaterThanOrEqual(Number(l['mean_bytes_per_s']));
    }
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/<svg/);
  });

  it('reads a PowerShell inventory; bad input exits 2 naming the file, row and column, and writes nothing', async () => {
    const d = dir();
    const good = join(d, 'host1.csv');
    writeFileSync(good, '#TYPE Selected.Microsoft.HyperV.PowerShell.VirtualMachine\r\n"Name","State","MemoryAssigned"\r\n"web1","Running","2147483648"\r\n"db1","Off","0"\r\n');
    const ok = await cli('evacuate', '--inventory', good, '--json');
    // an Off VM with no MemoryAssigned and no MemoryStartup cannot be placed: the row says so
    expect(ok.code).toBe(2);
    expect(ok.err).toMatch(/host1\.csv row 4: MemoryAssigned/);
    const bad = join(d, 'host2.csv');
    writeFileSync(bad, '"Name","State","MemoryAssigned"\r\n"web1","Running","2147483648"\r\n"db1","Running","lots"\r\n');
    const out = join(d, 'out');
    const r = await cli('evacuate', '--inventory', bad, '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/host2\.csv row 3: MemoryAssigned: expected bytes/);
    expect(existsSync(join(out, 'evacuation.csv'))).toBe(false);
    const fine = join(d, 'host3.csv');
    writeFileSync(fine, '"Name","State","MemoryAssigned","MemoryStartup"\r\n"web1","Running","2147483648","1073741824"\r\n"db1","Off","0","4294967296"\r\n');
    const moved = await cli('evacuate', '--inventory', fine, '--json');
    expect(moved.code, moved.err).toBe(0);
    const j = JSON.parse(moved.out) as { vms: { name: string; running: boolean; memory_bytes: number }[] };
    expect(j.vms.map((v) => [v.name, v.running, v.memory_bytes])).toEqual([
      ['web1', true, 2 ** 31],
      ['db1', false, 2 ** 32],
    ]);
  });

  it('refuses bad options with exit 2, naming the flag', async () => {
    for (const [args, msg] of [
      [['--vms', '0'], /--vms: expected a whole number from 1/],
      [['--max-live', 'two'], /--max-live: expected a whole number/],
      [['--order', 'random'], /--order: expected one of inventory, largest-first, smallest-first/],
      [['--fault', 'nic-down@precopy'], /--fault: expected KIND@TIME/],
      [['--mode', 'storage'], /--mode: expected cluster, smb-share or shared-nothing/],
      [['--dest-memory', '8Gb'], /--dest-memory/],
    ] as const) {
      const r = await cli('evacuate', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
  });
});
