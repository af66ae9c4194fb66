// When the real engine injects each `--fault KIND@WHEN`. The simulator places a phase fraction on the
// phase's interval in a fault-free run; a real run cannot be replayed, so here a fraction is a share of
// the phase's *progress*, reported by the driver as it goes:
//
//   config        after the channels authenticated, before the configuration is sent (the fraction is
//                 ignored); auth-failure presents a wrong key when the channels connect
//   storage-copy  the share of the disk's bytes handed to the transport
//   precopy       the share of memory scanned by round 0 (the full copy, which dominates the phase)
//   blackout      the share of the blackout's bytes (the last dirty pages, then the device state) handed
//                 to the transport; 0: right after the guest acknowledged the pause
//   handoff       before the handoff request (the fraction is ignored)
//   cleanup       before the source asks the destination to confirm the end (the fraction is ignored)
//
// A time (`12.5s`) is wall-clock time since the migration started; the fault applies if the phase then
// running is one its kind can hit (the same rule as the simulator's).

import { KIND_PHASES, type FaultKind, type FaultSpec, type Phase } from '../../migration/faults.js';
import type { RealMigration } from './driver.js';

export class FaultPlan {
  private readonly pending: FaultSpec[];
  private timers: NodeJS.Timeout[] = [];
  applied = 0;

  constructor(
    faults: readonly FaultSpec[],
    /** Performs one fault; returns false when it could not apply (nothing to break). */
    private readonly inject: (kind: FaultKind, spec: FaultSpec) => boolean,
    private readonly phaseNow: () => string,
  ) {
    this.pending = [...faults];
  }

  /** Start the clock of time-based faults (at the start of the migration). */
  startClock(): void {
    for (const f of this.pending) {
      if (!('time' in f.when)) continue;
      const t = setTimeout(() => this.fire(f, true), f.when.time * 1000);
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
      if (fraction + 1e-12 >= f.when.fraction) this.fire(f, false);
    }
  }

  /** Faults of `kind` still waiting for `phase` (auth-failure is performed by the driver itself). */
  takes(phase: Phase, kind: FaultKind): FaultSpec | undefined {
    const f = this.pending.find((x) => x.kind === kind && 'phase' in x.when && x.when.phase === phase);
    if (f) this.remove(f);
    return f;
  }

  /** A fault the driver performed itself (auth-failure) took effect. */
  noteApplied(): void {
    this.applied++;
  }

  private fire(f: FaultSpec, timed: boolean): void {
    if (!this.pending.includes(f)) return;
    this.remove(f);
    if (timed && !(KIND_PHASES[f.kind] as readonly string[]).includes(this.phaseNow())) return;
    if (this.inject(f.kind, f)) this.applied++;
  }

  private remove(f: FaultSpec): void {
    const i = this.pending.indexOf(f);
    if (i >= 0) this.pending.splice(i, 1);
  }
}

/** Perform one fault (returns false when it could not apply: nothing to break). */
export function injectFault(m: RealMigration, kind: FaultKind): boolean {
  const s = m.session;
  if (!s && kind !== 'auth-failure' && !(kind === 'dest-crash' && m.receiver)) {
    // Before the channels are up (a timed fault early in the config phase): it strikes as they come up.
    m.deferred.push(kind);
    return true;
  }
  const alive = s?.channels.filter((c) => c.alive) ?? [];
  m.log(`injecting ${kind} in ${m.core.currentPhase}`);
  switch (kind) {
    case 'link-down':
      if (alive.length === 0) return false;
      m.injected = kind;
      for (const c of alive) c.socket?.destroy();
      return true;
    case 'nic-down': {
      // A NIC is a local address: every channel that leaves by the first live channel's address dies
      // (without --bind all channels share the host's one route: the same as link-down).
      if (alive.length === 0) return false;
      const nic = alive[0]!.target.localAddress;
      const gone = alive.filter((c) => c.target.localAddress === nic);
      if (gone.length === alive.length) m.injected = kind;
      for (const c of gone) c.socket?.destroy();
      return true;
    }
    case 'channel-down':
      if (alive.length === 0) return false;
      if (alive.length === 1) m.injected = kind;
      alive[0]!.socket?.destroy();
      return true;
    case 'dest-crash':
      m.injected = kind;
      if (m.receiver) m.receiver.signal('SIGKILL');
      else if (m.link) m.link.tell({ t: 'fault', kind: 'crash' });
      else return false;
      return true;
    case 'dest-storage-error':
      if (!m.link) return false;
      m.link.tell({ t: 'fault', kind: 'dest-storage-error' });
      return true;
    case 'stall': {
      if (!m.receiver) return false;
      m.injected = kind;
      const r = m.receiver;
      r.signal('SIGSTOP');
      setTimeout(() => r.signal('SIGCONT'), m.s.timing.stallTime * 1000).unref();
      return true;
    }
    case 'auth-failure':
      return false; // only when the channels connect (setup)
  }
}
