// The result record from the core's summary, for both drivers: the fields every engine derives the same
// way (outcome, timings, the outage as the ping and TCP probes see it, handoff, faults, invariants) in
// one place, beside what only the engine measured (the facts it passes in).

import type { MigrationSummary } from '../migration/core.js';
import { pingProbe, tcpProbe, type Outage } from '../probes/index.js';
import { Rng } from '../random/index.js';
import type { Engine, MigrationResult } from '../result.js';
import type { Scenario } from '../scenario.js';

/** What the engine itself measured or decided; the rest of the record comes from the summary. */
export interface EngineFacts {
  engine: Engine;
  network: string;
  transport: MigrationResult['transport'];
  /** False for a storage-only move: no memory crosses, there is no pause. */
  memoryMode: boolean;
  converged: boolean;
  /** Bytes of everything that crossed: memory, device state, configuration, storage. */
  totalBytesSent: number;
  memoryVerified: boolean | null;
  diskBytes: number;
  storageBytesCopied: number;
  mirroredWrites: number;
  mirroredBytes: number;
  sourceFilesRemoved: number;
  writesLost: number;
  /** Core-seconds at each end (sim: the cost model); null where not known. */
  sourceCpu: number | null;
  destinationCpu: number | null;
  compressionShare: number | null;
  destinationFilesLeft: number;
  /** Every broken invariant (the core's and the engine's own checks). */
  violations: readonly string[];
  verified: boolean | null;
}

export function resultRecord(s: Scenario, sum: MigrationSummary, f: EngineFacts): MigrationResult {
  const mem = sum.memory;
  const outages: Outage[] = [];
  if (f.memoryMode && sum.pausedAt !== null) {
    // Back on the destination: the network must also learn where the VM is. Back on the source: it knows.
    const end = sum.runningAgainAt === null ? sum.finishedAt : sum.outcome === 'completed' ? sum.runningAgainAt + s.timing.switchover : sum.runningAgainAt;
    outages.push({ start: sum.pausedAt, end });
  }
  const ping = pingProbe({ interval: s.probes.pingInterval, phase: Rng.stream(s.seed, 'ping').next() * s.probes.pingInterval, duration: sum.finishedAt, outages });
  const tcp = tcpProbe({ rtoMin: s.probes.tcpRtoMin, timeout: s.probes.tcpTimeout, outages });
  const downtime = f.memoryMode && sum.pausedAt !== null && sum.runningAgainAt !== null ? sum.runningAgainAt - sum.pausedAt : 0;
  const copyIv = sum.phases['storage-copy'];
  return {
    engine: f.engine,
    mode: s.mode,
    network: f.network,
    transport: f.transport,
    workload: s.workload.name,
    memory_bytes: s.memoryBytes,
    policy: s.policy.name,
    seed: s.seed,
    outcome: sum.outcome,
    rollback_reason: sum.rollbackReason,
    converged: f.converged,
    vm_running_on: sum.vmRunningOn,
    total_time_s: ns(sum.finishedAt),
    downtime_ms: us(downtime * 1000),
    precopy_rounds: mem?.precopyRounds ?? 0,
    memory_pages_sent: mem?.pagesSent ?? 0,
    // Compressed pages are fractional bytes in the model; a record counts whole bytes.
    memory_bytes_sent: Math.round(mem?.memoryWireBytes ?? 0),
    zero_pages: mem?.zeroPagesSent ?? 0,
    total_bytes_sent: Math.round(f.totalBytesSent),
    pings_sent: ping.sent,
    missed_pings: ping.missed,
    max_ping_gap_ms: us(ping.maxGapMs),
    tcp_max_stall_ms: us(tcp.maxStallMs),
    tcp_sessions_dropped: tcp.dropped,
    memory_verified: f.memoryVerified,
    disk_bytes: f.diskBytes,
    storage_bytes_copied: f.storageBytesCopied,
    storage_copy_time_s: copyIv ? ns(copyIv.end - copyIv.start) : 0,
    mirrored_writes: f.mirroredWrites,
    mirrored_bytes: f.mirroredBytes,
    handoff_ms: sum.handoffStart !== null && sum.handoffEnd !== null ? us((sum.handoffEnd - sum.handoffStart) * 1000) : 0,
    source_cpu_s: f.sourceCpu === null ? null : ns(f.sourceCpu),
    destination_cpu_s: f.destinationCpu === null ? null : ns(f.destinationCpu),
    compression_share: f.compressionShare === null ? null : Math.round(f.compressionShare * 1e6) / 1e6,
    source_files_removed: f.sourceFilesRemoved,
    faults: s.faults.length > 0 ? s.faults.map((x) => x.text).join(';') : null,
    faults_applied: sum.faultsApplied,
    writes_lost: f.writesLost,
    destination_files_left: f.destinationFilesLeft,
    cleanup_pending: sum.cleanupPending,
    invariants_ok: f.violations.length === 0,
    invariant_violations: f.violations.length > 0 ? f.violations.join('; ') : null,
    verified: f.verified,
    rounds: (mem?.rounds ?? []).map((r) => ({ ...r, start_s: ns(r.start_s), duration_s: ns(r.duration_s), bytes_sent: Math.round(r.bytes_sent) })),
  };
}

/** Round seconds to the nanosecond and milliseconds to the microsecond. */
const ns = (x: number): number => Math.round(x * 1e9) / 1e9;
const us = (ms: number): number => Math.round(ms * 1e3) / 1e3;
