// The memory pre-copy, sans-I/O: it never reads a clock, touches memory or sends a byte. The
// migration core (core.ts) runs it as one part of a migration; a driver performs each action and
// answers with the event it produced, carrying the driver's `now` (seconds since the migration began).
//
// Round 0 sends all memory; each later round sends the pages dirtied since the previous bitmap sync;
// the stop policy decides after each sync. When the pre-copy does not converge, `onNoConverge` forces the
// blackout, throttles the guest (20% then +10% per round up to 99%, QEMU's auto-converge steps), or
// aborts (the VM stays on the source).
//
//   action                      -> event the driver answers with
//   sync {final}                -> synced {pages, zeroPages}    (the first sync starts dirty logging)
//   send {round, throttle}      -> sent {pages, zeroPages, wireBytes}
//   pause                       -> paused
//   send-final {stateBytes}     -> sent
//   memory-done                    (terminal: everything is on the destination, the VM is paused)
//   memory-abort {reason}          (terminal: give up, the VM still runs on the source)

import { StateError } from '../errors.js';
import type { RoundRecord } from '../result.js';
import { PAGE_SIZE } from '../units/index.js';
import { decide, THROTTLE, type PolicyConfig } from './policy.js';

export type NoConvergeAction = 'force' | 'throttle' | 'abort';

export interface PrecopyConfig {
  memoryPages: number;
  policy: PolicyConfig;
  onNoConverge: NoConvergeAction;
  /** CPU and device state sent in the blackout. */
  stateBytes: number;
}

export type MemoryAction =
  | { type: 'sync'; final: boolean }
  | { type: 'send'; round: number; throttle: number }
  | { type: 'pause' }
  | { type: 'send-final'; round: number; stateBytes: number }
  | { type: 'memory-done' }
  | { type: 'memory-abort'; reason: string };

export type MemoryEvent =
  | { type: 'synced'; now: number; pages: number; zeroPages: number }
  | { type: 'sent'; now: number; pages: number; zeroPages: number; wireBytes: number }
  | { type: 'paused'; now: number };

/** Where the pre-copy is (its own states; the migration's phases are faults.ts's `Phase`). */
type PrecopyState = 'idle' | 'precopy-sync' | 'precopy-send' | 'pause' | 'final-sync' | 'final-send' | 'done';

export interface PrecopySummary {
  converged: boolean;
  precopyRounds: number;
  pagesSent: number;
  zeroPagesSent: number;
  memoryWireBytes: number;
  stateBytes: number;
  startedAt: number | null;
  pausedAt: number | null;
  finishedAt: number | null;
  rounds: RoundRecord[];
}

export class PrecopyCore {
  private state: PrecopyState = 'idle';
  private readonly rounds: RoundRecord[] = [];
  private current: RoundRecord | null = null;
  private throttle = 0;
  private bandwidth = 0;
  private lastRoundPages = 0;
  private pagesSent = 0;
  private zeroPagesSent = 0;
  private memoryWireBytes = 0;
  private stateBytesSent = 0;
  private bestPending = Infinity;
  private roundsSinceBest = 0;
  private converged = false;
  private startedAt: number | null = null;
  private pausedAt: number | null = null;
  private finishedAt: number | null = null;
  // auto-converge bookkeeping (QEMU's migration_trigger_throttle)
  private periodStart = 0;
  private periodDirtyPages = 0;
  private periodWireBytes = 0;
  private highCount = 0;

  constructor(readonly cfg: PrecopyConfig) {
    if (!(cfg.memoryPages > 0)) throw new StateError('memoryPages must be positive');
  }

  /** The first action: the first sync, which starts dirty logging (round 0 sends everything). */
  start(): MemoryAction {
    this.expect('idle');
    this.state = 'precopy-sync';
    return { type: 'sync', final: false };
  }

  handle(ev: MemoryEvent): MemoryAction {
    switch (ev.type) {
      case 'synced':
        return this.onSynced(ev);
      case 'sent':
        return this.onSent(ev);
      case 'paused':
        this.expect('pause');
        this.pausedAt = ev.now;
        this.state = 'final-sync';
        return { type: 'sync', final: true };
    }
  }

  private onSynced(ev: Extract<MemoryEvent, { type: 'synced' }>): MemoryAction {
    if (this.state === 'final-sync') {
      this.current = this.newRound('blackout', ev.now);
      this.state = 'final-send';
      return { type: 'send-final', round: this.current.round, stateBytes: this.cfg.stateBytes };
    }
    this.expect('precopy-sync');
    const prev = this.rounds.at(-1);
    if (prev) {
      prev.dirty_pages_after = ev.pages;
      this.periodDirtyPages += ev.pages;
    } else {
      // Round 0: the whole memory is pending.
      this.startedAt = ev.now;
      this.periodStart = ev.now;
      this.current = this.newRound('precopy', ev.now);
      this.state = 'precopy-send';
      return { type: 'send', round: 0, throttle: this.throttle };
    }
    this.autoConverge(ev.now);
    const pendingFull = ev.pages - ev.zeroPages;
    const decision = decide(this.cfg.policy, {
      rounds: this.rounds.length,
      pendingPages: ev.pages,
      pendingFullPages: pendingFull,
      lastRoundPages: this.lastRoundPages,
      bandwidth: this.bandwidth,
      pagesSent: this.pagesSent,
      memoryPages: this.cfg.memoryPages,
      bestPending: this.bestPending,
      roundsSinceBest: this.roundsSinceBest,
    });
    if (ev.pages < this.bestPending) {
      this.bestPending = ev.pages;
      this.roundsSinceBest = 0;
    } else {
      this.roundsSinceBest++;
    }
    if (decision === 'switchover') {
      this.converged = true;
      return this.enterBlackout();
    }
    if (decision === 'not-converging') {
      switch (this.cfg.onNoConverge) {
        case 'force':
          return this.enterBlackout();
        case 'abort':
          this.state = 'done';
          this.finishedAt = ev.now;
          return { type: 'memory-abort', reason: 'no_convergence' };
        case 'throttle':
          if (this.throttle >= THROTTLE.max || this.rounds.length >= this.cfg.policy.maxRounds) return this.enterBlackout();
          this.raiseThrottle();
          this.roundsSinceBest = 0;
          break;
      }
    }
    this.current = this.newRound('precopy', ev.now);
    this.state = 'precopy-send';
    return { type: 'send', round: this.current.round, throttle: this.throttle };
  }

  private onSent(ev: Extract<MemoryEvent, { type: 'sent' }>): MemoryAction {
    const r = this.current;
    if (!r || (this.state !== 'precopy-send' && this.state !== 'final-send')) {
      throw new StateError(`unexpected 'sent' in state ${this.state}`);
    }
    r.duration_s = ev.now - r.start_s;
    r.pages_sent = ev.pages;
    r.bytes_sent = ev.wireBytes;
    this.pagesSent += ev.pages;
    this.zeroPagesSent += ev.zeroPages;
    this.periodWireBytes += ev.wireBytes;
    this.current = null;
    if (this.state === 'final-send') {
      const memWire = Math.max(0, ev.wireBytes - this.cfg.stateBytes);
      this.memoryWireBytes += memWire;
      this.stateBytesSent = this.cfg.stateBytes;
      this.finishedAt = ev.now;
      this.state = 'done';
      return { type: 'memory-done' };
    }
    this.memoryWireBytes += ev.wireBytes;
    this.lastRoundPages = ev.pages;
    const full = ev.pages - ev.zeroPages;
    if (r.duration_s > 0 && full > 0) this.bandwidth = (full * PAGE_SIZE) / r.duration_s;
    this.state = 'precopy-sync';
    return { type: 'sync', final: false };
  }

  private enterBlackout(): MemoryAction {
    this.state = 'pause';
    return { type: 'pause' };
  }

  private newRound(phase: RoundRecord['phase'], now: number): RoundRecord {
    const r: RoundRecord = {
      round: this.rounds.length,
      phase,
      start_s: now,
      duration_s: 0,
      pages_sent: 0,
      bytes_sent: 0,
      dirty_pages_after: 0,
      throttle: phase === 'blackout' ? 0 : this.throttle,
    };
    this.rounds.push(r);
    return r;
  }

  /** QEMU auto-converge: throttle when the guest dirtied > 50% of what was sent, two periods running. */
  private autoConverge(now: number): void {
    if (this.cfg.policy.name !== 'qemu' || !this.cfg.policy.autoConverge) return;
    if (now - this.periodStart < THROTTLE.minPeriod) return;
    const dirtyBytes = this.periodDirtyPages * PAGE_SIZE;
    if (dirtyBytes > this.periodWireBytes * THROTTLE.triggerThreshold) {
      if (++this.highCount >= THROTTLE.triggerCount) {
        this.highCount = 0;
        this.raiseThrottle();
      }
    }
    this.periodStart = now;
    this.periodDirtyPages = 0;
    this.periodWireBytes = 0;
  }

  private raiseThrottle(): void {
    this.throttle = this.throttle === 0 ? THROTTLE.initial : Math.min(THROTTLE.max, round2(this.throttle + THROTTLE.increment));
  }

  private expect(state: PrecopyState): void {
    if (this.state !== state) throw new StateError(`event out of order: the pre-copy is in state '${this.state}', expected '${state}'`);
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** What the memory migration did so far (also after an interruption by a fault). */
  summary(): PrecopySummary {
    return {
      converged: this.converged,
      precopyRounds: this.rounds.filter((r) => r.phase === 'precopy').length,
      pagesSent: this.pagesSent,
      zeroPagesSent: this.zeroPagesSent,
      memoryWireBytes: this.memoryWireBytes,
      stateBytes: this.stateBytesSent,
      startedAt: this.startedAt,
      pausedAt: this.pausedAt,
      finishedAt: this.finishedAt,
      rounds: this.rounds.map((r) => ({ ...r })),
    };
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
