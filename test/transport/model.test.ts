import { describe, expect, it } from 'vitest';
import { getNetwork, protocolEfficiency } from '../../src/network/index.js';
import { buildLink, PAGE_HEADER_BYTES, ZERO_PAGE_BYTES } from '../../src/transport/model.js';

const eff = protocolEfficiency(1500, 'tcp');

describe('transport cost models', () => {
  it('tcp: one stream on one NIC; over a team it still uses one member', () => {
    expect(buildLink(getNetwork('1g'), 'tcp').rate).toBeCloseTo(125e6 * eff);
    expect(buildLink(getNetwork('2x1g-team'), 'tcp').rate).toBeCloseTo(125e6 * eff);
    expect(buildLink(getNetwork('2x1g'), 'tcp').channels).toHaveLength(1);
    // one stream on 10GbE is capped by one core at 4 Gbit/s
    expect(buildLink(getNetwork('10g'), 'tcp').rate).toBe(0.5e9);
  });

  it('smb: uses every NIC of the best class, channels share their NIC, TCP channels are capped per stream', () => {
    expect(buildLink(getNetwork('2x1g'), 'smb').rate).toBeCloseTo(2 * 125e6 * eff);
    expect(buildLink(getNetwork('1g'), 'smb').rate).toBeCloseTo(125e6 * eff);
    const l10 = buildLink(getNetwork('2x10g'), 'smb');
    expect(l10.channels).toHaveLength(8);
    expect(l10.rate).toBeCloseTo(2 * 1.25e9 * eff);
    const rdma = buildLink(getNetwork('10g-rdma'), 'smb');
    expect(rdma.channels.map((c) => c.kind)).toEqual(['rdma', 'rdma']);
    expect(rdma.rate).toBeCloseTo(1.25e9 * protocolEfficiency(1500, 'rdma'));
    expect(rdma.rtt).toBeLessThan(10e-6);
    // a team is one RSS interface: 4 connections spread over its members
    const team = buildLink(getNetwork('2x1g-team'), 'smb');
    expect(new Set(team.channels.map((c) => c.member)).size).toBe(2);
    expect(team.rate).toBeCloseTo(2 * 125e6 * eff);
  });

  it('charges page headers and 9-byte zero markers on the wire, and one round trip per transfer', () => {
    const l = buildLink(getNetwork('1g'), 'tcp');
    const c = l.cost(100, 50, 1000);
    expect(c.wireBytes).toBe(100 * (4096 + PAGE_HEADER_BYTES) + 50 * ZERO_PAGE_BYTES + 1000);
    expect(c.seconds).toBeCloseTo(c.wireBytes / l.rate + l.rtt, 12);
  });

  it('compression: shrinks pages by the ratio, and the CPU paces the stream when it is slower than the link', () => {
    const on1g = buildLink(getNetwork('1g'), 'compression', { compression: { ratio: 0.4, ratePerCore: 200e6, cores: 2 } });
    const tcp1g = buildLink(getNetwork('1g'), 'tcp');
    const pages = 100_000;
    expect(on1g.cost(pages, 0, 0).wireBytes).toBe(pages * (4096 * 0.4 + PAGE_HEADER_BYTES));
    // wins on 1g: the link is the limit and carries 2.5x less
    expect(on1g.cost(pages, 0, 0).seconds).toBeLessThan(tcp1g.cost(pages, 0, 0).seconds / 2);
    // loses on 10g with two cores: 400 MB/s of CPU against a 500 MB/s stream
    const on10g = buildLink(getNetwork('10g'), 'compression', { compression: { ratio: 0.4, ratePerCore: 200e6, cores: 2 } });
    const tcp10g = buildLink(getNetwork('10g'), 'tcp');
    expect(on10g.cost(pages, 0, 0).seconds).toBeCloseTo((pages * 4096) / 400e6 + on10g.rtt, 9);
    expect(on10g.cost(pages, 0, 0).seconds).toBeGreaterThan(tcp10g.cost(pages, 0, 0).seconds);
    // zero pages cost no CPU
    expect(on10g.cost(0, pages, 0).seconds).toBeCloseTo((pages * ZERO_PAGE_BYTES) / on10g.rate + on10g.rtt, 9);
    expect(() => buildLink(getNetwork('1g'), 'compression', { compression: { ratio: 2 } })).toThrow(/--compression-ratio/);
  });

  it('zero-page detection: hidden behind a slower wire, added to the time where the stream cap is the limit, free when unset', () => {
    const zeroPages = 200_000;
    const full = 50_000;
    const scanRate = 8e9; // bytes of zero memory read per second
    const scan = (zeroPages * 4096) / scanRate;
    // 10g, one TCP stream capped at 4 Gbit/s: the sending thread reads the zero pages, then sends at its cap
    const l10 = buildLink(getNetwork('10g'), 'tcp', { zeroScanRate: scanRate });
    const c10 = l10.cost(full, zeroPages, 0);
    expect(c10.seconds).toBeCloseTo(scan + c10.wireBytes / 0.5e9 + l10.rtt, 9);
    // 1g: the stream (0.5 GB/s) outruns the wire (~0.12 GB/s); the reads hide unless they are longer
    const l1 = buildLink(getNetwork('1g'), 'tcp', { zeroScanRate: scanRate });
    const c1 = l1.cost(full, zeroPages, 0);
    expect(c1.seconds).toBeCloseTo(Math.max(c1.wireBytes / l1.rate, scan + c1.wireBytes / 0.5e9) + l1.rtt, 9);
    expect(c1.seconds).toBeCloseTo(c1.wireBytes / l1.rate + l1.rtt, 9);
    const slowScan = buildLink(getNetwork('1g'), 'tcp', { zeroScanRate: 1e8 }).cost(full, zeroPages, 0);
    expect(slowScan.seconds).toBeCloseTo((zeroPages * 4096) / 1e8 + c1.wireBytes / 0.5e9 + l1.rtt, 9);
    // RDMA has no per-stream cap: the slower of the reads and the wire
    const rdma = buildLink(getNetwork('10g-rdma'), 'smb', { zeroScanRate: 1e9 });
    expect(rdma.cpuSeconds(full, zeroPages, 1e6)).toBeCloseTo((zeroPages * 4096) / 1e9, 12);
    // unset: nothing changes
    const plain = buildLink(getNetwork('10g'), 'tcp');
    expect(plain.cpuSeconds(full, zeroPages, c10.wireBytes)).toBe(0);
    expect(plain.cost(full, zeroPages, 0).seconds).toBeCloseTo(c10.wireBytes / plain.rate + plain.rtt, 9);
    expect(() => buildLink(getNetwork('10g'), 'tcp', { zeroScanRate: 0 })).toThrow(/--zero-scan-rate/);
  });

  it('--run-cost: each run of pages costs the sending thread, serial with its zero-page reads, hidden behind a slower wire', () => {
    const full = 10_000;
    const wire = full * (4096 + PAGE_HEADER_BYTES);
    // 10g TCP: the stream cap (0.5 GB/s) is the limit, so per-run work adds to it
    const l10 = buildLink(getNetwork('10g'), 'tcp', { runCost: 5e-6, zeroScanRate: 8e9 });
    expect(l10.cost(full, 1000, 0, full).seconds).toBeCloseTo(full * 5e-6 + (1000 * 4096) / 8e9 + (wire + 1000 * ZERO_PAGE_BYTES) / 0.5e9 + l10.rtt, 9);
    // one long run costs once
    expect(l10.cost(full, 0, 0, 1).seconds).toBeCloseTo(5e-6 + wire / 0.5e9 + l10.rtt, 9);
    // 1g: the wire is slower than the stream plus the per-run work: no change
    const l1 = buildLink(getNetwork('1g'), 'tcp', { runCost: 5e-6 });
    expect(l1.cost(full, 0, 0, full).seconds).toBeCloseTo(wire / l1.rate + l1.rtt, 9);
    // unset, or no runs given: free
    expect(buildLink(getNetwork('10g'), 'tcp').cost(full, 0, 0, full).seconds).toBeCloseTo(wire / 0.5e9 + l10.rtt, 9);
    expect(() => buildLink(getNetwork('10g'), 'tcp', { runCost: -1 })).toThrow(/--run-cost/);
  });
});
