import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { simulate } from '../../src/drivers/sim/index.js';
import { simulateEvacuation } from '../../src/evacuation/simulate.js';
import { alikeVms, evacuationSpec } from '../../src/evacuation/spec.js';
import type { EvacuationResult, EvacuationSpec } from '../../src/evacuation/types.js';
import type { VmEntry } from '../../src/evacuation/vm-fields.js';
import { getNetwork, protocolEfficiency } from '../../src/network/index.js';
import { deriveSeed } from '../../src/random/index.js';
import { resolveScenario, type ScenarioInput } from '../../src/scenario.js';

const GiB = 2 ** 30;
const vm = (name: string, memoryBytes = 4 * GiB, o: Partial<VmEntry> = {}): VmEntry => ({ name, memoryBytes, workload: null, diskBytes: null, mode: null, running: true, host: null, origin: 'test', ...o });

function evacuate(base: ScenarioInput, vms: VmEntry[], o: Partial<EvacuationSpec> = {}): EvacuationResult {
  return simulateEvacuation({ base, vms, maxLive: 2, maxStorage: 2, destinations: 1, destMemory: null, order: 'inventory', window: null, rolling: null, updateTime: 0, faults: [], ...o });
}

/** The most migrations a host ran at once (live ones, or storage ones), from the records. */
function peakPerHost(r: EvacuationResult, which: 'live' | 'storage'): number {
  const events: [number, string, number][] = [];
  for (const v of r.vms) {
    if (v.outcome === 'unplaced') continue;
    if (which === 'live' ? !v.running : v.mode !== 'shared-nothing') continue;
    for (const h of [v.source, v.destination!]) events.push([v.start_s, h, 1], [v.end_s, h, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[2] - b[2]); // ends before starts at the same instant
  const now = new Map<string, number>();
  let peak = 0;
  for (const [, h, d] of events) {
    now.set(h, (now.get(h) ?? 0) + d);
    peak = Math.max(peak, now.get(h)!);
  }
  return peak;
}

describe('evacuate (simulated)', () => {
  it('one VM on an otherwise idle network gives the record simulate gives (its own seed)', () => {
    const base = { workload: 'oltp', network: '2x10g', transport: 'smb' } as const;
    const r = evacuate(base, [vm('only', 8 * GiB)]);
    const alone = simulate({ ...resolveScenario({ ...base, memory: String(8 * GiB) }), seed: deriveSeed(1, 'vm', 'only') });
    expect(r.vms[0]).toMatchObject({ outcome: 'completed', total_time_s: alone.total_time_s, downtime_ms: alone.downtime_ms, memory_bytes_sent: alone.memory_bytes_sent, total_bytes_sent: alone.total_bytes_sent });
    expect(r.makespan_s).toBeCloseTo(alone.total_time_s, 9);
  });

  it('one TCP stream cannot fill 10GbE, several at once can: 8 VMs drain faster 4 at a time than 1 at a time', () => {
    const base = { workload: 'web', network: '10g', transport: 'tcp' } as const;
    const vms = alikeVms(8, 4 * GiB);
    const one = evacuate(base, vms, { maxLive: 1 });
    const four = evacuate(base, vms, { maxLive: 4 });
    expect(one.peak_live).toBe(1);
    expect(four.peak_live).toBe(4);
    expect(four.makespan_s).toBeLessThan(one.makespan_s / 2);
    // one stream uses at most its 4 Gbit/s cap: under half of the NIC
    expect(one.links.find((l) => l.link === 'source/nic1/tx')!.peak_utilisation).toBeLessThan(0.45);
    expect(four.links.find((l) => l.link === 'source/nic1/tx')!.peak_utilisation).toBeGreaterThan(0.95);
  });

  it('a team spreads several streams over its members by the address hash, never one stream over two', () => {
    const r = evacuate({ workload: 'idle', network: '2x1g-team', transport: 'tcp' }, alikeVms(6, 2 * GiB), { maxLive: 6 });
    const used = r.links.filter((l) => l.link.startsWith('source/') && l.link.endsWith('/tx'));
    expect(used.length).toBe(2);
    const single = evacuate({ workload: 'idle', network: '2x1g-team', transport: 'tcp' }, [vm('one', 2 * GiB)]);
    expect(single.links.filter((l) => l.link.startsWith('source/') && l.link.endsWith('/tx'))).toHaveLength(1);
  });

  it('places each VM on the destination with the most free memory; one that fits nowhere is reported, not moved', () => {
    const r = evacuate({ workload: 'idle', network: '10g', transport: 'smb' }, [vm('a', 16 * GiB), vm('b', 8 * GiB), vm('c', 8 * GiB), vm('big', 40 * GiB)], { destinations: 2, destMemory: 24 * GiB });
    const to = Object.fromEntries(r.vms.map((v) => [v.name, v.destination]));
    expect(to).toEqual({ a: 'dest1', b: 'dest2', c: 'dest2', big: null });
    const big = r.vms.find((v) => v.name === 'big')!;
    expect(big.outcome).toBe('unplaced');
    expect(big.note).toMatch(/40 GiB of memory; the most free memory on any destination is 8 GiB/);
    expect(r).toMatchObject({ moved: 3, unplaced: 1, fits_window: null });
  });

  it('says whether the drain fits the window and by how much', () => {
    const base = { workload: 'idle', network: '10g', transport: 'smb' } as const;
    const r = evacuate(base, alikeVms(4, 4 * GiB), { window: 600 });
    expect(r.fits_window).toBe(true);
    expect(r.window_margin_s).toBeCloseTo(600 - r.makespan_s, 9);
    const tight = evacuate(base, alikeVms(4, 4 * GiB), { window: 1 });
    expect(tight.fits_window).toBe(false);
    expect(tight.window_margin_s).toBeLessThan(0);
  });

  it('Off VMs move by configuration only: seconds, no downtime, no live-migration slot', () => {
    const r = evacuate({ workload: 'oltp', network: '1g', transport: 'tcp' }, [vm('on', 4 * GiB), vm('off1', 16 * GiB, { running: false }), vm('off2', 16 * GiB, { running: false })], { maxLive: 1 });
    const off = r.vms.filter((v) => !v.running);
    for (const v of off) expect(v).toMatchObject({ outcome: 'completed', downtime_ms: 0, memory_bytes_sent: 0, queued_s: 0 });
    for (const v of off) expect(v.total_time_s).toBeLessThan(5);
    expect(r.peak_live).toBe(1);
  });

  it('a NIC dying mid-drain: SMB re-shares the other NIC and every VM still moves, later', () => {
    const base = { workload: 'web', network: '2x10g', transport: 'smb' } as const;
    const clean = evacuate(base, alikeVms(6, 8 * GiB));
    const hurt = evacuate(base, alikeVms(6, 8 * GiB), { faults: [{ kind: 'nic-down', time: 5, text: 'nic-down@5s' }] });
    expect(hurt.moved).toBe(6);
    expect(hurt.makespan_s).toBeGreaterThan(clean.makespan_s * 1.3);
    expect(hurt.links.find((l) => l.link === 'source/nic1/tx')!.mean_utilisation!).toBeLessThan(clean.links.find((l) => l.link === 'source/nic1/tx')!.mean_utilisation!);
  });

  it('the links going down: the VMs moving roll back and stay on the source, the queued ones cannot connect; a destination crash fails only its own', () => {
    const base = { workload: 'web', network: '10g', transport: 'tcp' } as const;
    const down = evacuate(base, alikeVms(4, 4 * GiB), { faults: [{ kind: 'link-down', time: 3, text: 'link-down@3s' }] });
    expect(down.moved).toBe(0);
    expect(down.vms.every((v) => v.outcome === 'rolled_back')).toBe(true);
    const crash = evacuate(base, alikeVms(4, 4 * GiB), { destinations: 2, faults: [{ kind: 'dest-crash', time: 3, text: 'dest-crash@3s' }] });
    const byDest = (d: string) => crash.vms.filter((v) => v.destination === d);
    expect(byDest('dest1').some((v) => v.outcome === 'rolled_back' && v.rollback_reason === 'dest_crash')).toBe(true);
    expect(byDest('dest2').every((v) => v.outcome === 'completed')).toBe(true);
  });

  it('rolling: each node drains in turn to the others, and the update time separates them', () => {
    const base = { workload: 'idle', network: '10g', transport: 'smb' } as const;
    const r = evacuate(base, alikeVms(6, 2 * GiB), { rolling: 3, updateTime: 60 });
    expect(r.nodes.map((n) => n.node)).toEqual(['node1', 'node2', 'node3']);
    for (let i = 1; i < r.nodes.length; i++) expect(r.nodes[i]!.start_s).toBeCloseTo(r.nodes[i - 1]!.end_s + 60, 6);
    // node1's 2 VMs, then node2's 2 plus whatever node1 sent it, then node3's
    expect(r.vms.length).toBeGreaterThan(6);
    // A VM that moves twice is one VM: the counts say both.
    expect(r.vm_count).toBe(6);
    expect(r.migrations).toBe(r.vms.length);
    expect(r.vms.every((v) => v.outcome === 'completed' && v.destination !== v.source)).toBe(true);
    expect(r.makespan_s).toBeCloseTo(r.nodes.at(-1)!.end_s, 9);
  });

  it('property: the makespan is never shorter than the bytes sent over the source\'s links, and no host runs more migrations at once than its limits', () => {
    const arb = fc.record({
      count: fc.integer({ min: 1, max: 10 }),
      sizes: fc.array(fc.constantFrom(1, 2, 4), { minLength: 10, maxLength: 10 }),
      off: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
      network: fc.constantFrom('1g', '10g', '2x10g', '2x1g-team', '10g-rdma'),
      transport: fc.constantFrom('tcp', 'compression', 'smb'),
      workload: fc.constantFrom('idle', 'web', 'oltp'),
      mode: fc.constantFrom('cluster', 'smb-share', 'shared-nothing'),
      maxLive: fc.integer({ min: 1, max: 4 }),
      maxStorage: fc.integer({ min: 1, max: 3 }),
      destinations: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(arb, (a) => {
        const vms = Array.from({ length: a.count }, (_, i) => vm(`v${i}`, a.sizes[i]! * GiB, { running: !a.off[i] }));
        const base: ScenarioInput = { workload: a.workload, network: a.network, transport: a.transport, mode: a.mode, disk: '2GiB' };
        const r = evacuate(base, vms, { maxLive: a.maxLive, maxStorage: a.maxStorage, destinations: a.destinations });
        expect(r.vms).toHaveLength(a.count);
        expect(peakPerHost(r, 'live')).toBeLessThanOrEqual(a.maxLive);
        expect(peakPerHost(r, 'storage')).toBeLessThanOrEqual(a.maxStorage);
        expect(r.peak_live).toBeLessThanOrEqual(a.maxLive);
        const net = getNetwork(a.network);
        const payload = net.nics.reduce((t, n) => t + n.lineRate, 0) * Math.max(protocolEfficiency(net.mtu, 'tcp'), protocolEfficiency(net.mtu, 'rdma'));
        const bytes = r.vms.reduce((t, v) => t + v.total_bytes_sent, 0);
        expect(bytes).toBeLessThanOrEqual(r.makespan_s * payload * (1 + 1e-9));
        for (const v of r.vms) expect(v.end_s).toBeLessThanOrEqual(r.makespan_s + 1e-9);
      }),
      { numRuns: 30, seed: 1103 },
    );
  });

  it('reads its options like the CLI: --vms and --inventory exclude each other, bad values name their flag', () => {
    const base = { workload: 'idle' };
    expect(evacuationSpec({ vms: '3' }, base, GiB).vms.map((v) => v.name)).toEqual(['vm1', 'vm2', 'vm3']);
    expect(() => evacuationSpec({ vms: '3', inventory: 'x.csv' }, base, GiB)).toThrow(/--vms: expected either --vms N .* or --inventory FILE/);
    expect(() => evacuationSpec({ maxLive: '0' }, base, GiB)).toThrow(/--max-live: expected a whole number from 1 to 64/);
    expect(() => evacuationSpec({ window: 'soon' }, base, GiB)).toThrow(/--window: expected a duration/);
    expect(() => evacuationSpec({ fault: ['stall@30s'] }, base, GiB)).toThrow(/--fault: expected KIND@TIME with KIND one of link-down, nic-down, dest-crash/);
    expect(() => evacuationSpec({ rolling: '4', destinations: '2' }, base, GiB)).toThrow(/--destinations: expected no --destinations with --rolling/);
    expect(() => evacuate({ workload: 'idle', fault: ['link-down@precopy'] }, [vm('a')])).toThrow(/--fault: expected for evacuate, KIND@TIME/);
  });
});
