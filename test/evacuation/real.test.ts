// `evacuate --engine real`'s driver: real running guests, all started before the drain, moved at most
// max-live at once into one receiver, each verified byte for byte; the limits of the real engine refused
// with the flag named. Loopback only, small guests.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { checkRealEvacuation, evacuateReal } from '../../src/evacuation/real.js';
import { alikeVms, evacuationSpec } from '../../src/evacuation/spec.js';
import type { EvacuationSpec } from '../../src/evacuation/types.js';
import type { VmEntry } from '../../src/evacuation/vm-fields.js';
import { InputError, InterruptedError } from '../../src/errors.js';
import { startEndpoint } from '../drivers/real/helpers.js';

const MiB = 2 ** 20;
const spec = (o: Partial<EvacuationSpec>, base: Record<string, string> = { memory: '16MiB', workload: 'web' }): EvacuationSpec => ({
  ...evacuationSpec({}, base, 16 * MiB),
  vms: alikeVms(3, 16 * MiB),
  ...o,
});

describe('evacuateReal', () => {
  it('moves every running guest, at most max-live at once, a queued one only when a slot frees; every guest verified', async () => {
    const r = await evacuateReal({ spec: spec({ maxLive: 2 }), channels: 2 });
    const { result } = r;
    expect(result.engine).toBe('real');
    expect(result.vms.map((v) => [v.outcome, v.verified])).toEqual([['completed', true], ['completed', true], ['completed', true]]);
    expect(result.moved).toBe(3);
    expect(result.peak_live).toBe(2);
    const [a, b, c] = result.vms;
    // The first two started together: both before either ended (how soon after 0 depends on the load).
    expect(Math.max(a!.start_s, b!.start_s)).toBeLessThan(Math.min(a!.end_s, b!.end_s));
    // The third waited for the first of the two to end.
    expect(c!.start_s).toBeGreaterThanOrEqual(Math.min(a!.end_s, b!.end_s));
    expect(c!.queued_s).toBe(c!.start_s);
    expect(result.makespan_s).toBe(Math.max(...result.vms.map((v) => v.end_s)));
    for (const v of result.vms) expect(v.end_s - v.start_s).toBeGreaterThanOrEqual(v.total_time_s);
    for (const m of r.measured) expect(m.measured.hashes.dest_ram).toBe(m.measured.hashes.source_ram);
    expect(r.guests_start_s).toBeGreaterThan(0);
    // What the kernel counted on loopback during the drain: at least the memory that crossed it (other
    // tests may add their own traffic), no capacity known, so no utilisation.
    if (existsSync('/sys/class/net/lo/statistics/tx_bytes')) {
      const lo = result.links.find((l) => l.link === 'source/lo/tx');
      expect(lo, JSON.stringify(result.links)).toBeDefined();
      expect(lo).toMatchObject({ capacity_bps: null, mean_utilisation: null });
      const sent = result.vms.reduce((t, v) => t + v.memory_bytes_sent, 0);
      expect(lo!.mean_bytes_per_s * result.makespan_s).toBeGreaterThan(0.5 * sent);
      expect(result.timeline.samples.some((x) => x.link === 'source/lo/tx' && x.bytes_per_s > 0)).toBe(true);
    }
  }, 120_000);

  it('into a receiver whose memory budget holds fewer VMs than the drain: each completed VM is hashed to make room, and every one verifies', async () => {
    const { target, logs } = await startEndpoint({ maxMemory: 40 * MiB, maxIncoming: 4 });
    const { result, measured } = await evacuateReal({ spec: spec({ maxLive: 2, vms: alikeVms(4, 16 * MiB) }), channels: 2, to: [target.endpoint], key: target.key });
    expect(result.vms.map((v) => [v.outcome, v.verified])).toEqual([['completed', true], ['completed', true], ['completed', true], ['completed', true]]);
    for (const m of measured) expect(m.measured.hashes.dest_ram).toBe(m.measured.hashes.source_ram);
    expect(logs.filter((l) => /made room: completed migration/.test(l)).length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('shared-nothing: a move takes a live and a storage slot, so max-storage 1 moves one at a time; disks verified', async () => {
    const s = spec({ maxLive: 2, maxStorage: 1, vms: alikeVms(2, 16 * MiB) }, { memory: '16MiB', workload: 'oltp', mode: 'shared-nothing', disk: '8MiB' });
    const { result, measured } = await evacuateReal({ spec: s, channels: 2 });
    expect(result.vms.every((v) => v.outcome === 'completed' && v.verified === true)).toBe(true);
    expect(result.peak_storage).toBe(1);
    expect(result.peak_live).toBe(1);
    expect(result.vms[1]!.start_s).toBeGreaterThanOrEqual(result.vms[0]!.end_s);
    for (const m of measured) expect(m.measured.hashes.dest_disk).toBe(m.measured.hashes.source_disk);
  }, 120_000);

  it('largest-first moves the largest guest first', async () => {
    const vm = (name: string, mib: number): VmEntry => ({ name, memoryBytes: mib * MiB, workload: null, diskBytes: null, mode: null, running: true, host: null, origin: `test (${name})` });
    const { result } = await evacuateReal({ spec: spec({ maxLive: 1, order: 'largest-first', vms: [vm('small', 8), vm('big', 24), vm('mid', 16)] }), channels: 1 });
    expect(result.vms.map((v) => v.name)).toEqual(['big', 'mid', 'small']);
    expect(result.vms.map((v) => v.memory_bytes)).toEqual([24 * MiB, 16 * MiB, 8 * MiB]);
  }, 120_000);

  it('Ctrl-C during the drain: the moves in flight roll back or end, the queued ones never move, and it says so', async () => {
    const ac = new AbortController();
    const p = evacuateReal({
      spec: spec({ maxLive: 1 }, { memory: '64MiB', workload: 'churn' }),
      channels: 1,
      rate: 20 * MiB,
      signal: ac.signal,
      log: (line) => {
        // Once the first guest's timed migration has begun (its data is moving).
        if (/^vm\d: migrating/.test(line)) setTimeout(() => ac.abort(), 200);
      },
    });
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InterruptedError);
    expect((e as Error).message, (e as Error).message).toMatch(/evacuation cancelled: 0 VM\(s\) moved, 1 rolled back \(they run on the source\), 2 never started/);
  }, 120_000);
});

describe('the real engine refuses what it cannot do, naming the flag', () => {
  it.each([
    [{ rolling: 3 }, '--rolling'],
    [{ destinations: 2 }, '--destinations'],
    [{ faults: [{ kind: 'link-down' as const, time: 1, text: 'link-down@1s' }] }, '--fault'],
    [{ vms: [{ ...alikeVms(1, 16 * MiB)[0]!, running: false }] }, 'running VMs only'],
    [{ vms: [{ ...alikeVms(1, 16 * MiB)[0]!, mode: 'smb-share' as const }] }, 'mode cluster or shared-nothing'],
    [{ vms: alikeVms(4, 2 ** 40) }, "fits in 75% of this host's"],
  ])('%o', (o, text) => {
    expect(() => checkRealEvacuation({ spec: spec(o) })).toThrow(InputError);
    expect(() => checkRealEvacuation({ spec: spec(o) })).toThrow(text);
  });
});
