import { describe, expect, it } from 'vitest';
import { getNetwork, NETWORK_NAMES, protocolEfficiency, withOverrides } from '../../src/network/index.js';
import { InputError } from '../../src/errors.js';

describe('network profiles and cost model', () => {
  it('defines the named profiles with the right NICs (the seven first ones unchanged; the faster ones: test/network/nic-spec.test.ts)', () => {
    expect(NETWORK_NAMES.slice(0, 7)).toEqual(['1g', '2x1g', '2x1g-team', '10g', '2x10g', '10g-rdma', '2x10g-rdma']);
    expect(getNetwork('2x1g-team').nics.map((n) => n.team)).toEqual(['team1', 'team1']);
    expect(getNetwork('2x10g').nics.map((n) => n.lineRate)).toEqual([1.25e9, 1.25e9]);
    expect(getNetwork('10g-rdma').nics[0]!.rdma).toBe(true);
    expect(getNetwork('1g').rtt).toBeGreaterThan(getNetwork('10g').rtt);
    expect(getNetwork('10g').rdmaRtt).toBeLessThan(10e-6);
    expect(() => getNetwork('5g')).toThrow(InputError);
  });

  it('derives TCP efficiency from the MTU: ~94% at 1500, ~99% with jumbo frames', () => {
    expect(protocolEfficiency(1500, 'tcp')).toBeCloseTo(1448 / 1538, 10);
    expect(protocolEfficiency(1500, 'tcp')).toBeGreaterThan(0.94);
    expect(protocolEfficiency(1500, 'tcp')).toBeLessThan(0.95);
    expect(protocolEfficiency(9000, 'tcp')).toBeCloseTo(0.99, 2);
    // RoCE at 1500 carries 1024-byte IB MTU packets; with jumbo frames 4096
    expect(protocolEfficiency(1500, 'rdma')).toBeCloseTo(1024 / (1024 + 44 + 38), 10);
    expect(protocolEfficiency(9000, 'rdma')).toBeCloseTo(4096 / (4096 + 44 + 38), 10);
    expect(() => protocolEfficiency(100, 'tcp')).toThrow(/--mtu/);
  });

  it('applies overrides without touching the profile', () => {
    const base = getNetwork('10g');
    const n = withOverrides(base, { mtu: 9000, rtt: 1e-3, streamCap: 1e9 });
    expect(n.mtu).toBe(9000);
    expect(n.rtt).toBe(1e-3);
    expect(n.streamCap).toBe(1e9);
    expect(base.mtu).toBe(1500);
    expect(() => withOverrides(base, { streamCap: 0 })).toThrow(/--stream-cap/);
  });
});
