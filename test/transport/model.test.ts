import { describe, expect, it } from 'vitest';
import { getNetwork, protocolEfficiency } from '../../src/network/index.js';
import { COMPRESSION_DEFAULTS, cpuPerByte, pageCost, PAGE_HEADER_BYTES, ZERO_PAGE_BYTES, type PageWork } from '../../src/transport/model.js';
import { linkOf } from '../drivers/sim/helpers.js';

const eff = protocolEfficiency(1500, 'tcp');
const plain: PageWork = { compression: null, zeroPages: 'skip', zeroScanRate: null, runCost: 0 };

describe('the transports on an idle network (channels and their max-min rates)', () => {
  it('tcp: one stream on one NIC; over a team it still uses one member', () => {
    expect(linkOf(getNetwork('1g'), 'tcp').rate).toBeCloseTo(125e6 * eff);
    expect(linkOf(getNetwork('2x1g-team'), 'tcp').rate).toBeCloseTo(125e6 * eff);
    expect(linkOf(getNetwork('2x1g'), 'tcp').channels).toHaveLength(1);
    // one stream on 10GbE is capped by one core at 4 Gbit/s
    expect(linkOf(getNetwork('10g'), 'tcp').rate).toBeCloseTo(0.5e9, 3);
  });

  it('smb: uses every NIC of the best class, channels share their NIC, TCP channels are capped per stream', () => {
    expect(linkOf(getNetwork('2x1g'), 'smb').rate).toBeCloseTo(2 * 125e6 * eff);
    expect(linkOf(getNetwork('1g'), 'smb').rate).toBeCloseTo(125e6 * eff);
    const l10 = linkOf(getNetwork('2x10g'), 'smb');
    expect(l10.channels).toHaveLength(8);
    expect(l10.rate).toBeCloseTo(2 * 1.25e9 * eff);
    const rdma = linkOf(getNetwork('10g-rdma'), 'smb');
    expect(rdma.channels.map((c) => c.kind)).toEqual(['rdma', 'rdma']);
    expect(rdma.rate).toBeCloseTo(1.25e9 * protocolEfficiency(1500, 'rdma'));
    expect(rdma.rtt).toBeLessThan(10e-6);
    // a team is one RSS interface: 4 connections spread over its members by the address hash
    const team = linkOf(getNetwork('2x1g-team'), 'smb');
    expect(new Set(team.channels.map((c) => c.src)).size).toBe(2);
    expect(team.rate).toBeCloseTo(2 * 125e6 * eff);
  });
});

describe('page cost', () => {
  it('charges page headers and 9-byte markers for skipped zero pages, whole pages for sent ones', () => {
    expect(pageCost(plain, 100, 50, 1000, 0, Infinity)).toEqual({ wireBytes: 100 * (4096 + PAGE_HEADER_BYTES) + 50 * ZERO_PAGE_BYTES + 1000, compressSeconds: 0, threadSeconds: 0, sourceCpu: 0, destinationCpu: 0 });
    expect(pageCost({ ...plain, zeroPages: 'send' }, 100, 50, 1000, 0, Infinity).wireBytes).toBe(150 * (4096 + PAGE_HEADER_BYTES) + 1000);
  });

  it('compression: shrinks pages by the ratio and zero pages to a few bytes; core-seconds at both ends', () => {
    const w: PageWork = { ...plain, zeroPages: 'send', compression: { ratio: 0.4, ratePerCore: 110e6, cores: null } };
    const pages = 100_000;
    const c = pageCost(w, pages, 1000, 0, 0, Infinity);
    expect(c.wireBytes).toBe(pages * (4096 * 0.4 + PAGE_HEADER_BYTES) + 1000 * (COMPRESSION_DEFAULTS.zeroBytes + PAGE_HEADER_BYTES));
    expect(c.compressSeconds).toBeCloseTo(((pages + 1000 / COMPRESSION_DEFAULTS.zeroSpeedup) * 4096) / 110e6, 12);
    expect(c.sourceCpu).toBe(c.compressSeconds);
    expect(c.destinationCpu).toBeCloseTo((pages * 4096) / COMPRESSION_DEFAULTS.decompressRate, 12);
  });

  it("zero-page reads and per-run work are the sending thread's, before its streams at their caps", () => {
    const w: PageWork = { ...plain, zeroScanRate: 8e9, runCost: 5e-6 };
    const c = pageCost(w, 10_000, 1000, 0, 10_000, 0.5e9);
    expect(c.threadSeconds).toBeCloseTo(10_000 * 5e-6 + (1000 * 4096) / 8e9 + c.wireBytes / 0.5e9, 12);
    // RDMA channels have no per-stream cap: only the reads and runs
    expect(pageCost(w, 10_000, 1000, 0, 10_000, Infinity).threadSeconds).toBeCloseTo(10_000 * 5e-6 + (1000 * 4096) / 8e9, 12);
    // zero pages sent whole are not looked for: no reads to find them
    expect(pageCost({ ...w, zeroPages: 'send', runCost: 0 }, 10_000, 1000, 0, 0, 0.5e9).threadSeconds).toBe(0);
    // unset: nothing
    expect(pageCost(plain, 10_000, 1000, 0, 10_000, 0.5e9).threadSeconds).toBe(0);
  });

  it('the transports cost the CPU per byte: SMB over TCP a little more than TCP, SMB Direct a twentieth', () => {
    expect(cpuPerByte('tcp')).toEqual({ source: 1.6e-9, destination: 3.0e-9 });
    expect(cpuPerByte('smb').source).toBeCloseTo(1.76e-9, 15);
    expect(cpuPerByte('smb-direct').source).toBeCloseTo(0.08e-9, 15);
  });
});
