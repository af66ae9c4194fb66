import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/drivers/sim/index.js';
import { measuredLink } from '../../src/network/index.js';
import { resolveScenario } from '../../src/scenario.js';
import { linkOf } from './sim/helpers.js';

describe('--link-rate', () => {
  it('replaces the network with one link of exactly that payload rate, with no stream cap unless one is given', () => {
    const s = resolveScenario({ linkRate: '6Gbit/s', network: '1g' });
    expect(s.network.name).toBe('link-6gbit');
    expect(s.network.nics).toHaveLength(1);
    expect(s.network.streamCap).toBe(Infinity);
    for (const t of ['tcp', 'smb'] as const) {
      const link = linkOf(s.network, t);
      expect(link.channels).toHaveLength(1);
      expect(link.rate).toBeCloseTo(0.75e9, 0);
    }
    // --stream-cap given: one stream is capped by it (the real engine's CPU-bound sending thread)
    const capped = resolveScenario({ linkRate: '6Gbit/s', streamCap: '1Gbit/s' });
    expect(linkOf(capped.network, 'tcp').rate).toBeCloseTo(0.125e9, 0);
    expect(measuredLink(1e9, { mtu: 9000 }).nics[0]!.lineRate).toBeGreaterThan(1e9);
  });

  it('keeps --rtt and --mtu, and rejects a bad rate naming the flag', () => {
    const s = resolveScenario({ linkRate: '1GB/s', rtt: '1ms' });
    expect(s.network.rtt).toBe(0.001);
    expect(() => resolveScenario({ linkRate: '0Gbit/s' })).toThrow(/--link-rate/);
    expect(() => resolveScenario({ linkRate: 'fast' })).toThrow(/--link-rate/);
  });

  it('an idle VM with no zero pages takes memory / rate plus the fixed costs', () => {
    const r = simulate(resolveScenario({ memory: '1GiB', workload: 'idle', zeroFraction: '0', linkRate: '1GB/s', transport: 'tcp', rtt: '0s', setupTime: '0s', cleanupTime: '0s', resumeTime: '0s', handoffTime: '0s', clusterUpdateTime: '0s', configSize: '0', stateSize: '0', dirtyRate: '0pages/s' }));
    const pages = 2 ** 30 / 4096;
    expect(r.total_time_s).toBeCloseTo((pages * (4096 + 8)) / 1e9, 3);
    expect(r.network).toBe('link-8gbit');
  });
});

describe('--zero-scan-rate', () => {
  // Zero pages skipped (QEMU's way): the sending thread reads each to find it is zero, and sends a marker.
  const fixed = { zeroPages: 'skip', transport: 'tcp', rtt: '0s', setupTime: '0s', cleanupTime: '0s', resumeTime: '0s', handoffTime: '0s', clusterUpdateTime: '0s', configSize: '0', stateSize: '0', dirtyRate: '0pages/s' } as const;
  it('an all-zero idle VM over a CPU-bound stream: reading every page, then its markers at the stream rate', () => {
    const base = { ...fixed, memory: '1GiB', workload: 'idle', zeroFraction: '1', linkRate: '1GB/s', streamCap: '1GB/s' };
    const pages = 2 ** 30 / 4096;
    const without = simulate(resolveScenario(base));
    const withScan = simulate(resolveScenario({ ...base, zeroScanRate: '8GB/s' }));
    expect(without.total_time_s).toBeCloseTo((pages * 9) / 1e9, 4);
    expect(withScan.total_time_s).toBeCloseTo(2 ** 30 / 8e9 + (pages * 9) / 1e9, 4);
    // without a stream cap the reads overlap the wire: the longer of the two
    const free = simulate(resolveScenario({ ...base, streamCap: undefined, zeroScanRate: '8GB/s' }));
    expect(free.total_time_s).toBeCloseTo(Math.max(2 ** 30 / 8e9, (pages * 9) / 1e9), 4);
  });
  it('--run-cost: scattered dirty pages after round 0 cost the sending thread per run', () => {
    // web dirties scattered pages; over a CPU-bound stream each run of them costs --run-cost more
    const base = { memory: '1GiB', workload: 'web', linkRate: '1GB/s', streamCap: '1GB/s', transport: 'tcp', seed: 3 } as const;
    const free = simulate(resolveScenario(base));
    const costly = simulate(resolveScenario({ ...base, runCost: '20us' }));
    expect(free.precopy_rounds).toBeGreaterThanOrEqual(1);
    // round 0 is one long run: it hardly changes; the blackout's scattered pages take longer
    expect(costly.rounds[0]!.duration_s).toBeCloseTo(free.rounds[0]!.duration_s, 3);
    expect(costly.downtime_ms).toBeGreaterThan(free.downtime_ms + 1);
    expect(() => resolveScenario({ runCost: 'slow' })).toThrow(/--run-cost/);
  });
  it('SMB: a channel failure during a transfer that the zero-page reads bound keeps that bound (no shorter, no crash)', () => {
    for (const network of ['2x10g', '2x10g-rdma']) {
      const base = { memory: '8GiB', workload: 'idle', network, transport: 'smb', zeroScanRate: '9GB/s', zeroPages: 'skip' } as const;
      const clean = simulate(resolveScenario(base));
      for (const at of ['precopy:0.6', 'precopy:0.8']) {
        const hit = simulate(resolveScenario({ ...base, fault: [`channel-down@${at}`] }));
        expect(hit.outcome).toBe('completed');
        expect(hit.rounds[0]!.duration_s).toBeGreaterThanOrEqual(clean.rounds[0]!.duration_s - 1e-9);
      }
      // a stall before the channel failure still delays the transfer by the stall's length
      const stalled = simulate(resolveScenario({ ...base, stallTime: '0.5s', detectTime: '0.05s', fault: ['stall@precopy:0.3'] }));
      const both = simulate(resolveScenario({ ...base, stallTime: '0.5s', detectTime: '0.05s', fault: ['stall@precopy:0.3', 'channel-down@precopy:0.6'] }));
      expect(stalled.rounds[0]!.duration_s).toBeGreaterThan(clean.rounds[0]!.duration_s + 0.4);
      expect(both.rounds[0]!.duration_s).toBeGreaterThanOrEqual(stalled.rounds[0]!.duration_s - 1e-9);
    }
  });
  it('a team losing a member slows only what the link bounds: a transfer paced by the zero-page reads keeps its pace', () => {
    // 8 GiB, half zero: 4 GiB of pages take ~18 s on 2x1g-team and ~36 s on one member; reading 4 GiB of
    // zeros at 100 MB/s takes ~43 s, longer than either, so losing a member mid-round changes nothing.
    const base = { memory: '8GiB', workload: 'idle', zeroFraction: '0.5', network: '2x1g-team', transport: 'smb', zeroPages: 'skip' } as const;
    const wireBound = simulate(resolveScenario(base));
    const wireHit = simulate(resolveScenario({ ...base, fault: ['nic-down@precopy:0.5'] }));
    expect(wireHit.rounds[0]!.duration_s).toBeGreaterThan(wireBound.rounds[0]!.duration_s * 1.4);
    const scanBound = simulate(resolveScenario({ ...base, zeroScanRate: '100MB/s' }));
    const scanHit = simulate(resolveScenario({ ...base, zeroScanRate: '100MB/s', fault: ['nic-down@precopy:0.5'] }));
    // the reads bound the round even at one member's rate
    expect(scanBound.rounds[0]!.duration_s).toBeGreaterThan(2 ** 32 / 1e8);
    expect(scanBound.rounds[0]!.duration_s).toBeGreaterThan(wireHit.rounds[0]!.duration_s);
    expect(scanHit.outcome).toBe('completed');
    expect(scanHit.rounds[0]!.duration_s).toBeCloseTo(scanBound.rounds[0]!.duration_s, 3);
  });
  it('a storage copy the disks bound keeps its pace when a NIC fails mid-segment (shared-nothing)', () => {
    // 20 GiB at the disks' ~470 MB/s; 2x10g carries ~2.3 GB/s, one NIC ~1.15 GB/s: still not the bound
    const base = { mode: 'shared-nothing', transport: 'smb', network: '2x10g', memory: '2GiB', disk: '20GiB', workload: 'idle', storageSegment: '20GiB' } as const;
    const clean = simulate(resolveScenario(base));
    const hit = simulate(resolveScenario({ ...base, fault: ['nic-down@storage-copy:0.5'] }));
    expect(hit.outcome).toBe('completed');
    expect(hit.faults_applied).toBe(1);
    // the resent window and the detection delay only (was +21.8 s: the segment slowed by the rate lost)
    expect(hit.storage_copy_time_s).toBeGreaterThanOrEqual(clean.storage_copy_time_s);
    expect(hit.storage_copy_time_s).toBeLessThan(clean.storage_copy_time_s + 0.5);
    // on 2x1g the link is the bound: losing a NIC does slow the copy
    const slowBase = { ...base, network: '2x1g' } as const;
    const slowClean = simulate(resolveScenario(slowBase));
    const slowHit = simulate(resolveScenario({ ...slowBase, fault: ['nic-down@storage-copy:0.5'] }));
    expect(slowHit.storage_copy_time_s).toBeGreaterThan(slowClean.storage_copy_time_s * 1.3);
  });
  it('rejects a bad rate naming the flag', () => {
    expect(() => resolveScenario({ zeroScanRate: '0GB/s' })).toThrow(/--zero-scan-rate/);
    expect(() => resolveScenario({ zeroScanRate: 'quick' })).toThrow(/--zero-scan-rate/);
  });
});

describe('preset working sets', () => {
  it("shrink to fit a VM smaller than the preset's working set (docs/workloads.md); the user's own must fit", () => {
    const r = simulate(resolveScenario({ memory: '64MiB', workload: 'web', network: '10g', transport: 'tcp' }));
    expect(r.outcome).toBe('completed');
    expect(() => resolveScenario({ memory: '64MiB', workload: 'web', workingSet: '128MiB' })).toThrow(/--working-set/);
  });
});
