// The step a simulated migration has in progress: a timed wait (a reply, a fixed cost) or a transfer on
// the network. One at a time: starting a step ends the one before it. The hosts' CPU a transfer costs is
// booked as its bytes move (a transfer cut short books the share it moved). A stall freezes the step.

import type { Event } from '../../migration/events.js';
import type { Simulator } from '../../sim/index.js';
import type { Report } from '../loop.js';
import type { SimChannels, Spec } from './channels.js';
import type { Transfer, TransferEngine } from './transfers.js';

type Work = { kind: 'delay'; end: number; handle: ReturnType<Simulator['at']>; fire: () => void } | { kind: 'transfer'; t: Transfer; cpu: { source: number; destination: number } };

export class SimSteps {
  private work: Work | null = null;
  /** Core-seconds booked so far for the bytes this migration moved. */
  readonly cpu = { source: 0, destination: 0 };

  constructor(
    private readonly sim: Simulator,
    private readonly engine: TransferEngine,
    private readonly channels: SimChannels,
    /** Hand a step's event to the core (after the guest's activity up to then); `now` is migration time. */
    private readonly report: (r: Report, ev: Event) => void,
    private readonly now: () => number,
  ) {}

  /** The kind of step in progress (null: none). */
  get current(): Work['kind'] | null {
    return this.work?.kind ?? null;
  }

  /** A step that ends at simulator time `end` (a stall may push it later); its event is `make(now)`. */
  at(r: Report, end: number, make: (now: number) => Event): void {
    this.cancel();
    const fire = () => {
      this.work = null;
      this.report(r, make(this.now()));
    };
    this.work = { kind: 'delay', end, handle: this.sim.at(end, fire), fire };
  }

  /** A step that takes `seconds`. */
  delay(r: Report, seconds: number, make: (now: number) => Event): void {
    this.at(r, this.sim.now + seconds, make);
  }

  /** A step that moves bytes over the migration's channels. */
  transfer(r: Report, t: Spec, make: (now: number) => Event): void {
    this.cancel();
    const tr = this.engine.start({
      bytes: t.bytes,
      paths: t.paths,
      floor: t.floor,
      tail: t.tail,
      ...(t.groupCap !== undefined ? { groupCap: t.groupCap } : {}),
      done: () => {
        const w = this.work;
        if (w?.kind === 'transfer') this.bookCpu(w);
        this.work = null;
        this.report(r, make(this.now()));
      },
    });
    this.work = { kind: 'transfer', t: tr, cpu: t.cpu };
    this.channels.carrying(tr);
  }

  /** End the step in progress without its event (a failure cut it short). */
  cancel(): void {
    const w = this.work;
    this.work = null;
    if (!w) return;
    if (w.kind === 'delay') this.sim.cancel(w.handle);
    else {
      this.bookCpu(w);
      this.engine.cancel(w.t);
    }
    this.channels.carrying(null);
  }

  /** Nothing moves for `seconds` (a stall): the step in progress ends that much later. */
  freeze(seconds: number): void {
    const w = this.work;
    if (!w) return;
    if (w.kind === 'transfer') return this.engine.freeze(w.t, seconds);
    this.sim.cancel(w.handle);
    w.end += seconds;
    w.handle = this.sim.at(w.end, w.fire);
  }

  /** Book the CPU of a transfer that ended, or of the share of it done when it was cut short. */
  private bookCpu(w: Work & { kind: 'transfer' }): void {
    const f = w.t.finished ? 1 : w.t.bytes > 0 ? Math.min(1, w.t.done / w.t.bytes) : 0;
    this.cpu.source += f * w.cpu.source;
    this.cpu.destination += f * w.cpu.destination;
  }
}
