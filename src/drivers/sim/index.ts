// The virtual-time driver: runs a scenario on the discrete-event kernel and returns its result record.
// A run is a pure function of its scenario (and seed): every random process has its own stream, and no
// wall clock enters the result. Times are rounded to the nanosecond (seconds) and the microsecond
// (milliseconds), and bytes to whole bytes, so float noise never reaches a report.
//
// A fault placed by phase (`precopy:0.5`) lands at that fraction of the phase as it runs without faults:
// the run is first simulated fault-free (it is deterministic, so the faulty run is identical up to the
// fault), the phase's interval is read off, and the run is simulated again with the fault at that time.

import { diskBytes } from '../../guest/files.js';
import { pingProbe, tcpProbe, type Outage } from '../../probes/index.js';
import { Rng } from '../../random/index.js';
import { simVerified, type MigrationResult } from '../../result.js';
import type { Scenario } from '../../scenario.js';
import { runOnce, type ResolvedFault, type RunOutput } from './run.js';

export function simulate(s: Scenario): MigrationResult {
  let resolved: ResolvedFault[] = s.faults.map((spec) => ({ spec, time: 'time' in spec.when ? spec.when.time : null }));
  if (s.faults.some((f) => 'phase' in f.when)) {
    const plain = runOnce(s, []).summary;
    resolved = s.faults.map((spec) => {
      if ('time' in spec.when) return { spec, time: spec.when.time };
      const iv = plain.phases[spec.when.phase];
      return { spec, time: iv ? iv.start + spec.when.fraction * (iv.end - iv.start) : null };
    });
  }
  return toResult(s, runOnce(s, resolved));
}

function toResult(s: Scenario, out: RunOutput): MigrationResult {
  const sum = out.summary;
  const mem = sum.memory;
  const memoryMode = s.mode !== 'storage';
  const outages: Outage[] = [];
  if (memoryMode && sum.pausedAt !== null) {
    // Back on the destination: the network must also learn where the VM is. Back on the source: it knows.
    const end =
      sum.runningAgainAt === null ? sum.finishedAt : sum.outcome === 'completed' ? sum.runningAgainAt + s.timing.switchover : sum.runningAgainAt;
    outages.push({ start: sum.pausedAt, end });
  }
  const pingRng = Rng.stream(s.seed, 'ping');
  const ping = pingProbe({ interval: s.probes.pingInterval, phase: pingRng.next() * s.probes.pingInterval, duration: sum.finishedAt, outages });
  const tcp = tcpProbe({ rtoMin: s.probes.tcpRtoMin, timeout: s.probes.tcpTimeout, outages });
  const downtime = memoryMode && sum.pausedAt !== null && sum.runningAgainAt !== null ? sum.runningAgainAt - sum.pausedAt : 0;
  const copyIv = sum.phases['storage-copy'];
  const violations = [...sum.violations];
  if (out.memoryVerified === false) violations.push('destination memory differs from the source at resume');
  if (out.writesLost > 0) violations.push(`${out.writesLost} guest writes missing on the destination's storage`);
  const memoryWire = mem?.memoryWireBytes ?? 0;
  const completed = sum.outcome === 'completed';
  return {
    engine: 'sim',
    mode: s.mode,
    network: s.network.name,
    transport: memoryMode ? s.transport : 'none',
    workload: s.workload.name,
    memory_bytes: s.memoryBytes,
    policy: s.policy.name,
    seed: s.seed,
    outcome: sum.outcome,
    rollback_reason: sum.rollbackReason,
    converged: memoryMode ? (mem?.converged ?? false) : sum.storageCopyEnd !== null,
    vm_running_on: sum.vmRunningOn,
    total_time_s: ns(sum.finishedAt),
    downtime_ms: us(downtime * 1000),
    precopy_rounds: mem?.precopyRounds ?? 0,
    memory_pages_sent: mem?.pagesSent ?? 0,
    memory_bytes_sent: Math.round(memoryWire),
    zero_pages: mem?.zeroPagesSent ?? 0,
    // Compressed pages are fractional bytes in the model; a report counts whole bytes.
    total_bytes_sent: Math.round((memoryMode ? memoryWire + (mem?.stateBytes ?? 0) + s.timing.configBytes : 0) + out.storageWireBytes),
    pings_sent: ping.sent,
    missed_pings: ping.missed,
    max_ping_gap_ms: us(ping.maxGapMs),
    tcp_max_stall_ms: us(tcp.maxStallMs),
    tcp_sessions_dropped: tcp.dropped,
    memory_verified: memoryMode && completed ? out.memoryVerified : null,
    disk_bytes: diskBytes(s.vm),
    storage_bytes_copied: out.storageBytesCopied,
    storage_copy_time_s: copyIv ? ns(copyIv.end - copyIv.start) : 0,
    mirrored_writes: out.writes.mirroredWrites,
    mirrored_bytes: out.writes.mirroredBytes,
    handoff_ms: sum.handoffStart !== null && sum.handoffEnd !== null ? us((sum.handoffEnd - sum.handoffStart) * 1000) : 0,
    source_files_removed: sum.sourceFilesRemoved,
    faults: s.faults.length > 0 ? s.faults.map((f) => f.text).join(';') : null,
    faults_applied: out.faultsApplied,
    writes_lost: out.writesLost,
    destination_files_left: sum.destinationFilesLeft,
    cleanup_pending: sum.cleanupPending,
    invariants_ok: violations.length === 0,
    invariant_violations: violations.length > 0 ? violations.join('; ') : null,
    verified: simVerified({ outcome: sum.outcome, memory_verified: memoryMode && completed ? out.memoryVerified : null, writes_lost: out.writesLost }),
    rounds: (mem?.rounds ?? []).map((r) => ({ ...r, start_s: ns(r.start_s), duration_s: ns(r.duration_s), bytes_sent: Math.round(r.bytes_sent) })),
  };
}

/** Round seconds to the nanosecond and milliseconds to the microsecond. */
const ns = (x: number): number => Math.round(x * 1e9) / 1e9;
const us = (ms: number): number => Math.round(ms * 1e3) / 1e3;
