// Discrete-event kernel: a virtual clock and an event queue (binary min-heap). Knows nothing of VMs.
// Ties are broken deterministically: earlier time first, then lower priority number, then the order in
// which events were scheduled. A cancelled event stays in the heap and is skipped when it surfaces.

import { StateError } from '../errors.js';

export interface EventHandle {
  readonly time: number;
  readonly seq: number;
  cancelled: boolean;
}

interface Entry<T> extends EventHandle {
  readonly priority: number;
  readonly payload: T;
}

export class EventQueue<T> {
  private heap: Entry<T>[] = [];
  private seq = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(time: number, payload: T, priority = 0): EventHandle {
    if (!Number.isFinite(time)) throw new StateError(`event time must be finite, got ${time}`);
    const e: Entry<T> = { time, priority, seq: this.seq++, payload, cancelled: false };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
    this.live++;
    return e;
  }

  cancel(handle: EventHandle): void {
    if (!handle.cancelled) {
      handle.cancelled = true;
      this.live--;
    }
  }

  /** Remove and return the earliest live event, or undefined. */
  pop(): { time: number; payload: T } | undefined {
    for (;;) {
      const top = this.popRaw();
      if (!top) return undefined;
      if (!top.cancelled) {
        this.live--;
        top.cancelled = true; // consumed: a later cancel() is a no-op
        return { time: top.time, payload: top.payload };
      }
    }
  }

  /** Time of the earliest live event, or undefined. */
  peekTime(): number | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.popRaw();
    return this.heap[0]?.time;
  }

  private popRaw(): Entry<T> | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && less(h[r]!, h[l]!) ? r : l;
        if (!less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function less<T>(a: Entry<T>, b: Entry<T>): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.seq < b.seq;
}

/** A virtual clock driving an event queue of callbacks. */
export class Simulator {
  private queue = new EventQueue<() => void>();
  private nowS = 0;
  private stopped = false;

  get now(): number {
    return this.nowS;
  }

  /** Schedule `fn` at absolute virtual time `at` (>= now). */
  at(at: number, fn: () => void, priority = 0): EventHandle {
    if (at < this.nowS) throw new StateError(`cannot schedule in the past: ${at} < ${this.nowS}`);
    return this.queue.push(at, fn, priority);
  }

  /** Schedule `fn` after `delay` seconds of virtual time. */
  after(delay: number, fn: () => void, priority = 0): EventHandle {
    return this.at(this.nowS + Math.max(0, delay), fn, priority);
  }

  cancel(handle: EventHandle): void {
    this.queue.cancel(handle);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Run events in order until the queue is empty, `stop()` is called, or the next event lies past
   * `until`. `maxEvents` bounds the loop so a modelling bug cannot spin forever.
   */
  run(until = Infinity, maxEvents = 100_000_000): number {
    let n = 0;
    this.stopped = false;
    while (!this.stopped) {
      const t = this.queue.peekTime();
      if (t === undefined || t > until) break;
      const e = this.queue.pop()!;
      this.nowS = e.time;
      e.payload();
      if (++n >= maxEvents) throw new StateError(`simulation exceeded ${maxEvents} events`);
    }
    if (until !== Infinity && !this.stopped && until > this.nowS) this.nowS = until;
    return n;
  }
}
