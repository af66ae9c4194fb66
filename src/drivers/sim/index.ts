// The virtual-time driver: runs a scenario on the discrete-event kernel and returns its result record.
// A run is a pure function of its scenario (and seed): every random process has its own stream, and no
// wall clock enters the result. Times are rounded to the nanosecond (seconds) and the microsecond
// (milliseconds), and bytes to whole bytes, so float noise never reaches a report.
//
// A fault placed by phase (`precopy:0.5`) lands at that fraction of the phase as it runs without faults:
// the run is first simulated fault-free (it is deterministic, so the faulty run is identical up to the
// fault), the phase's interval is read off, and the run is simulated again with the fault at that time.

import { diskBytes } from '../../guest/files.js';
import { simVerified, type MigrationResult } from '../../result.js';
import type { Scenario } from '../../scenario.js';
import { resultRecord } from '../record.js';
import { runOnce, type ResolvedFault, type RunOutput } from './run.js';

export { newWorld, SimMigration, simClock, type ResolvedFault, type Route, type RunOutput, type SimWorld } from './run.js';

export function simulate(s: Scenario): MigrationResult {
  return toResult(s, runOnce(s, resolveFaults(s)));
}

/** The time of each fault: a time as given; a phase fraction on the phase's interval in a fault-free run. */
export function resolveFaults(s: Scenario): ResolvedFault[] {
  let resolved: ResolvedFault[] = s.faults.map((spec) => ({ spec, time: 'time' in spec.when ? spec.when.time : null }));
  if (s.faults.some((f) => 'phase' in f.when)) {
    const plain = runOnce(s, []).summary;
    resolved = s.faults.map((spec) => {
      if ('time' in spec.when) return { spec, time: spec.when.time };
      const iv = plain.phases[spec.when.phase];
      return { spec, time: iv ? iv.start + spec.when.fraction * (iv.end - iv.start) : null };
    });
  }
  return resolved;
}

/** The result record of a finished simulated migration. */
export function toResult(s: Scenario, out: RunOutput): MigrationResult {
  const sum = out.summary;
  const mem = sum.memory;
  const memoryMode = s.mode !== 'storage';
  const violations = [...sum.violations];
  if (out.memoryVerified === false) violations.push('destination memory differs from the source at resume');
  if (out.writesLost > 0) violations.push(`${out.writesLost} guest writes missing on the destination's storage`);
  const memoryVerified = memoryMode && sum.outcome === 'completed' ? out.memoryVerified : null;
  return resultRecord(s, sum, {
    engine: 'sim',
    network: s.network.name,
    transport: memoryMode ? s.transport : 'none',
    memoryMode,
    converged: memoryMode ? (mem?.converged ?? false) : sum.storageCopyEnd !== null,
    totalBytesSent: (memoryMode ? (mem?.memoryWireBytes ?? 0) + (mem?.stateBytes ?? 0) + s.timing.configBytes : 0) + out.storageWireBytes,
    memoryVerified,
    diskBytes: diskBytes(s.vm),
    storageBytesCopied: out.storageBytesCopied,
    mirroredWrites: out.writes.mirroredWrites,
    mirroredBytes: out.writes.mirroredBytes,
    sourceFilesRemoved: sum.sourceFilesRemoved,
    writesLost: out.writesLost,
    sourceCpu: out.sourceCpu,
    destinationCpu: out.destinationCpu,
    compressionShare: out.compressionShare,
    destinationFilesLeft: sum.destinationFilesLeft,
    violations,
    verified: simVerified({ outcome: sum.outcome, memory_verified: memoryVerified, writes_lost: out.writesLost }),
  });
}
