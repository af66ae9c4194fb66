// The activity in progress in a simulated run (a transfer, a handoff, a wait) and how faults re-time it:
// a stall delays it, a channel or NIC failure slows the part the link bounds or, for a striped SMB
// transfer, has the striper redo the schedule with the failure. One activity runs at a time; when it
// ends, its event goes to the run's `onDone`.

import type { Event } from '../../migration/events.js';
import type { EventHandle, Simulator } from '../../sim/index.js';
import { AllChannelsLostError } from '../../transport/striper.js';
import { SIM_STRIPE_DEFAULTS, simulateSimTransfer, type ChannelFailure, type SimChannel } from '../../transport/sim-channels.js';

/** Bytes a failed channel had in flight, to send again on the survivors: the striper's window. */
export const CHANNEL_WINDOW = SIM_STRIPE_DEFAULTS.window;

/**
 * A transfer in flight, progressed lazily. `rateAt` gives its rate when the migration stream has
 * `available` bytes/s of link left, so a failure slows only what the link bounds: a transfer paced by the
 * source's page work or by the disks keeps its pace on a thinner link while that is still fast enough.
 */
export interface TransferSpec {
  bytes: number;
  rateAt: (available: number) => number;
}

interface Transfer extends TransferSpec {
  done: number;
  rate: number;
  last: number;
}

/** An SMB memory transfer: recomputed by the striper when a channel dies during it. */
export interface StripedSpec {
  bytes: number;
  channels: SimChannel[];
  rerate: (dead: ReadonlySet<number>) => Map<number, number>;
  /** The source's page work: the transfer never ends sooner (TransferCost.floor). */
  floor: number;
}

interface Activity {
  handle: EventHandle;
  start: number;
  end: number;
  make: (now: number) => Event;
  transfer: Transfer | null;
  striped?: StripedSpec & { failures: ChannelFailure[]; stallShift: number };
}

export class ActivityClock {
  private current: Activity | null = null;

  constructor(
    private readonly sim: Simulator,
    /** Bytes/s of link left for the migration stream now. */
    private readonly available: () => number,
    private readonly detectTime: number,
    private readonly onDone: (ev: Event) => void,
  ) {}

  /** True when a striped SMB transfer is in progress. */
  get striped(): boolean {
    return this.current?.striped !== undefined;
  }

  /** Start an activity of `seconds`; its event is `make(end)`. */
  start(seconds: number, make: (now: number) => Event, transfer?: TransferSpec, striped?: StripedSpec): void {
    const sim = this.sim;
    const end = sim.now + seconds;
    const a: Activity = {
      start: sim.now,
      end,
      ...(striped ? { striped: { ...striped, failures: [], stallShift: 0 } } : {}),
      make,
      transfer: transfer && seconds > 0 ? { ...transfer, done: 0, rate: transfer.bytes / seconds, last: sim.now } : null,
      handle: sim.at(end, () => this.complete(a)),
    };
    this.current = a;
  }

  /** Drop the activity in progress: it never completes (a failure takes over). */
  cancel(): void {
    if (!this.current) return;
    this.sim.cancel(this.current.handle);
    this.current = null;
  }

  /** Nothing moves for `d` seconds. */
  delay(d: number): void {
    const a = this.current;
    if (!a) return;
    if (a.striped) a.striped.stallShift += d;
    if (a.transfer) {
      const tr = a.transfer;
      tr.done = Math.min(tr.bytes, tr.done + (this.sim.now - tr.last) * tr.rate);
      tr.last = this.sim.now + d;
    }
    this.reschedule(a, a.end + d);
  }

  /**
   * A channel failed with survivors during a transfer that is not striped (or a team moved its flows):
   * it goes on at the rate the thinner link allows, resending the lost window when `resend`.
   */
  degrade(resend: boolean): void {
    const a = this.current;
    if (!a?.transfer) return;
    const t = this.sim.now;
    const tr = a.transfer;
    // During a stall (tr.last is its end) nothing has moved since it began, and the transfer goes on
    // from the stall's end.
    const from = Math.max(t, tr.last);
    tr.done = Math.min(tr.bytes, tr.done + Math.max(0, t - tr.last) * tr.rate);
    tr.last = from;
    tr.rate = tr.rateAt(this.available());
    const lost = resend ? Math.min(CHANNEL_WINDOW, tr.done) : 0;
    const remaining = tr.bytes - tr.done + lost;
    // The lost window is sent again once the sender noticed the failure.
    const noticed = Math.max(0, t + this.detectTime - from);
    const end = from + (lost > 0 ? Math.max(remaining / tr.rate, noticed + lost / tr.rate) : remaining / tr.rate);
    this.reschedule(a, end);
  }

  /**
   * Channels died during the striped SMB transfer in progress: the striper redoes the transfer from its
   * start with the failures (each channel stops now; the sender notices after the detection time and
   * moves its unacknowledged chunks to the survivors). The prefix up to now is unchanged; only the end
   * moves. Returns false when no channel is left (the caller fails the migration).
   */
  restripe(channels: number[]): boolean {
    const a = this.current;
    if (!a?.striped) return true;
    const st = a.striped;
    const t = this.sim.now - a.start - st.stallShift;
    for (const channel of channels) st.failures.push({ channel, dies: t, noticed: t + this.detectTime });
    try {
      const r = simulateSimTransfer(st.bytes, st.channels, st.failures, st.rerate);
      // The source's page work (zero-page reads, per-run work) still bounds the transfer from below.
      this.reschedule(a, Math.max(this.sim.now, a.start + st.stallShift + Math.max(r.seconds, st.floor)));
      return true;
    } catch (err) {
      if (err instanceof AllChannelsLostError) return false;
      throw err;
    }
  }

  private complete(a: Activity): void {
    if (this.current !== a) return;
    this.current = null;
    this.onDone(a.make(this.sim.now));
  }

  private reschedule(a: Activity, end: number): void {
    this.sim.cancel(a.handle);
    a.end = end;
    a.handle = this.sim.at(end, () => this.complete(a));
  }
}
