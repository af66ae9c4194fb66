// The migration core's configuration (what a migration is and the core's deadlines) and what it reports
// when the migration is over (its summary, from which both drivers build the result record).

import type { Host, Mode, Outcome } from '../result.js';
import type { Cause, Owner } from './events.js';
import type { Phase } from './faults.js';
import type { PrecopyConfig, PrecopySummary } from './precopy.js';

/** The core's deadlines (seconds). */
export interface CoreTiming {
  /**
   * From a fault that cuts the hosts apart (the link, the last channel, the destination process) to the
   * source noticing it; null when the driver reports each failure as it observes it (the real engine).
   */
  detectTime: number | null;
  /** A refusal (a wrong key, a failed storage write) reaches the source this long after the fault (with detectTime). */
  replyTime: number;
  /** A transfer that makes no progress for this long fails (`stall_timeout`). */
  transferTimeout: number;
  /** How long an injected stall stops the destination. */
  stallTime: number;
  /** In doubt: how long the source asks the destination which host runs the VM before giving up. */
  resolveTimeout: number;
}

export interface MigrationConfig {
  mode: Mode;
  /** The memory pre-copy; null for a storage-only move. */
  memory: PrecopyConfig | null;
  /**
   * The storage copy; null when the files stay where they are. `destFiles` are created on the
   * destination when the copy starts; `sourceFiles` are the source's files removed after the move.
   */
  storage: { regions: number; segmentRegions: number; boundaries: number[]; destFiles: number; sourceFiles: number } | null;
  configBytes: number;
  timing: CoreTiming;
}

/** Whether an operator's cancel is honoured now: yes up to the blackout; too late from the handoff on. */
export type CancelDecision = 'accepted' | 'too-late' | 'ending';

export interface InDoubt {
  /** When the source noticed the failure with its resume request out. */
  since: number;
  cause: Cause;
  /** When the destination's word came (null: it never did within resolveTimeout). */
  resolvedAt: number | null;
  owner: Owner;
}

export interface MigrationSummary {
  outcome: Outcome;
  rollbackReason: Cause | null;
  vmRunningOn: Host;
  /** Phase intervals as they happened (a phase cut short by a fault ends at the fault). */
  phases: Partial<Record<Phase, { start: number; end: number }>>;
  memory: PrecopySummary | null;
  storageRegionsCopied: number;
  storageCopyStart: number | null;
  storageCopyEnd: number | null;
  pausedAt: number | null;
  /** Running again: on the destination (completed) or on the source (rolled back after the pause). */
  runningAgainAt: number | null;
  handoffStart: number | null;
  handoffEnd: number | null;
  finishedAt: number;
  sourceFilesRemoved: number;
  destinationFilesLeft: number;
  cleanupPending: boolean;
  /** The resume's answer was lost: how the in-doubt window was resolved (null when it never opened). */
  inDoubt: InDoubt | null;
  /** Injected faults that struck a phase they can hit. */
  faultsApplied: number;
  /** Invariants the core saw broken (empty when all held). */
  violations: string[];
  /** Failures reported after the run had settled (during a rollback, in doubt, or after it finished). */
  ignoredFailures: Cause[];
}

