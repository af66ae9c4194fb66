// The migration core, sans-I/O: each mode's phases, faults and when they apply, the core's deadlines, the
// point of no return, the in-doubt window, rollback and the invariants; the memory pre-copy (precopy.ts)
// and the storage mirror (storage.ts) are its parts. It takes events and hands out actions (events.ts:
// `handle`, `poll`) and says when it next needs waking (`pollTimeout`, `handleTimeout`), as quinn-proto.
//
//   cluster, smb-share  config -> precopy -> blackout -> handoff -> resume | cleanup
//   shared-nothing      config -> storage-copy (mirror) -> precopy -> blackout -> handoff -> resume | cleanup
//   storage             config -> storage-copy (mirror) -> handoff (IO to the new files)  | cleanup
//
// `|`: the point of no return. A failure before the resume request leaves rolls back (the VM runs on, or
// resumes on, the source; the destination's VM and files are deleted). A failure with the request out
// leaves the migration *in doubt*: the source never resumes a VM the destination may run; it asks
// (`query-owner`, bounded by `resolveTimeout`) and the destination's word decides, as libvirt keeps a
// source paused until the destination's Finish answers. After the point of no return the move stands.

import { StateError } from '../errors.js';
import type { Outcome } from '../result.js';
import type { CancelDecision, InDoubt, MigrationConfig, MigrationSummary } from './config.js';
import type { Action, Cause, Event, Owner, StepEvent } from './events.js';
import { faultApplies, type FaultKind, type Phase } from './faults.js';
import { PrecopyCore, type MemoryAction } from './precopy.js';
import { Hosts } from './hosts.js';
import { faultReaction, type FaultReaction } from './reactions.js';
import { StorageMirror } from './storage.js';
import { Timeline } from './timeline.js';

export type { Action, Cause, Event, Owner } from './events.js';
export type { CancelDecision, CoreTiming, InDoubt, MigrationConfig, MigrationSummary } from './config.js';

type Step = 'idle' | 'setup' | 'copy' | 'memory' | 'handoff' | 'resume' | 'in-doubt' | 'cleanup' | 'resume-source' | 'clean-destination' | 'done';
type Timer = { at: number; kind: 'notice'; cause: Cause } | { at: number; kind: 'stall-end' } | { at: number; kind: 'resolve' };

export class MigrationCore {
  private readonly memory: PrecopyCore | null;
  readonly mirror: StorageMirror | null;
  private phase: Phase | 'rollback' | 'done' = 'config';
  private step: Step = 'idle';
  private readonly actions: Action[] = [];
  private timers: Timer[] = [];
  private readonly time = new Timeline();
  private readonly hosts = new Hosts();
  private cleanupPending = false;
  private outcome: Outcome | null = null;
  private cause: Cause | null = null;
  private inDoubt: InDoubt | null = null;
  private faultsApplied = 0;
  /** What the last injected fault does (its `impaired` answer may arm the notice). */
  private reaction: FaultReaction | null = null;
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
    return this.inDoubt?.resolvedAt != null;
  }

  // -- the interface a driver's loop uses --------------------------------------------------------------

  start(now = 0): void {
    if (this.step !== 'idle') throw new StateError('start() called twice');
    this.enter('config', now);
    this.step = 'setup';
    if (this.cfg.mode !== 'storage') this.hosts.shellCreated(); // the empty VM: the destination's first file
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
      if (next.kind === 'notice') this.onFailure(next.at, next.cause);
      else if (next.kind === 'stall-end') this.actions.push({ type: 'unstall' });
      else if (this.step === 'in-doubt') this.unresolved(next.at);
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
        return this.onImpaired(ev.now, ev.lost);
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
        this.time.handoffEnd = ev.now;
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
        this.hosts.source = this.cfg.mode === 'storage' ? 'running' : 'removed';
        this.hosts.sourceFilesRemoved = this.removableSourceFiles();
        return this.finish(ev.now, 'completed');
      case 'resume-source':
        this.expect(ev, 'resumed-source');
        this.hosts.source = 'running';
        this.time.runningAgainAt = ev.now;
        this.step = 'clean-destination';
        this.actions.push({ type: 'clean-destination', cause: this.cause! });
        return;
      case 'clean-destination':
        this.expect(ev, 'destination-cleaned');
        this.hosts.destinationCleaned();
        return this.finish(ev.now, 'rolled_back');
      default:
        throw new StateError(`event '${ev.type}' in step '${this.step}'`);
    }
  }

  private startCopy(now: number): void {
    this.enter('storage-copy', now);
    this.time.copyStart = now;
    this.mirror!.start();
    // The destination creates its copies of the files at once, then fills them.
    this.hosts.destFiles += this.cfg.storage!.destFiles;
    if (this.mirror!.status === 'mirroring') return this.copyDone(now); // nothing to copy (empty dynamic disks)
    this.nextSegment();
  }

  private copyDone(now: number): void {
    this.time.copyEnd = now;
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
        this.hosts.source = 'paused';
        this.time.pausedAt = now;
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
    this.time.handoffStart = now;
    this.step = 'handoff';
    this.actions.push({ type: 'handoff' });
  }

  /** The VM runs on the destination since `since` (heard at `now`): the point of no return is passed. */
  private runsOnDestination(since: number, now: number): void {
    this.hosts.runsOnDestination();
    this.time.runningAgainAt = since;
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
    this.hosts.violations.push(`in doubt: the destination did not say within ${this.cfg.timing.resolveTimeout} s whether it runs the VM; the VM stays paused on the source`);
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
    const r = (this.reaction = faultReaction(this.cfg.mode, kind, phase, this.cfg.timing));
    this.actions.push({ type: 'impair', kind, phase, cuts: r.cuts });
    if (r.stallEnds !== null) this.timers.push({ at: now + r.stallEnds, kind: 'stall-end' });
    if (r.noticeNow) this.timers.push({ at: now + r.noticeNow.after, kind: 'notice', cause: r.noticeNow.cause });
  }

  /** What an injected fault did; with modelled detection, when the source will notice it. */
  private onImpaired(now: number, lost: boolean): void {
    const n = this.reaction?.noticeAfterImpair;
    if (!n || this.phase === 'rollback' || this.phase === 'done' || (n.ifLost && !lost)) return;
    this.timers.push({ at: now + n.after, kind: 'notice', cause: n.cause });
  }

  private rollBack(now: number, cause: Cause): void {
    this.cause = cause;
    this.phase = 'rollback';
    this.timers = this.timers.filter((t) => t.kind === 'stall-end');
    this.mirror?.stop();
    if (this.hosts.source === 'paused') {
      this.step = 'resume-source';
      this.actions.push({ type: 'resume-source' });
      return;
    }
    this.step = 'clean-destination';
    this.actions.push({ type: 'clean-destination', cause });
  }

  private finish(now: number, outcome: Outcome): void {
    this.outcome = outcome;
    this.time.finishedAt = now;
    this.phase = 'done';
    this.step = 'done';
    this.timers = [];
    this.hosts.check({ rolledBack: outcome === 'rolled_back', filesUnknown: this.inDoubt !== null && this.inDoubt.resolvedAt === null, ioSwitched: this.cfg.mode === 'storage' && this.mirror?.status === 'switched' });
  }

  private enter(p: Phase, now: number): void {
    this.phase = p;
    this.time.enter(p, now);
  }

  private leave(p: Phase | 'rollback' | 'done', now: number): void {
    this.time.leave(p, now);
  }

  private expect(ev: Event, type: Event['type']): void {
    if (ev.type !== type) throw new StateError(`event '${ev.type}' out of order: expected '${type}' in step '${this.step}'`);
  }

  summary(): MigrationSummary {
    if (this.step !== 'done' || this.outcome === null) throw new StateError('summary() before the migration finished');
    return {
      outcome: this.outcome,
      rollbackReason: this.cause,
      vmRunningOn: this.hosts.vmRunningOn,
      phases: structuredClone(this.time.phases),
      memory: this.memory ? this.memory.summary() : null,
      storageRegionsCopied: this.mirror ? this.mirror.copiedRegions : 0,
      storageCopyStart: this.time.copyStart,
      storageCopyEnd: this.time.copyEnd,
      pausedAt: this.time.pausedAt,
      runningAgainAt: this.time.runningAgainAt,
      handoffStart: this.time.handoffStart,
      handoffEnd: this.time.handoffEnd,
      finishedAt: this.time.finishedAt,
      sourceFilesRemoved: this.hosts.sourceFilesRemoved,
      // After a completed move the destination's files are the VM's own; only a rollback can leave debris.
      destinationFilesLeft: this.outcome === 'rolled_back' ? this.hosts.destFiles : 0,
      cleanupPending: this.cleanupPending,
      inDoubt: this.inDoubt ? { ...this.inDoubt } : null,
      faultsApplied: this.faultsApplied,
      violations: [...this.hosts.violations],
      ignoredFailures: [...this.ignored],
    };
  }
}
