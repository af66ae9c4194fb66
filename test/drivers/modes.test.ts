import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/drivers/sim/index.js';
import { KIND_PHASES, MODE_FAULTS, MODE_PHASES, type FaultKind, type Phase } from '../../src/migration/faults.js';
import { MODES, type MigrationResult, type Mode } from '../../src/result.js';
import { resolveScenario, type ScenarioInput } from '../../src/scenario.js';

const run = (i: ScenarioInput): MigrationResult => simulate(resolveScenario(i));
const small = { memory: '1GiB', disk: '4GiB', workload: 'oltp' } as const;

/** Every invariant the issue names, checked on one result. */
function expectInvariants(r: MigrationResult): void {
  expect(r.invariant_violations).toBeNull();
  expect(r.invariants_ok).toBe(true);
  expect(r.writes_lost).toBe(0);
  if (r.outcome === 'rolled_back') {
    expect(r.vm_running_on).toBe('source');
    expect(r.destination_files_left).toBe(0);
    expect(r.source_files_removed).toBe(0);
  } else {
    if (r.mode !== 'storage') {
      expect(r.vm_running_on).toBe('destination');
      expect(r.memory_verified).toBe(true);
    }
    if (r.cleanup_pending) expect(r.source_files_removed).toBe(0);
  }
}

/** What must happen for a fault of `kind` in `phase` (default stall 30 s > 20 s transfer timeout). */
function expected(mode: Mode, kind: FaultKind, phase: Phase, transport: string): { outcome: string; reason?: string; pending?: boolean } {
  const multichannel = transport === 'smb'; // 2x10g: 8 SMB channels over two NICs
  if ((kind === 'channel-down' || kind === 'nic-down') && multichannel) return { outcome: 'completed', pending: false };
  const cause = kind === 'channel-down' || kind === 'nic-down' ? 'all_channels_lost' : kind === 'stall' ? 'stall_timeout' : kind.replace(/-/g, '_');
  if (phase === 'cleanup') return { outcome: 'completed', pending: true };
  // With the resume request out (it reached the destination at these fractions), a lost link or a stall
  // leaves the move in doubt; the destination says it runs the VM, so the move stands. A crash strikes
  // before the destination acts on the request: it never runs the VM, and the source resumes it.
  if (phase === 'resume') return kind === 'dest-crash' ? { outcome: 'rolled_back', reason: cause } : { outcome: 'completed', pending: false };
  void mode;
  return { outcome: 'rolled_back', reason: cause };
}

describe('fault matrix: every mode x fault kind x phase it can hit x seeds', () => {
  const cases: [Mode, FaultKind, Phase, number, string][] = [];
  const transports = ['tcp', 'smb', 'compression'];
  for (const mode of MODES)
    for (const kind of MODE_FAULTS[mode])
      for (const phase of MODE_PHASES[mode])
        if (KIND_PHASES[kind].includes(phase)) for (const seed of [1, 2, 3]) cases.push([mode, kind, phase, seed, transports[seed - 1]!]);

  it('covers at least 200 runs', () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
  });

  it.each(cases)('%s, %s@%s, seed %d, %s: invariants hold and the outcome is the expected one', (mode, kind, phase, seed, transport) => {
    const input: ScenarioInput = { ...small, mode, seed, fault: `${kind}@${phase}:0.${seed * 3}`, network: '2x10g' };
    if (mode !== 'storage') input.transport = transport;
    const r = run(input);
    expectInvariants(r);
    expect(r.faults_applied).toBe(1);
    const e = expected(mode, kind, phase, mode === 'storage' ? 'local' : transport);
    expect(r.outcome).toBe(e.outcome);
    if (e.reason) expect(r.rollback_reason).toBe(e.reason);
    if (e.pending !== undefined) expect(r.cleanup_pending).toBe(e.pending);
  });

  it('a short stall only delays; faults after the run are not applied', () => {
    const short = run({ ...small, mode: 'shared-nothing', fault: 'stall@precopy', stallTime: '2s' });
    const none = run({ ...small, mode: 'shared-nothing' });
    expect(short.outcome).toBe('completed');
    expect(short.total_time_s).toBeGreaterThan(none.total_time_s + 1.9);
    const late = run({ ...small, mode: 'cluster', fault: 'link-down@10000s' });
    expect(late.faults_applied).toBe(0);
    expect(late.outcome).toBe('completed');
  });

  it('a NIC dying: SMB fails over to the other NIC, a team moves the flow, one TCP stream on its own NIC is lost', () => {
    const at = { ...small, memory: '4GiB', workload: 'web', fault: 'nic-down@precopy:0.3' };
    const smb = run({ ...at, network: '2x10g', transport: 'smb' });
    const smbClean = run({ ...small, memory: '4GiB', workload: 'web', network: '2x10g', transport: 'smb' });
    expect(smb.outcome).toBe('completed');
    expect(smb.total_time_s).toBeGreaterThan(smbClean.total_time_s);
    const team = run({ ...at, network: '2x1g-team', transport: 'tcp' });
    const teamClean = run({ ...small, memory: '4GiB', workload: 'web', network: '2x1g-team', transport: 'tcp' });
    expect(team.outcome).toBe('completed');
    expect(team.total_time_s).toBeCloseTo(teamClean.total_time_s, 1); // the other member carries it on
    const teamSmb = run({ ...at, network: '2x1g-team', transport: 'smb' });
    expect(teamSmb.total_time_s).toBeGreaterThan(run({ ...small, memory: '4GiB', workload: 'web', network: '2x1g-team', transport: 'smb' }).total_time_s * 1.3);
    const tcp = run({ ...at, network: '2x10g', transport: 'tcp' });
    expect(tcp.outcome).toBe('rolled_back');
    expect(tcp.rollback_reason).toBe('all_channels_lost');
    for (const r of [smb, team, teamSmb, tcp]) expectInvariants(r);
  });

  it('losing one of several SMB connections on a NIC costs little: the others take up its share', () => {
    const clean = run({ ...small, memory: '4GiB', workload: 'web', network: '10g', transport: 'smb' });
    const one = run({ ...small, memory: '4GiB', workload: 'web', network: '10g', transport: 'smb', fault: 'channel-down@precopy:0.3' });
    expect(one.outcome).toBe('completed');
    expect(one.total_time_s).toBeGreaterThanOrEqual(clean.total_time_s);
    expect(one.total_time_s).toBeLessThan(clean.total_time_s * 1.05);
  });

  it('a fault during the blackout extends the outage until the VM runs on the source again', () => {
    const r = run({ ...small, mode: 'cluster', fault: 'link-down@blackout', detectTime: '1s' });
    expect(r.outcome).toBe('rolled_back');
    expect(r.downtime_ms).toBeGreaterThan(1000);
    expectInvariants(r);
  });
});

describe('modes', () => {
  it('shared-nothing with a heavy writer converges: the mirror copies each region once, however fast the guest writes', () => {
    const r = run({ mode: 'shared-nothing', memory: '2GiB', disk: '20GiB', workload: 'churn', network: '10g', transport: 'smb' });
    expect(r.outcome).toBe('completed');
    expect(r.storage_bytes_copied).toBe(20 * 2 ** 30);
    expect(r.mirrored_writes).toBeGreaterThan(10_000);
    expectInvariants(r);
  });

  it('mirroring finishes even when the guest writes faster than the link carries, where iterative copying would not', () => {
    // churn writes 5000 x 64 KiB = 327 MB/s; one TCP stream on 1GbE carries ~118 MB/s. An iterative
    // (dirty-block) copy would resend more each pass than it sent; the mirror copies each region once.
    const scenario = resolveScenario({ mode: 'shared-nothing', memory: '1GiB', disk: '8GiB', workload: 'churn', network: '1g', transport: 'tcp' });
    const demand = scenario.workload.io.writeIops * scenario.workload.io.ioSize;
    expect(demand).toBeGreaterThan(2.5 * 125e6 * 0.94);
    const r = simulate(scenario);
    expect(r.storage_bytes_copied).toBe(8 * 2 ** 30);
    expect(r.outcome).toBe('completed');
    // the guest's writes were slowed to what the link could mirror, never lost
    expect(r.mirrored_bytes / r.total_time_s).toBeLessThan(125e6);
    expectInvariants(r);
  });

  it('a destination slower than the guest writes stretches the copy and loses no write', () => {
    const fast = run({ mode: 'shared-nothing', memory: '2GiB', disk: '20GiB', workload: 'churn', network: '10g', transport: 'smb', destStorage: 'ssd' });
    const slow = run({ mode: 'shared-nothing', memory: '2GiB', disk: '20GiB', workload: 'churn', network: '10g', transport: 'smb', destStorage: 'hdd' });
    expect(slow.storage_copy_time_s).toBeGreaterThan(fast.storage_copy_time_s * 1.3);
    expect(slow.writes_lost).toBe(0);
    expectInvariants(slow);
  });

  it('cluster downtime is the memory-only downtime plus the handoff', () => {
    const withHandoff = run({ mode: 'cluster', workload: 'web', network: '10g', handoffTime: '5ms' });
    const memoryOnly = run({ mode: 'cluster', workload: 'web', network: '10g', handoffTime: '0ms' });
    expect(withHandoff.handoff_ms).toBeCloseTo(5 + 0.05, 6); // the handoff plus one 50 us round trip
    expect(withHandoff.downtime_ms - memoryOnly.downtime_ms).toBeCloseTo(5, 6);
  });

  it('shared-nothing total time covers the storage copy plus the memory migration', () => {
    const sn = run({ mode: 'shared-nothing', memory: '4GiB', disk: '40GiB', workload: 'oltp', network: '10g', transport: 'smb' });
    const memOnly = run({ mode: 'smb-share', memory: '4GiB', disk: '40GiB', workload: 'oltp', network: '10g', transport: 'smb' });
    expect(sn.storage_copy_time_s).toBeGreaterThan(60);
    // setup + copy + memory migration (slowed by mirrored writes) + handoff + clean-up
    expect(sn.total_time_s).toBeGreaterThan(sn.storage_copy_time_s + (memOnly.total_time_s - 1.5 - 0.5) * 0.99);
    expect(sn.total_bytes_sent).toBeGreaterThan(sn.storage_bytes_copied + sn.memory_bytes_sent);
  });

  it('smb-share with --converged: the guest IO shares the NICs, not the migration stream (within 10% when the NIC has room)', () => {
    for (const workload of ['oltp', 'churn']) {
      // SMB fills both directions' NICs: the guest's writes to its file server take part of the send side
      const apart = run({ mode: 'smb-share', workload, network: '10g', transport: 'smb' });
      const converged = run({ mode: 'smb-share', workload, network: '10g', transport: 'smb', converged: true });
      expect(converged.total_time_s).toBeGreaterThan(apart.total_time_s);
    }
    // one TCP stream (4 Gbit/s) leaves a 10GbE NIC room for churn's 327 MB/s of writes: about unchanged
    const apart = run({ mode: 'smb-share', workload: 'churn', network: '10g', transport: 'tcp' });
    const converged = run({ mode: 'smb-share', workload: 'churn', network: '10g', transport: 'tcp', converged: true });
    expect(converged.total_time_s).toBeLessThan(apart.total_time_s * 1.1);
    // on 1GbE there is no room: the stream and the writes share the NIC
    const slow = run({ mode: 'smb-share', workload: 'oltp', network: '1g', transport: 'tcp', converged: true });
    expect(slow.total_time_s).toBeGreaterThan(run({ mode: 'smb-share', workload: 'oltp', network: '1g', transport: 'tcp' }).total_time_s * 1.02);
  });

  it('shared-nothing: mirrored writes ride beside the migration stream on the NIC, not inside it', () => {
    // oltp mirrors 350 x 8 KiB = 2.9 MB/s of writes; one 4 Gbit/s stream on 10GbE does not feel them
    const sn = run({ mode: 'shared-nothing', memory: '4GiB', disk: '8GiB', workload: 'oltp', network: '10g', transport: 'tcp' });
    const memOnly = run({ mode: 'cluster', memory: '4GiB', workload: 'oltp', network: '10g', transport: 'tcp' });
    const memoryPhase = (r: typeof sn) => r.rounds.reduce((t, x) => t + x.duration_s, 0);
    expect(memoryPhase(sn)).toBeLessThan(memoryPhase(memOnly) * 1.1);
  });

  it('a storage-only move sends each file to its own destination, as the VM spec says', () => {
    const split = run({ mode: 'storage', vm: 'test/fixtures/vm-two-destinations.json', workload: 'idle' });
    const allSsd = run({ mode: 'storage', vm: 'test/fixtures/vm-two-destinations.json', workload: 'idle', destStorage: 'ssd' });
    expect(split.storage_bytes_copied).toBe(64 * 2 ** 10 + 4 * 2 ** 30 + 8 * 2 ** 30); // config, half of os.vhdx, data.vhdx
    expect(split.source_files_removed).toBe(3);
    // data.vhdx goes to the slower hdd whatever --dest-storage says, so both runs copy at the same speed
    expect(split.storage_copy_time_s).toBeCloseTo(allSsd.storage_copy_time_s, 6);
    const oneDest = run({ mode: 'storage', disk: '12GiB', workload: 'idle', destStorage: 'ssd' });
    expect(split.storage_copy_time_s).toBeGreaterThan(oneDest.storage_copy_time_s * 1.2);
    expectInvariants(split);
  });

  it('a storage move to an SMB share crosses the SMB links, so a slow network bounds it', () => {
    const local = run({ mode: 'storage', disk: '20GiB', workload: 'idle', network: '1g', destStorage: 'ssd' });
    const share1g = run({ mode: 'storage', disk: '20GiB', workload: 'idle', network: '1g', destStorage: 'smb' });
    const share20g = run({ mode: 'storage', disk: '20GiB', workload: 'idle', network: '2x10g', destStorage: 'smb' });
    expect(share1g.storage_copy_time_s).toBeGreaterThan(local.storage_copy_time_s * 3); // ~118 MB/s vs ~490 MB/s
    expect(share1g.total_bytes_sent).toBeGreaterThanOrEqual(20 * 2 ** 30);
    expect(local.total_bytes_sent).toBe(0);
    expect(share20g.storage_copy_time_s).toBeLessThan(share1g.storage_copy_time_s / 3); // the SSD bounds it there
    for (const r of [local, share1g, share20g]) expectInvariants(r);
  });

  it('a storage-only move copies every file locally, switches the IO, and removes the source files', () => {
    const r = run({ mode: 'storage', disk: '10GiB', workload: 'oltp' });
    expect(r.vm_running_on).toBe('source');
    expect(r.downtime_ms).toBe(0);
    expect(r.missed_pings).toBe(0);
    expect(r.total_bytes_sent).toBe(0);
    expect(r.storage_bytes_copied).toBe(10 * 2 ** 30 + 64 * 2 ** 10);
    expect(r.source_files_removed).toBe(2);
    expectInvariants(r);
  });
});
