import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { simulate } from '../../src/drivers/sim/index.js';
import { protocolEfficiency } from '../../src/network/index.js';
import { resolveScenario, type ScenarioInput } from '../../src/scenario.js';
import { PAGE_HEADER_BYTES } from '../../src/transport/model.js';

const run = (i: ScenarioInput) => simulate(resolveScenario(i));

describe('simulator: closed forms', () => {
  it('sends W(1 - e^(-r T_i / W)) pages in round i+1 on average over seeds (within 2%)', () => {
    const W = 65_536; // 256 MiB working set
    const r = 20_000; // pages per second
    const ratios: number[][] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const res = run({ memory: '1GiB', workload: 'custom', dirtyRate: `${r}pages/s`, workingSet: '256MiB', zeroFraction: '0', network: '1g', transport: 'tcp', policy: 'qemu', seed });
      const pre = res.rounds;
      for (let i = 0; i + 1 < pre.length; i++) {
        const T = pre[i + 1]!.start_s - pre[i]!.start_s;
        const expected = W * -Math.expm1((-r * T) / W);
        if (expected < 2000) continue;
        (ratios[i] ??= []).push(pre[i + 1]!.pages_sent / expected);
      }
    }
    expect(ratios.length).toBeGreaterThanOrEqual(3);
    for (const rs of ratios) {
      if (rs.length < 10) continue;
      const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
      expect(Math.abs(mean - 1)).toBeLessThan(0.02);
    }
  });

  it('moves an idle VM with no zero pages in memory / effective rate + the modelled overheads (within 1%)', () => {
    const res = run({ memory: '8GiB', workload: 'idle', zeroFraction: '0', network: '1g', transport: 'tcp' });
    const rate = 125e6 * protocolEfficiency(1500, 'tcp');
    const pages = 2 ** 33 / 4096;
    const rtt = 150e-6;
    const expected =
      1.5 + (65536 / rate + rtt) + // setup: create the VM, send its configuration
      (pages * (4096 + PAGE_HEADER_BYTES)) / rate + rtt + // round 0: all of memory
      (2 ** 20 / rate + rtt) + // blackout: device state
      (rtt + 0.005) + // handoff of the storage ownership (CSV)
      (rtt + 0.02) + // resume
      (rtt + 0.5 + 1); // clean-up on the source, cluster resource update
    expect(res.converged).toBe(true);
    expect(Math.abs(res.total_time_s - expected) / expected).toBeLessThan(0.01);
    expect(res.total_time_s).toBeGreaterThan(expected); // the idle writes cost a little more, never less
  });
});

describe('simulator: networks and transports', () => {
  it('a team does not speed up one TCP stream; SMB multichannel over 2x1g is close to twice as fast', () => {
    for (const workload of ['idle', 'web']) {
      const one = run({ workload, network: '1g', transport: 'tcp' });
      const team = run({ workload, network: '2x1g-team', transport: 'tcp' });
      const smb1 = run({ workload, network: '1g', transport: 'smb' });
      const smb2 = run({ workload, network: '2x1g', transport: 'smb' });
      expect(team.total_time_s).toBeGreaterThanOrEqual(one.total_time_s * 0.999);
      // The data phase (everything but the fixed 1.5 s setup, 0.5 s clean-up and 1 s cluster update) runs twice as fast.
      const data = (r: typeof one): number => r.total_time_s - 1.5 - 0.5 - 1;
      const speedup = data(smb1) / data(smb2);
      expect(speedup).toBeGreaterThan(1.9);
      // A little over 2 is right for a busy guest: shorter rounds leave it less time to dirty pages.
      expect(speedup).toBeLessThan(2.1);
      if (workload === 'web') expect(smb1.total_time_s / smb2.total_time_s).toBeGreaterThan(1.8);
    }
  });

  it('compression on the idle cores wins on 1g and on 10g (it feeds one stream 2.5x its bytes), and falls back to TCP/IP on a busy host', () => {
    const c1 = run({ workload: 'web', network: '1g', transport: 'compression' });
    const t1 = run({ workload: 'web', network: '1g', transport: 'tcp' });
    const c10 = run({ workload: 'oltp', network: '10g', transport: 'compression' });
    const t10 = run({ workload: 'oltp', network: '10g', transport: 'tcp' });
    expect(c1.total_time_s).toBeLessThan(t1.total_time_s * 0.6);
    expect(c1.total_bytes_sent).toBeLessThan(t1.total_bytes_sent * 0.5);
    expect(c10.total_time_s).toBeLessThan(t10.total_time_s * 0.8);
    expect(c10.compression_share).toBe(1);
    // a busy host (97% of 16 cores in use): half a core cannot feed the stream faster than it carries plain pages
    const busy = run({ workload: 'oltp', network: '10g', transport: 'compression', hostLoad: '97%' });
    expect(busy.compression_share).toBe(0);
    expect(busy.total_time_s).toBeCloseTo(t10.total_time_s, 6);
    expect(busy.memory_bytes_sent).toBe(t10.memory_bytes_sent);
    // two cores (--compression-cores 2) cannot beat a 4 Gbit/s stream either; on 1g they can
    expect(run({ workload: 'oltp', network: '10g', transport: 'compression', compressionCores: '2' }).compression_share).toBe(0);
    expect(run({ workload: 'web', network: '1g', transport: 'compression', compressionCores: '2' }).compression_share).toBe(1);
    expect(t10.compression_share).toBeNull();
  });

  it('zero pages: Hyper-V sends them whole (an 8 GiB idle VM sends >= 8 GiB over tcp); QEMU skips them; compression shrinks them', () => {
    const whole = run({ memory: '8GiB', workload: 'idle', network: '10g', transport: 'tcp' });
    expect(whole.memory_bytes_sent).toBeGreaterThanOrEqual(8 * 2 ** 30);
    expect(whole.zero_pages).toBeGreaterThan(0.8 * (8 * 2 ** 30) / 4096);
    const smb = run({ memory: '8GiB', workload: 'idle', network: '2x10g', transport: 'smb' });
    expect(smb.memory_bytes_sent).toBeGreaterThanOrEqual(8 * 2 ** 30);
    const skipped = run({ memory: '8GiB', workload: 'idle', network: '10g', transport: 'tcp', policy: 'qemu' });
    expect(skipped.memory_bytes_sent).toBeLessThan(0.2 * 8 * 2 ** 30);
    expect(run({ memory: '8GiB', workload: 'idle', network: '10g', transport: 'tcp', zeroPages: 'skip' }).memory_bytes_sent).toBe(skipped.memory_bytes_sent);
    const compressed = run({ memory: '8GiB', workload: 'idle', network: '10g', transport: 'compression' });
    expect(compressed.memory_bytes_sent).toBeLessThan(0.1 * 8 * 2 ** 30);
    expect(whole.total_time_s).toBeGreaterThan(skipped.total_time_s * 4);
  });

  it('CPU seconds at each end: the TCP stack per byte, SMB Direct far less than SMB over TCP, compression costs the source', () => {
    const smbTcp = run({ workload: 'web', network: '10g', transport: 'smb' });
    const smbDirect = run({ workload: 'web', network: '10g-rdma', transport: 'smb' });
    expect(smbTcp.source_cpu_s).toBeGreaterThan(1);
    expect(smbDirect.source_cpu_s!).toBeLessThan(smbTcp.source_cpu_s! * 0.1);
    expect(smbDirect.destination_cpu_s!).toBeLessThan(smbTcp.destination_cpu_s! * 0.1);
    const tcp = run({ workload: 'web', network: '1g', transport: 'tcp' });
    const comp = run({ workload: 'web', network: '1g', transport: 'compression' });
    expect(tcp.source_cpu_s).toBeCloseTo(tcp.total_bytes_sent * 1.6e-9, 1);
    expect(comp.source_cpu_s!).toBeGreaterThan(tcp.source_cpu_s!);
    expect(comp.destination_cpu_s!).toBeGreaterThan(0);
  });

  it('churn does not converge over 1g, and says so; it does over 2x10g RDMA', () => {
    const slow = run({ workload: 'churn', network: '1g', transport: 'tcp' });
    expect(slow.converged).toBe(false);
    expect(slow.precopy_rounds).toBe(5);
    expect(slow.downtime_ms).toBeGreaterThan(3000); // the forced blackout sends the whole churned region
    expect(slow.memory_verified).toBe(true);
    const aborted = run({ workload: 'churn', network: '1g', transport: 'tcp', onNoConverge: 'abort' });
    expect(aborted.outcome).toBe('rolled_back');
    expect(aborted.rollback_reason).toBe('no_convergence');
    expect(aborted.vm_running_on).toBe('source');
    expect(aborted.downtime_ms).toBe(0);
    expect(aborted.missed_pings).toBe(0);
    expect(run({ workload: 'churn', network: '2x10g-rdma', transport: 'smb' }).converged).toBe(true);
  });

  it('a long blackout loses pings and stalls TCP; a short one does not drop sessions', () => {
    const slow = run({ workload: 'churn', network: '1g', transport: 'tcp' });
    expect(slow.missed_pings).toBeGreaterThanOrEqual(Math.floor(slow.downtime_ms / 1000) - 1);
    expect(slow.max_ping_gap_ms).toBeGreaterThan(slow.downtime_ms);
    expect(slow.tcp_max_stall_ms).toBeGreaterThanOrEqual(slow.downtime_ms);
    const quick = run({ workload: 'idle', network: '10g', transport: 'smb' });
    expect(quick.missed_pings).toBeLessThanOrEqual(1);
    expect(quick.tcp_sessions_dropped).toBe(0);
  });
});

describe('simulator: determinism and invariants', () => {
  it('gives byte-identical JSON for the same scenario and seed, and different runs for different seeds', () => {
    const a = JSON.stringify(run({ workload: 'oltp', network: '2x10g', transport: 'smb', seed: 7 }));
    const b = JSON.stringify(run({ workload: 'oltp', network: '2x10g', transport: 'smb', seed: 7 }));
    const c = JSON.stringify(run({ workload: 'oltp', network: '2x10g', transport: 'smb', seed: 8 }));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  const workloadArb = fc.record({
    memory: fc.constantFrom('64MiB', '256MiB', '1GiB'),
    dirtyRate: fc.integer({ min: 0, max: 80_000 }).map((n) => `${n}pages/s`),
    workingSet: fc.integer({ min: 1, max: 100 }).map((p) => `${p}%`),
    hotFraction: fc.constantFrom('0', '0.1', '0.3'),
    zeroFraction: fc.double({ min: 0, max: 1, noNaN: true }).map(String),
    seed: fc.integer({ min: 0, max: 1000 }),
  });

  it('the destination image equals the source image at resume for random workloads and policies (property)', () => {
    fc.assert(
      fc.property(
        workloadArb,
        fc.constantFrom('hyperv', 'qemu', 'xen'),
        fc.constantFrom('force', 'throttle'),
        fc.constantFrom('1g', '10g', '2x1g-team', '2x10g-rdma'),
        fc.constantFrom('tcp', 'compression', 'smb'),
        fc.boolean(),
        (w, policy, onNoConverge, network, transport, autoConverge) => {
          const r = run({ ...w, workload: 'custom', policy, onNoConverge, network, transport, ...(policy === 'qemu' ? { autoConverge } : {}) });
          expect(r.outcome).toBe('completed');
          expect(r.memory_verified).toBe(true);
          expect(r.downtime_ms).toBeGreaterThan(0);
          expect(r.total_time_s * 1000).toBeGreaterThan(r.downtime_ms);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('qemu: more bandwidth can mean a longer migration (docs/model.md): twice the stream rate, more rounds, more time', () => {
    const w = { memory: '2GiB', workload: 'custom', dirtyRate: '120000pages/s', workingSet: '1GiB', zeroFraction: '0.2', seed: 1, policy: 'qemu', network: '10g', transport: 'tcp' } as const;
    const slow = run({ ...w, streamCap: '300Mbit/s' });
    const fast = run({ ...w, streamCap: '600Mbit/s' });
    expect(slow.converged).toBe(false);
    expect(fast.converged).toBe(false);
    expect(fast.precopy_rounds).toBeGreaterThan(slow.precopy_rounds);
    expect(fast.total_time_s).toBeGreaterThan(slow.total_time_s);
  });

  it('more bandwidth never means more total time (property; hyperv and xen, and qemu when both converge)', () => {
    fc.assert(
      fc.property(
        workloadArb,
        fc.constantFrom('hyperv', 'qemu', 'xen'),
        fc.integer({ min: 200, max: 3000 }),
        fc.double({ min: 1.2, max: 4, noNaN: true }),
        (w, policy, capMbit, factor) => {
          const slow = run({ ...w, workload: 'custom', policy, network: '10g', transport: 'tcp', streamCap: `${capMbit}Mbit/s` });
          const fast = run({ ...w, workload: 'custom', policy, network: '10g', transport: 'tcp', streamCap: `${Math.min(9000, capMbit * factor)}Mbit/s` });
          if (policy === 'qemu' && !(slow.converged && fast.converged)) return;
          expect(fast.total_time_s).toBeLessThanOrEqual(slow.total_time_s);
        },
      ),
      { numRuns: 80 },
    );
  });
});
