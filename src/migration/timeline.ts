// When a migration's phases ran, and the instants the result record is built from: the pause, the VM
// running again (on the destination, or on the source after a rollback), the handoff, the storage copy.

import type { Phase } from './faults.js';

export class Timeline {
  readonly phases: Partial<Record<Phase, { start: number; end: number }>> = {};
  pausedAt: number | null = null;
  runningAgainAt: number | null = null;
  handoffStart: number | null = null;
  handoffEnd: number | null = null;
  copyStart: number | null = null;
  copyEnd: number | null = null;
  finishedAt = 0;

  enter(p: Phase, now: number): void {
    this.phases[p] = { start: now, end: now };
  }

  /** A phase ends (a phase cut short by a fault ends at the fault). */
  leave(p: Phase | 'rollback' | 'done', now: number): void {
    if (p === 'rollback' || p === 'done') return;
    const iv = this.phases[p];
    if (iv) iv.end = now;
  }
}
