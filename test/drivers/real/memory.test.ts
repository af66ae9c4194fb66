import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { realRun } from './helpers.js';

const MiB = 2 ** 20;

describe('real memory migration (loopback)', () => {
  it.each([
    ['idle', 1],
    ['web', 2],
    ['oltp', 4],
    ['vdi', 2],
  ] as const)('moves a running %s guest over %i channel(s), verified byte for byte', async (workload, channels) => {
    const r = await realRun({ memory: '128MiB', workload }, { channels });
    const res = r.result;
    expect(res).toMatchObject({ engine: 'real', outcome: 'completed', vm_running_on: 'destination', memory_verified: true, verified: true, invariants_ok: true, destination_files_left: 0 });
    expect(r.measured.hashes.dest_ram).toBe(r.measured.hashes.source_ram);
    expect(r.measured.hashes.dest_state).toBe(r.measured.hashes.state);
    // Round 0 sent every page (zero pages whole, as Hyper-V's policy does), the blackout the pages dirtied meanwhile.
    expect(res.rounds[0]!.pages_sent).toBe((128 * MiB) / 4096);
    expect(res.zero_pages).toBe(0);
    expect(res.rounds[0]!.bytes_sent).toBeGreaterThanOrEqual(128 * MiB);
    expect(res.rounds.at(-1)!.phase).toBe('blackout');
    expect(res.downtime_ms).toBeGreaterThan(0);
    expect(res.total_time_s * 1000).toBeGreaterThan(res.downtime_ms);
    expect(r.measured.guest_writes).toBeGreaterThan(0);
    expect(res.network).toBe(`loopback-${channels}ch`);
    // The destination keeps the VM's configuration file; nothing else of the migration.
    expect(r.destFiles().filter((f) => !f.endsWith('.vmcx'))).toEqual([]);
    // CPU on both sides, measured where the kernel counts per thread (Linux): moving 128 MiB costs some,
    // never more than every core for the whole migration.
    if (existsSync('/proc/thread-self/schedstat')) {
      const most = res.total_time_s * availableParallelism();
      expect(res.source_cpu_s).toBeGreaterThan(0);
      expect(res.source_cpu_s!).toBeLessThanOrEqual(most);
      expect(res.destination_cpu_s).toBeGreaterThan(0);
      expect(res.destination_cpu_s!).toBeLessThanOrEqual(most);
    }
  });

  it('--zero-pages skip (QEMU\'s way): round 0 sends no zero page, and the destination still ends equal', async () => {
    const r = await realRun({ memory: '128MiB', workload: 'idle', zeroPages: 'skip' }, { channels: 2 });
    expect(r.result).toMatchObject({ outcome: 'completed', verified: true });
    expect(r.result.zero_pages).toBeGreaterThan(0);
    expect(r.result.rounds[0]!.bytes_sent).toBeLessThan(128 * MiB * 0.5); // idle: most of memory is zero
  });

  it('moves a guest that dirties memory faster than it can be sent (churn), forcing the blackout, still verified', async () => {
    const r = await realRun({ memory: '64MiB', workload: 'churn', maxPasses: '3', downtimeLimit: '1ms' }, { channels: 2 });
    expect(r.result).toMatchObject({ outcome: 'completed', converged: false, precopy_rounds: 3, verified: true, invariants_ok: true });
    expect(r.result.rounds[1]!.pages_sent).toBeGreaterThan(1000);
  });

  it('gives up on a guest that does not converge (--on-no-converge abort): it stays on the source, intact', async () => {
    const r = await realRun({ memory: '64MiB', workload: 'churn', maxPasses: '3', downtimeLimit: '1ms', onNoConverge: 'abort' }, { channels: 2 });
    expect(r.result).toMatchObject({ outcome: 'rolled_back', rollback_reason: 'no_convergence', vm_running_on: 'source', downtime_ms: 0, invariants_ok: true, destination_files_left: 0 });
    await r.source!.guest.pause();
    expect(r.source!.guest.checkIntact().ok).toBe(true);
    expect(r.destFiles()).toEqual([]);
  });

  it('iterates under the qemu policy with auto-converge on a rate-limited link, and verifies', async () => {
    const r = await realRun(
      { memory: '64MiB', workload: 'custom', dirtyRate: '20000pages/s', workingSet: '32MiB', zeroFraction: '0.2', policy: 'qemu', autoConverge: true, downtimeLimit: '50ms' },
      { channels: 2, rate: 400e6 / 8 },
    );
    expect(r.result).toMatchObject({ outcome: 'completed', verified: true, invariants_ok: true, network: 'loopback-2ch-0.4gbit' });
    expect(r.result.precopy_rounds).toBeGreaterThanOrEqual(2);
  });
});
