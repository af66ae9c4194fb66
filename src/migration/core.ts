// The migration core, sans-I/O: the phases of each mode, faults and when they apply, the core's own
// deadlines, the point of no return, the in-doubt window and rollback ("always have a way back"), and the
// invariants. It runs the memory pre-copy (precopy.ts) and the storage mirror (storage.ts) as parts of one
// migration. It never reads a clock or touches the world: it takes events (events.ts) and hands out actions
// (`poll`), and says when it next needs waking (`pollTimeout`, then `handleTimeout`), as quinn-proto does.
//
//   cluster        config -> precopy -> blackout -> handoff (storage ownership) -> resume | cleanup
//   smb-share      config -> precopy -> blackout -> handoff (file handles)      -> resume | cleanup
//   shared-nothing config -> storage-copy (mirror) -> precopy -> blackout -> handoff -> resume | cleanup
//   storage        config -> storage-copy (mirror) -> handoff (switch IO to the new files)  | cleanup
//
// `|` marks the point of no return: the VM running on the destination (storage mode: the VM's IO on the
// new files). A failure before the resume request leaves rolls back: the VM keeps running, or resumes, on
// the source with its own files, and the destination's VM and files are deleted. A failure while the
// resume request is out (sent, its answer not yet heard) leaves the migration *in doubt*: the destination
// may already run the VM, so the source never resumes it on its own; it asks the destination which host
// runs the VM (`query-owner`, bounded by `resolveTimeout`), and the destination's word decides: it runs
// there (the move stands), or the destination has fenced it off and deleted it (roll back). libvirt's
// migration protocol keeps the source paused for the same reason until the destination's Finish answers.
// A failure after the point of no return lets the migration stand and leaves the source's clean-up to do.

import { StateError } from '../errors.js';
import type { Host, Mode, Outcome } from '../result.js';
import type { Action, Cause, Event, Owner, StepEvent } from './events.js';
import { faultApplies, storageFailureDeferred, type FaultKind, type Phase } from './faults.js';
import { PrecopyCore, type MemoryAction, type PrecopyConfig, type PrecopySummary } from './precopy.js';
import { StorageMirror } from './storage.js';

export type { Action, Cause, Event, Owner } from './events.js';

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

type SourceVm = 'running' | 'paused' | 'stopped' | 'removed';
type DestVm = 'absent' | 'shell' | 'running';
type Step = 'idle' | 'setup' | 'copy' | 'memory' | 'handoff' | 'resume' | 'in-doubt' | 'cleanup' | 'resume-source' | 'clean-destination' | 'done';
type Timer = { at: number; kind: 'notice'; cause: Cause } | { at: number; kind: 'stall-end' } | { at: number; kind: 'resolve' };

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

const CUTTING: readonly FaultKind[] = ['link-down', 'dest-crash', 'auth-failure'];

export class MigrationCore {
  private readonly memory: PrecopyCore | null;
  readonly mirror: StorageMirror | null;
  private phase: Phase | 'rollback' | 'done' = 'config';
  private step: Step = 'idle';
  private readonly actions: Action[] = [];
  private timers: Timer[] = [];
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
  private inDoubt: InDoubt | null = null;
  private faultsApplied = 0;
  /** The phase the last impair struck (its `impaired` answer arms the notice). */
  private impairedIn: Phase | null = null;
  private readonly violations: string[] = [];
  private readonly ignored: Cause[] = [];

  constructor(readonly cfg: MigrationConfig) {
    if ((cfg.mode === 'storage') !== (cfg.memory === null)) throw new StateError('only a storage-only move runs without a memory migration');
    if ((cfg.mode === 'shared-nothing' || cfg.mode === 'storage') !== (cfg.storage !== null)) throw new StateError(`mode ${cfg.mode} ${cfg.storage ? 'copies no storage' : 'needs a storage copy'}`);
    this.memory = cfg.memory ? new PrecopyCore(cfg.memory) : null;
    this.mirror = cfg.storage ? new StorageMirror(cfg.storage.regions, cfg.storage.segmentRegions, cfg.storage.boundaries) : null;
  }

  /** The phase now (`rollback` once a rollback began, `done` at the end). */
  get currentPhase(): Phase | 'rollback' | 'done' {
    return this.phase;
  }

  get done(): boolean {
    return this.step === 'done';
  }

  /** The resume's answer was lost and the destination's word came instead (the in-doubt window closed). */
  inDoubtResolved(): boolean {
    return this.inDoubt !== null && this.inDoubt.resolvedAt !== null;
  }

  // -- the interface a driver's loop uses --------------------------------------------------------------

  start(now = 0): void {
    if (this.step !== 'idle') throw new StateError('start() called twice');
    this.enter('config', now);
    this.step = 'setup';
    // The destination creates the (empty) VM: its configuration is the first destination file.
    if (this.cfg.mode !== 'storage') {
      this.destVm = 'shell';
      this.destFiles = 1;
    }
    this.actions.push({ type: 'setup', configBytes: this.cfg.configBytes });
  }

  /** The next action to carry out, or undefined when there is none until the next event or timeout. */
  poll(): Action | undefined {
    return this.actions.shift();
  }

  /** When the core next needs `handleTimeout` (seconds, the drivers' clock), or null. */
  pollTimeout(): number | null {
    let t: number | null = null;
    for (const x of this.timers) if (t === null || x.at < t) t = x.at;
    return t;
  }

  /** Fire every deadline due at `now`, earliest first. */
  handleTimeout(now: number): void {
    for (let guard = 0; guard < 100; guard++) {
      let next: Timer | undefined;
      for (const x of this.timers) if (x.at <= now && (next === undefined || x.at < next.at)) next = x;
      if (!next) return;
      this.timers.splice(this.timers.indexOf(next), 1);
      switch (next.kind) {
        case 'notice':
          this.onFailure(next.at, next.cause);
          break;
        case 'stall-end':
          this.actions.push({ type: 'unstall' });
          break;
        case 'resolve':
          if (this.step === 'in-doubt') this.unresolved(next.at);
          break;
      }
    }
  }

  /** Whether an operator's cancel would be honoured now (the rule `cancel` events follow). */
  cancelDecision(): CancelDecision {
    const p = this.phase;
    if (p === 'rollback' || p === 'done' || this.failurePending) return 'ending';
    if (p === 'handoff' || p === 'resume' || p === 'cleanup') return 'too-late';
    return 'accepted';
  }

  handle(ev: Event): void {
    switch (ev.type) {
      case 'failure':
        return this.onFailure(ev.now, ev.cause);
      case 'fault':
        return this.onFault(ev.now, ev.kind);
      case 'impaired':
        return this.onImpaired(ev.now, ev.kind, ev.lost);
      case 'cancel':
        if (this.cancelDecision() === 'accepted') this.onFailure(ev.now, 'cancelled');
        return;
      default:
        return this.onStep(ev);
    }
  }

  // -- steps --------------------------------------------------------------------------------------------

  private onStep(ev: StepEvent): void {
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
        this.leave('handoff', ev.now);
        if (this.cfg.mode === 'storage') {
          // The VM's IO now goes to the new files: the point of no return of a storage-only move.
          this.mirror!.switchToDestination();
          return this.startCleanup(ev.now);
        }
        // The resume request leaves now: from here on the destination may run the VM.
        this.enter('resume', ev.now);
        this.step = 'resume';
        this.actions.push({ type: 'resume' });
        return;
      case 'resume':
        this.expect(ev, 'resumed');
        return this.runsOnDestination(ev.now, ev.now);
      case 'in-doubt':
        this.expect(ev, 'owner');
        return this.resolve(ev.now, ev.type === 'owner' ? ev.owner : null, ev.type === 'owner' ? ev.resumedAt : null);
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
        this.actions.push({ type: 'clean-destination', cause: this.cause! });
        return;
      case 'clean-destination':
        this.expect(ev, 'destination-cleaned');
        this.destFiles = 0;
        this.destVm = 'absent';
        return this.finish(ev.now, 'rolled_back');
      default:
        throw new StateError(`event '${ev.type}' in step '${this.step}'`);
    }
  }

  private startCopy(now: number): void {
    this.enter('storage-copy', now);
    this.copyStart = now;
    this.mirror!.start();
    // The destination creates its copies of the files at once, then fills them.
    this.destFiles += this.cfg.storage!.destFiles;
    if (this.mirror!.status === 'mirroring') return this.copyDone(now); // nothing to copy (empty dynamic disks)
    this.nextSegment();
  }

  private copyDone(now: number): void {
    this.copyEnd = now;
    this.leave('storage-copy', now);
    if (this.memory) this.startMemory(now);
    else this.startHandoff(now);
  }

  private nextSegment(): void {
    const seg = this.mirror!.nextSegment();
    if (!seg) throw new StateError('no segment to copy');
    this.step = 'copy';
    this.actions.push({ type: 'copy-segment', start: seg.start, end: seg.end });
  }

  private startMemory(now: number): void {
    this.enter('precopy', now);
    this.step = 'memory';
    this.onMemory(this.memory!.start(), now);
  }

  private onMemory(a: MemoryAction, now: number): void {
    switch (a.type) {
      case 'pause':
        this.leave('precopy', now);
        this.enter('blackout', now);
        this.sourceVm = 'paused';
        this.pausedAt = now;
        this.actions.push(a);
        return;
      case 'memory-done':
        this.leave('blackout', now);
        return this.startHandoff(now);
      case 'memory-abort':
        this.leave('precopy', now);
        return this.rollBack(now, a.reason as Cause);
      default:
        this.actions.push(a);
    }
  }

  private startHandoff(now: number): void {
    this.enter('handoff', now);
    this.handoffStart = now;
    this.step = 'handoff';
    this.actions.push({ type: 'handoff' });
  }

  /** The VM runs on the destination since `since` (heard at `now`): the point of no return is passed. */
  private runsOnDestination(since: number, now: number): void {
    if (this.sourceVm === 'running') this.violations.push('the VM ran on both hosts at once');
    this.sourceVm = 'stopped';
    this.destVm = 'running';
    this.runningAgainAt = since;
    this.mirror?.switchToDestination();
    this.leave('resume', now);
    this.startCleanup(now);
  }

  private startCleanup(now: number): void {
    this.enter('cleanup', now);
    this.step = 'cleanup';
    this.actions.push({ type: 'cleanup', removeSourceFiles: this.removableSourceFiles() });
  }

  /** Files on the source's own storage that become obsolete once the VM uses the destination's copies. */
  private removableSourceFiles(): number {
    return this.cfg.storage ? this.cfg.storage.sourceFiles : 0;
  }

  // -- in doubt --------------------------------------------------------------------------------------------

  private enterInDoubt(now: number, cause: Cause): void {
    this.inDoubt = { since: now, cause, resolvedAt: null, owner: null };
    this.step = 'in-doubt';
    this.timers.push({ at: now + this.cfg.timing.resolveTimeout, kind: 'resolve' });
    this.actions.push({ type: 'query-owner' });
  }

  private resolve(now: number, owner: Owner, resumedAt: number | null): void {
    const d = this.inDoubt!;
    this.timers = this.timers.filter((t) => t.kind !== 'resolve');
    if (owner === null) return this.unresolved(now);
    d.resolvedAt = now;
    d.owner = owner;
    if (owner === 'destination') return this.runsOnDestination(resumedAt ?? now, now);
    // The destination never ran the VM and has fenced it off (a late resume request is refused there).
    this.leave('resume', now);
    this.rollBack(now, d.cause);
  }

  /** No word from the destination: the source must not resume a VM the destination may be running. */
  private unresolved(now: number): void {
    this.timers = this.timers.filter((t) => t.kind !== 'resolve');
    this.leave('resume', now);
    this.cause = this.inDoubt!.cause;
    this.violations.push(`in doubt: the destination did not say within ${this.cfg.timing.resolveTimeout} s whether it runs the VM; the VM stays paused on the source`);
    this.finish(now, 'rolled_back');
  }

  // -- failures, faults, rollback -----------------------------------------------------------------------

  /** A failure is on its way to being noticed (a notice deadline is armed). */
  private get failurePending(): boolean {
    return this.timers.some((t) => t.kind === 'notice');
  }

  private onFailure(now: number, cause: Cause): void {
    if (this.phase === 'rollback' || this.phase === 'done' || this.step === 'in-doubt') {
      this.ignored.push(cause);
      return;
    }
    this.timers = this.timers.filter((t) => t.kind !== 'notice');
    if (this.step === 'resume') return this.enterInDoubt(now, cause);
    if (this.phase === 'cleanup') {
      // After the point of no return: the migration stands; the source keeps its files and its VM's
      // remains until the clean-up can be confirmed.
      this.leave('cleanup', now);
      this.cleanupPending = true;
      return this.finish(now, 'completed');
    }
    this.leave(this.phase, now);
    this.rollBack(now, cause);
  }

  /** An injected fault strikes: it applies only to a phase its kind can hit, and not while a failure is on its way. */
  private onFault(now: number, kind: FaultKind): void {
    const phase = this.phase;
    if (phase === 'rollback' || phase === 'done' || this.step === 'in-doubt' || this.failurePending) return;
    if (!faultApplies(this.cfg.mode, kind, phase)) return; // e.g. a timed auth-failure after the hosts connected
    this.faultsApplied++;
    this.impairedIn = phase;
    const t = this.cfg.timing;
    const deferred = kind === 'dest-storage-error' && storageFailureDeferred(this.cfg.mode, phase);
    const cuts = CUTTING.includes(kind) || (kind === 'dest-storage-error' && !deferred) || (kind === 'stall' && t.stallTime >= t.transferTimeout);
    this.actions.push({ type: 'impair', kind, phase, cuts });
    if (kind === 'stall') {
      this.timers.push({ at: now + t.stallTime, kind: 'stall-end' });
      // A stall as long as the transfer timeout is a failure: the source gives up on the transfer.
      if (t.stallTime >= t.transferTimeout) this.timers.push({ at: now + t.transferTimeout, kind: 'notice', cause: 'stall_timeout' });
    }
  }

  /** What an injected fault did; with modelled detection, when the source will notice it. */
  private onImpaired(now: number, kind: FaultKind, lost: boolean): void {
    const t = this.cfg.timing;
    const phase = this.impairedIn;
    if (t.detectTime === null || phase === null || this.phase === 'rollback' || this.phase === 'done') return;
    const notice = (after: number, cause: Cause): void => void this.timers.push({ at: now + after, kind: 'notice', cause });
    switch (kind) {
      case 'link-down':
        return notice(t.detectTime, 'link_down');
      case 'dest-crash':
        return notice(t.detectTime, 'dest_crash');
      case 'nic-down':
      case 'channel-down':
        if (lost) notice(t.detectTime, 'all_channels_lost');
        return;
      case 'auth-failure':
        return notice(t.replyTime, 'auth_failure');
      case 'dest-storage-error':
        if (!storageFailureDeferred(this.cfg.mode, phase)) notice(t.replyTime, 'dest_storage_error');
        return;
      case 'stall':
        return; // armed when it struck
    }
  }

  private rollBack(now: number, cause: Cause): void {
    this.cause = cause;
    this.phase = 'rollback';
    this.timers = this.timers.filter((t) => t.kind === 'stall-end');
    this.mirror?.stop();
    if (this.sourceVm === 'paused') {
      this.step = 'resume-source';
      this.actions.push({ type: 'resume-source' });
      return;
    }
    this.step = 'clean-destination';
    this.actions.push({ type: 'clean-destination', cause });
  }

  private finish(now: number, outcome: Outcome): void {
    this.outcome = outcome;
    this.finishedAt = now;
    this.phase = 'done';
    this.step = 'done';
    this.timers = [];
    this.checkInvariants();
  }

  private checkInvariants(): void {
    const srcRuns = this.sourceVm === 'running';
    const dstRuns = this.destVm === 'running';
    if (srcRuns === dstRuns) this.violations.push(srcRuns ? 'the VM runs on both hosts' : 'the VM runs on no host');
    if (this.outcome === 'rolled_back' && this.destFiles !== 0 && this.inDoubt?.resolvedAt !== null) this.violations.push(`a rolled-back run left ${this.destFiles} destination files`);
    if (this.outcome === 'rolled_back' && this.sourceFilesRemoved !== 0) this.violations.push('a rolled-back run removed source files');
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

  summary(): MigrationSummary {
    if (this.step !== 'done' || this.outcome === null) throw new StateError('summary() before the migration finished');
    const vmOn: Host = this.cfg.mode === 'storage' || this.destVm !== 'running' ? 'source' : 'destination';
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
      inDoubt: this.inDoubt ? { ...this.inDoubt } : null,
      faultsApplied: this.faultsApplied,
      violations: [...this.violations],
      ignoredFailures: [...this.ignored],
    };
  }
}
