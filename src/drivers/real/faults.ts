// When the real engine's injected faults (`--fault KIND@WHEN`) strike. The simulator places a phase
// fraction on the phase's interval in a fault-free run; a real run cannot be replayed, so here a fraction
// is a share of the phase's *progress*, reported by the roles as they go:
//
//   config        after the channels authenticated, before the configuration is sent (the fraction is
//                 ignored); auth-failure presents a wrong key when the channels connect
//   storage-copy  the share of the disk's bytes handed to the transport
//   precopy       the share of memory scanned by round 0 (the full copy, which dominates the phase)
//   blackout      the share of the blackout's bytes (the last dirty pages, then the device state) handed
//                 to the transport; 0: right after the guest acknowledged the pause
//   handoff       before the handoff request (the fraction is ignored)
//   resume        after the resume request reached the destination, before its answer (the fraction is
//                 ignored); a dest-crash is armed at the destination first and strikes as the request
//                 arrives, before the destination acts on it
//   cleanup       before the source asks the destination to confirm the end (the fraction is ignored)
//
// A time (`12.5s`) is wall-clock time since the migration started. Either way the fault goes to the core
// as a `fault` event, and the core decides whether it applies in the phase then running.

import type { FaultKind, FaultSpec, Phase } from '../../migration/faults.js';

export class FaultPlan {
  private readonly pending: FaultSpec[];
  private timers: NodeJS.Timeout[] = [];

  constructor(
    faults: readonly FaultSpec[],
    /** Hands one fault to the core (a `fault` event). */
    private readonly strike: (kind: FaultKind) => void,
  ) {
    this.pending = [...faults];
  }

  /** Start the clock of time-based faults (at the start of the migration). */
  startClock(): void {
    for (const f of this.pending) {
      if (!('time' in f.when)) continue;
      const t = setTimeout(() => this.fire(f), f.when.time * 1000);
      t.unref();
      this.timers.push(t);
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  /** Progress of `phase`: fire every fault placed at or before `fraction` of it. */
  progress(phase: Phase, fraction: number): void {
    for (const f of [...this.pending]) {
      if (!('phase' in f.when) || f.when.phase !== phase) continue;
      if (fraction + 1e-12 >= f.when.fraction) this.fire(f);
    }
  }

  /** Fire the faults of `kind` placed in `phase` now, whatever their fraction. */
  strikeNow(phase: Phase, kind: FaultKind): void {
    for (const f of [...this.pending]) if (f.kind === kind && 'phase' in f.when && f.when.phase === phase) this.fire(f);
  }

  /** Whether a fault of `kind` waits for `phase` (without firing it). */
  awaits(phase: Phase, kind: FaultKind): boolean {
    return this.pending.some((x) => x.kind === kind && 'phase' in x.when && x.when.phase === phase);
  }

  private fire(f: FaultSpec): void {
    const i = this.pending.indexOf(f);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.strike(f.kind);
  }
}
