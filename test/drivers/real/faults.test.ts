// Each fault of the real engine ends with the guest running on the source, its memory and disk equal to
// a replay of its own writes (checked here, independently of the driver's own check), and no file of
// the migration left on the destination.
import { describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../../src/scenario.js';
import { expectSourceIntact, realRun } from './helpers.js';

const MiB = 2 ** 20;
const MEMORY: ScenarioInput = { memory: '96MiB', workload: 'oltp' };
const STORAGE: ScenarioInput = { mode: 'shared-nothing', memory: '64MiB', disk: '64MiB', workload: 'oltp', writeIops: '1500', storageSegment: '4MiB' };

describe('real faults: the guest keeps running on the source, intact, and the destination keeps nothing', () => {
  it.each([
    ['dest-crash@precopy:0.5', MEMORY, 'dest_crash'],
    ['dest-crash@blackout:0.3', MEMORY, 'dest_crash'],
    ['dest-crash@storage-copy:0.5', STORAGE, 'dest_crash'],
    ['link-down@precopy:0.3', MEMORY, 'link_down'],
    ['link-down@blackout:0.3', MEMORY, 'link_down'],
    ['link-down@storage-copy:0.5', STORAGE, 'link_down'],
    ['nic-down@precopy:0.5', MEMORY, 'all_channels_lost'], // one route (no --bind): every channel leaves by it
    ['auth-failure@config', MEMORY, 'auth_failure'],
    ['dest-storage-error@storage-copy:0.3', STORAGE, 'dest_storage_error'],
    ['dest-storage-error@precopy:0.5', MEMORY, 'dest_storage_error'],
  ] as const)('%s', async (fault, base, cause) => {
    const input = { ...base, fault: [fault] };
    const r = await realRun(input);
    expect(r.result.rollback_reason).toBe(cause);
    await expectSourceIntact(r, input);
    if (fault.includes('blackout')) {
      expect(r.result.downtime_ms).toBeGreaterThan(0); // paused, then resumed on the source
      expect(r.result.rounds.at(-1)!.phase).toBe('blackout');
    }
    if (base === STORAGE) expect(r.measured.source_intact.disk).toBe(true);
  });

  it('a cancel as the setup starts (session and VM still being created) rolls back and leaves nothing at the destination', async () => {
    const cancel = new AbortController();
    const r = await realRun(MEMORY, { signal: cancel.signal, log: (line) => void (line.startsWith('migrating ') && cancel.abort()) });
    expect(r.result.rollback_reason).toBe('cancelled');
    expect(r.result).toMatchObject({ outcome: 'rolled_back', vm_running_on: 'source', destination_files_left: 0, invariants_ok: true });
    expect(r.destFiles()).toEqual([]);
    expect(r.measured.source_intact.memory).toBe(true);
  });

  it('one channel down out of two: the transfer fails over and completes, verified; the only channel down: rolled back', async () => {
    const ok = await realRun({ ...MEMORY, fault: ['channel-down@precopy:0.5'] }, { channels: 2 });
    expect(ok.result).toMatchObject({ outcome: 'completed', verified: true, faults_applied: 1, invariants_ok: true });
    expect(ok.measured.channels_failed).toHaveLength(1);
    const input = { ...MEMORY, fault: ['channel-down@precopy:0.5'] };
    const lost = await realRun(input, { channels: 1 });
    expect(lost.result.rollback_reason).toBe('all_channels_lost');
    await expectSourceIntact(lost, input);
  });

  it('a stall past --transfer-timeout rolls back; a shorter one only delays the move', async () => {
    const input = { ...MEMORY, fault: ['stall@precopy:0.5'], stallTime: '2s', transferTimeout: '0.5s' };
    const r = await realRun(input);
    expect(r.result.rollback_reason).toBe('stall_timeout');
    await expectSourceIntact(r, input);
    const short = await realRun({ ...MEMORY, fault: ['stall@precopy:0.5'], stallTime: '0.3s', transferTimeout: '5s' });
    expect(short.result).toMatchObject({ outcome: 'completed', verified: true });
    expect(short.result.total_time_s).toBeGreaterThan(0.3);
  });

  it('after the point of no return a link failure leaves the clean-up pending: the source keeps its disk image', async () => {
    const r = await realRun({ ...STORAGE, fault: ['link-down@cleanup'] });
    expect(r.result).toMatchObject({ outcome: 'completed', vm_running_on: 'destination', cleanup_pending: true, source_files_removed: 0, verified: true });
    expect(r.source!.diskPath).not.toBeNull();
    expect(r.destFiles().some((f) => f.endsWith('-disk0.img'))).toBe(true);
    expect(r.result.storage_bytes_copied).toBe(64 * MiB);
  });
});
