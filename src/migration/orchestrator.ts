// The migration orchestrator, sans-I/O: the phases of each mode, the point of no return, faults and
// rollback ("always have a way back"), and the invariants. It runs the memory pre-copy (precopy.ts) and
// the storage mirror (storage.ts) as parts of one migration. A driver performs each action and answers
// with the event it produced; a failure the driver detects arrives as a `failure` event at any time.
//
//   cluster        config -> precopy -> blackout -> handoff (storage ownership) -> resume | cleanup
//   smb-share      config -> precopy -> blackout -> handoff (file handles)      -> resume | cleanup
//   shared-nothing config -> storage-copy (mirror) -> precopy -> blackout -> handoff -> resume | cleanup
//   storage        config -> storage-copy (mirror) -> handoff (switch IO to the new files)  | cleanup
//
// `|` marks the point of no return: the VM running on the destination (storage mode: the VM's IO on the
// new files). A failure before it rolls back: the VM keeps running, or resumes, on the source with its
// own files, and the destination's VM and files are deleted. A failure after it lets the migration stand
// and leaves the source's clean-up to do (its files stay until someone confirms and removes them).

import { StateError } from '../errors.js';
import type { Host, Mode, Outcome } from '../result.js';
import type { Phase } from './faults.js';
import { PrecopyCore, type MemoryAction, type MemoryEvent, type PrecopyConfig, type PrecopySummary } from './precopy.js';
import { StorageMirror } from './storage.js';

/**
 * Why a migration rolled back. Real engine only: `dest_refused`, the destination refused a step for a
 * reason of its own (it names it), such as too little memory for the VM; `cancelled`, the operator's
 * Ctrl-C or SIGTERM, rolled back like a fault.
 */
export type Cause = 'link_down' | 'all_channels_lost' | 'dest_crash' | 'dest_storage_error' | 'auth_failure' | 'stall_timeout' | 'no_convergence' | 'dest_refused' | 'cancelled';

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
}

export type Action =
  | { type: 'setup'; configBytes: number }
  | { type: 'copy-segment'; start: number; end: number }
  | Exclude<MemoryAction, { type: 'memory-done' } | { type: 'memory-abort' }>
  | { type: 'handoff' }
  | { type: 'resume' }
  | { type: 'cleanup'; removeSourceFiles: number }
  | { type: 'resume-source' }
  | { type: 'clean-destination'; cause: Cause }
  /** Answer to a failure that changes nothing: carry on with the action in progress. */
  | { type: 'continue' }
  | { type: 'done' };

export type Event =
  | { type: 'setup-done'; now: number }
  | { type: 'segment-copied'; now: number }
  | MemoryEvent
  | { type: 'handed-off'; now: number }
  | { type: 'resumed'; now: number }
  | { type: 'cleaned-up'; now: number }
  | { type: 'resumed-source'; now: number }
  | { type: 'destination-cleaned'; now: number }
  | { type: 'failure'; now: number; cause: Cause };

type SourceVm = 'running' | 'paused' | 'stopped' | 'removed';
type DestVm = 'absent' | 'shell' | 'running';

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
  /** Invariants the core saw broken (empty when all held). */
  violations: string[];
  /** Failures reported after the run had settled (during a rollback or after it finished). */
  ignoredFailures: Cause[];
}

export class MigrationCore {
  private readonly memory: PrecopyCore | null;
  readonly mirror: StorageMirror | null;
  private phase: Phase | 'rollback' | 'done' = 'config';
  private step: 'idle' | 'setup' | 'copy' | 'memory' | 'handoff' | 'resume' | 'cleanup' | 'resume-source' | 'clean-destination' | 'done' = 'idle';
  private readonly phases: Partial<Record<Phase, { start: number; end: number }>> = {};
  private sourceVm: SourceVm = 'running';
  private destVm: DestVm = 'absent';
  private destFiles = 0;
  private sourceFilesRemoved = 0;
  private cleanupPending = false;
  private outcome: Outcome | null = null;
  private cause: Cause | null = null;
  private pausedAt: number | null = null;
  private runningAgainAt: number | null = null;
  private handoffStart: number | null = null;
  private handoffEnd: number | null = null;
  private copyStart: number | null = null;
  private copyEnd: number | null = null;
  private finishedAt = 0;
  private readonly violations: string[] = [];
  private readonly ignored: Cause[] = [];

  constructor(readonly cfg: MigrationConfig) {
    if ((cfg.mode === 'storage') !== (cfg.memory === null)) throw new StateError('only a storage-only move runs without a memory migration');
    if ((cfg.mode === 'shared-nothing' || cfg.mode === 'storage') !== (cfg.storage !== null)) throw new StateError(`mode ${cfg.mode} ${cfg.storage ? 'copies no storage' : 'needs a storage copy'}`);
    this.memory = cfg.memory ? new PrecopyCore(cfg.memory) : null;
    this.mirror = cfg.storage ? new StorageMirror(cfg.storage.regions, cfg.storage.segmentRegions, cfg.storage.boundaries) : null;
  }

  /** The phase now (for fault placement). */
  get currentPhase(): Phase | 'rollback' | 'done' {
    return this.phase;
  }

  get isPaused(): boolean {
    return this.sourceVm === 'paused';
  }

  start(now = 0): Action {
    if (this.step !== 'idle') throw new StateError('start() called twice');
    this.enter('config', now);
    this.step = 'setup';
    // The destination creates the (empty) VM: its configuration is the first destination file.
    if (this.cfg.mode !== 'storage') {
      this.destVm = 'shell';
      this.destFiles = 1;
    }
    return { type: 'setup', configBytes: this.cfg.configBytes };
  }

  handle(ev: Event): Action {
    if (ev.type === 'failure') return this.onFailure(ev.now, ev.cause);
    switch (this.step) {
      case 'setup':
        this.expect(ev, 'setup-done');
        this.leave('config', ev.now);
        return this.mirror ? this.startCopy(ev.now) : this.startMemory(ev.now);
      case 'copy':
        this.expect(ev, 'segment-copied');
        if (!this.mirror!.segmentDone()) return this.nextSegment();
        return this.copyDone(ev.now);
      case 'memory':
        if (ev.type !== 'synced' && ev.type !== 'sent' && ev.type !== 'paused') throw new StateError(`event '${ev.type}' out of order during the memory migration`);
        return this.onMemory(this.memory!.handle(ev), ev.now);
      case 'handoff':
        this.expect(ev, 'handed-off');
        this.handoffEnd = ev.now;
        if (this.cfg.mode === 'storage') {
          // The VM's IO now goes to the new files: the point of no return of a storage-only move.
          this.mirror!.switchToDestination();
          this.leave('handoff', ev.now);
          return this.startCleanup(ev.now);
        }
        this.step = 'resume';
        return { type: 'resume' };
      case 'resume':
        this.expect(ev, 'resumed');
        if (this.sourceVm === 'running') this.violations.push('the VM ran on both hosts at once');
        this.sourceVm = 'stopped';
        this.destVm = 'running';
        this.runningAgainAt = ev.now;
        this.mirror?.switchToDestination();
        this.leave('handoff', ev.now);
        return this.startCleanup(ev.now);
      case 'cleanup':
        this.expect(ev, 'cleaned-up');
        this.leave('cleanup', ev.now);
        this.sourceVm = this.cfg.mode === 'storage' ? 'running' : 'removed';
        this.sourceFilesRemoved = this.removableSourceFiles();
        return this.finish(ev.now, 'completed');
      case 'resume-source':
        this.expect(ev, 'resumed-source');
        this.sourceVm = 'running';
        this.runningAgainAt = ev.now;
        this.step = 'clean-destination';
        return { type: 'clean-destination', cause: this.cause! };
      case 'clean-destination':
        this.expect(ev, 'destination-cleaned');
        this.destFiles = 0;
        this.destVm = 'absent';
        return this.finish(ev.now, 'rolled_back');
      default:
        throw new StateError(`event '${ev.type}' in step '${this.step}'`);
    }
  }

  private startCopy(now: number): Action {
    this.enter('storage-copy', now);
    this.copyStart = now;
    this.mirror!.start();
    // The destination creates its copies of the files at once, then fills them.
    this.destFiles += this.cfg.storage!.destFiles;
    if (this.mirror!.status === 'mirroring') return this.copyDone(now); // nothing to copy (empty dynamic disks)
    return this.nextSegment();
  }

  private copyDone(now: number): Action {
    this.copyEnd = now;
    this.leave('storage-copy', now);
    return this.memory ? this.startMemory(now) : this.startHandoff(now);
  }

  private nextSegment(): Action {
    const seg = this.mirror!.nextSegment();
    if (!seg) throw new StateError('no segment to copy');
    this.step = 'copy';
    return { type: 'copy-segment', start: seg.start, end: seg.end };
  }

  private startMemory(now: number): Action {
    this.enter('precopy', now);
    this.step = 'memory';
    return this.onMemory(this.memory!.start(), now);
  }

  private onMemory(a: MemoryAction, now: number): Action {
    switch (a.type) {
      case 'pause':
        this.leave('precopy', now);
        this.enter('blackout', now);
        this.sourceVm = 'paused';
        this.pausedAt = now;
        return a;
      case 'memory-done':
        this.leave('blackout', now);
        return this.startHandoff(now);
      case 'memory-abort':
        this.leave('precopy', now);
        return this.rollBack(now, a.reason as Cause);
      default:
        return a;
    }
  }

  private startHandoff(now: number): Action {
    this.enter('handoff', now);
    this.handoffStart = now;
    this.step = 'handoff';
    return { type: 'handoff' };
  }

  private startCleanup(now: number): Action {
    this.enter('cleanup', now);
    this.step = 'cleanup';
    return { type: 'cleanup', removeSourceFiles: this.removableSourceFiles() };
  }

  /** Files on the source's own storage that become obsolete once the VM uses the destination's copies. */
  private removableSourceFiles(): number {
    return this.cfg.storage ? this.cfg.storage.sourceFiles : 0;
  }

  private onFailure(now: number, cause: Cause): Action {
    if (this.phase === 'rollback' || this.phase === 'done') {
      this.ignored.push(cause);
      return this.step === 'done' ? { type: 'done' } : { type: 'continue' };
    }
    if (this.phase === 'cleanup') {
      // After the point of no return: the migration stands; the source keeps its files and its VM's
      // remains until the clean-up can be confirmed.
      this.leave('cleanup', now);
      this.cleanupPending = true;
      return this.finish(now, 'completed');
    }
    this.leave(this.phase, now);
    return this.rollBack(now, cause);
  }

  private rollBack(now: number, cause: Cause): Action {
    this.cause = cause;
    this.phase = 'rollback';
    this.mirror?.stop();
    if (this.sourceVm === 'paused') {
      this.step = 'resume-source';
      return { type: 'resume-source' };
    }
    this.leave('rollback', now);
    this.step = 'clean-destination';
    return { type: 'clean-destination', cause };
  }

  private finish(now: number, outcome: Outcome): Action {
    this.outcome = outcome;
    this.finishedAt = now;
    this.phase = 'done';
    this.step = 'done';
    this.checkInvariants();
    return { type: 'done' };
  }

  private checkInvariants(): void {
    const srcRuns = this.sourceVm === 'running';
    const dstRuns = this.destVm === 'running';
    if (srcRuns === dstRuns) this.violations.push(srcRuns ? 'the VM runs on both hosts' : 'the VM runs on no host');
    if (this.outcome === 'rolled_back') {
      if (this.destFiles !== 0) this.violations.push(`a rolled-back run left ${this.destFiles} destination files`);
      if (this.sourceFilesRemoved !== 0) this.violations.push('a rolled-back run removed source files');
    }
    if (this.sourceFilesRemoved > 0 && !(dstRuns || (this.cfg.mode === 'storage' && this.mirror?.status === 'switched'))) {
      this.violations.push('source files were removed before the VM ran on the destination');
    }
  }

  private enter(p: Phase, now: number): void {
    this.phase = p;
    this.phases[p] = { start: now, end: now };
  }

  private leave(p: Phase | 'rollback' | 'done', now: number): void {
    if (p === 'rollback' || p === 'done') return;
    const iv = this.phases[p];
    if (iv) iv.end = now;
  }

  private expect(ev: Event, type: Event['type']): void {
    if (ev.type !== type) throw new StateError(`event '${ev.type}' out of order: expected '${type}' in step '${this.step}'`);
  }

  get done(): boolean {
    return this.step === 'done';
  }

  summary(): MigrationSummary {
    if (this.step !== 'done' || this.outcome === null) throw new StateError('summary() before the migration finished');
    const vmOn: Host = this.cfg.mode === 'storage' || this.sourceVm === 'running' ? 'source' : 'destination';
    return {
      outcome: this.outcome,
      rollbackReason: this.cause,
      vmRunningOn: vmOn,
      phases: structuredClone(this.phases),
      memory: this.memory ? this.memory.summary() : null,
      storageRegionsCopied: this.mirror ? this.mirror.copiedRegions : 0,
      storageCopyStart: this.copyStart,
      storageCopyEnd: this.copyEnd,
      pausedAt: this.pausedAt,
      runningAgainAt: this.runningAgainAt,
      handoffStart: this.handoffStart,
      handoffEnd: this.handoffEnd,
      finishedAt: this.finishedAt,
      sourceFilesRemoved: this.sourceFilesRemoved,
      // After a completed move the destination's files are the VM's own; only a rollback can leave debris.
      destinationFilesLeft: this.outcome === 'rolled_back' ? this.destFiles : 0,
      cleanupPending: this.cleanupPending,
      violations: [...this.violations],
      ignoredFailures: [...this.ignored],
    };
  }
}
