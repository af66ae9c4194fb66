// The result record: one per migration run, the same for the sim and the real engine. JSON keys and CSV
// columns are these snake_case names, with the unit in the name. docs/results.md documents each field.

export type Mode = 'cluster' | 'smb-share' | 'shared-nothing' | 'storage';
export type TransportName = 'tcp' | 'compression' | 'smb';
export type PolicyName = 'hyperv' | 'qemu' | 'xen';
export type Outcome = 'completed' | 'rolled_back';
export type Host = 'source' | 'destination';
export type Engine = 'sim' | 'real';

export const MODES: readonly Mode[] = ['cluster', 'smb-share', 'shared-nothing', 'storage'];
export const TRANSPORTS: readonly TransportName[] = ['tcp', 'compression', 'smb'];
export const POLICIES: readonly PolicyName[] = ['hyperv', 'qemu', 'xen'];

/** One pre-copy round (or the blackout's final copy, phase "blackout"). */
export interface RoundRecord {
  round: number;
  phase: 'precopy' | 'blackout';
  /** Time of the bitmap sync that started the round, seconds since the migration began. */
  start_s: number;
  duration_s: number;
  pages_sent: number;
  bytes_sent: number;
  /** Pages dirty at the sync that ended the round (what the next round must send). */
  dirty_pages_after: number;
  /** Guest dirty-rate throttle in force during the round, 0..0.99 (auto-converge). */
  throttle: number;
}

export interface MigrationResult {
  engine: Engine;
  mode: Mode;
  network: string;
  /** `none` for a storage-only move, which copies within one host. */
  transport: TransportName | 'none';
  workload: string;
  memory_bytes: number;
  policy: PolicyName;
  seed: number;
  outcome: Outcome;
  rollback_reason: string | null;
  converged: boolean;
  vm_running_on: Host;
  total_time_s: number;
  downtime_ms: number;
  precopy_rounds: number;
  memory_pages_sent: number;
  memory_bytes_sent: number;
  zero_pages: number;
  total_bytes_sent: number;
  pings_sent: number;
  missed_pings: number;
  max_ping_gap_ms: number;
  tcp_max_stall_ms: number;
  tcp_sessions_dropped: number;
  /** Destination memory equals the source memory at resume (page versions compared). */
  memory_verified: boolean | null;
  disk_bytes: number;
  storage_bytes_copied: number;
  storage_copy_time_s: number;
  mirrored_writes: number;
  mirrored_bytes: number;
  handoff_ms: number;
  /** Core-seconds the source host spent moving the migration's bytes (its transport's stack, compression); null where not known (the real engine). */
  source_cpu_s: number | null;
  /** Core-seconds the destination host spent receiving them (its stack, decompression); null where not known. */
  destination_cpu_s: number | null;
  /** Compression transport: share of the memory's wire bytes that went compressed (0: it fell back to TCP/IP throughout); null for other transports. */
  compression_share: number | null;
  source_files_removed: number;
  /** The --fault values as given, joined by ';' (null when none). */
  faults: string | null;
  faults_applied: number;
  writes_lost: number;
  destination_files_left: number;
  cleanup_pending: boolean;
  invariants_ok: boolean;
  /** Broken invariants, joined by '; ' (null when all held). */
  invariant_violations: string | null;
  /**
   * The move was verified byte for byte: real engine, SHA-256 of the destination's memory (and, for
   * storage moves, disk) equal to the source's at the pause; sim, the same meaning from its version
   * checks (`simVerified`). Null when the run rolled back.
   */
  verified: boolean | null;
  rounds: RoundRecord[];
}

/**
 * The simulator's `verified`: true when a completed run's memory check held (`memory_verified` not
 * false) and no storage write was lost; null when the run rolled back.
 */
export function simVerified(r: Pick<MigrationResult, 'outcome' | 'memory_verified' | 'writes_lost'>): boolean | null {
  if (r.outcome !== 'completed') return null;
  return r.memory_verified !== false && r.writes_lost === 0;
}
