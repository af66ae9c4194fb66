// One loop for both drivers: it runs a migration core against an effect implementation on a clock. The
// core decides; the effects carry out each action in their world (virtual time and models in the
// simulator, sockets, workers and files in the real engine) and report the event it produced. The loop
// only delivers: events to the core, actions to the effects, and the core's deadlines to the clock. Many
// loops can share one clock (several migrations in one simulation, or several real guests at once).

import { StateError } from '../errors.js';
import type { MigrationCore } from '../migration/core.js';
import { isStepAction, type Action, type Event, type StepAction } from '../migration/events.js';

/** A clock that can wake the loop: virtual (the simulator) or the wall clock. */
export interface Clock {
  /** Seconds on this clock (the migration's own `now` is measured from its start). */
  now(): number;
  /** Call `fn` at time `at` (or as soon as possible after it). */
  at(at: number, fn: () => void): unknown;
  cancel(handle: unknown): void;
}

/** How an effect reports what an action produced. A report for a step the core has moved on from is dropped. */
export type Report = (ev: Event) => void;

type Method<T extends Action['type']> = (a: Extract<Action, { type: T }>, report: Report) => void;

/**
 * One method per core action. A step action's method reports the step's event when the step completes
 * (or a `failure` when it cannot); a side action's method may report at once (`impair` reports
 * `impaired`). Failures the world shows at any other time go through `Runner.deliver`.
 */
export interface MigrationEffects {
  setup: Method<'setup'>;
  copySegment: Method<'copy-segment'>;
  sync: Method<'sync'>;
  send: Method<'send'>;
  pause: Method<'pause'>;
  sendFinal: Method<'send-final'>;
  handoff: Method<'handoff'>;
  resume: Method<'resume'>;
  queryOwner: Method<'query-owner'>;
  cleanup: Method<'cleanup'>;
  resumeSource: Method<'resume-source'>;
  cleanDestination: Method<'clean-destination'>;
  impair: Method<'impair'>;
  unstall: Method<'unstall'>;
  /** The core finished (a summary is ready); nothing more will be asked. */
  finished(): void;
}

const METHOD: { [K in Action['type']]: keyof MigrationEffects } = {
  setup: 'setup',
  'copy-segment': 'copySegment',
  sync: 'sync',
  send: 'send',
  pause: 'pause',
  'send-final': 'sendFinal',
  handoff: 'handoff',
  resume: 'resume',
  'query-owner': 'queryOwner',
  cleanup: 'cleanup',
  'resume-source': 'resumeSource',
  'clean-destination': 'cleanDestination',
  impair: 'impair',
  unstall: 'unstall',
};

export class Runner {
  /** Counts step actions: a report carries the count of its step and is dropped once another step began. */
  private stepToken = 0;
  private timer: unknown = null;
  private timerAt: number | null = null;
  private finishedFlag = false;
  /** The step in progress (for a driver's own bookkeeping: what a fault strikes). */
  current: StepAction | null = null;

  constructor(
    readonly core: MigrationCore,
    private readonly effects: MigrationEffects,
    private readonly clock: Clock,
    /** The clock's time at which the migration starts: events and deadlines are measured from it. */
    private readonly origin = clock.now(),
  ) {}

  get finished(): boolean {
    return this.finishedFlag;
  }

  /** The migration's own time now. */
  now(): number {
    return this.clock.now() - this.origin;
  }

  start(): void {
    this.core.start(this.now());
    this.drain();
  }

  /** An event from the world (a failure, an injected fault, a cancel) or a step's report. */
  deliver(ev: Event): void {
    if (this.finishedFlag) return;
    if (this.stepToken === 0) throw new StateError(`event '${ev.type}' before the migration started`);
    this.core.handle(ev);
    this.drain();
  }

  private drain(): void {
    for (let a = this.core.poll(); a; a = this.core.poll()) {
      let report: Report;
      if (isStepAction(a)) {
        const token = ++this.stepToken;
        this.current = a;
        report = (ev) => {
          if (token === this.stepToken) this.deliver(ev);
        };
      } else report = (ev) => this.deliver(ev);
      (this.effects[METHOD[a.type]] as (a: Action, r: Report) => void)(a, report);
    }
    if (this.core.done) {
      if (!this.finishedFlag) {
        this.finishedFlag = true;
        this.current = null;
        this.disarm();
        this.effects.finished();
      }
      return;
    }
    this.arm();
  }

  private arm(): void {
    const t = this.core.pollTimeout();
    if (t === this.timerAt) return;
    this.disarm();
    if (t === null) return;
    this.timerAt = t;
    this.timer = this.clock.at(this.origin + t, () => {
      this.timer = null;
      this.timerAt = null;
      if (this.finishedFlag) return;
      this.core.handleTimeout(Math.max(t, this.now()));
      this.drain();
    });
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
    this.timerAt = null;
  }
}
