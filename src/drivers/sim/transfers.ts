// Transfers in virtual time over the shared flow network: a transfer moves its bytes over one or more
// flows (a TCP stream, SMB's connections), each flow at the rate the network allocates it (max-min fair,
// src/network/flows.ts), all of them together held to the transfer's own limit (the disks, compression's
// CPU), never ending before its floor (the source's page work) and completing one round trip after its
// last byte. Any change (a transfer starting or ending, a NIC failing, a flow's demand moving) re-rates
// every transfer: progress so far is booked at the old rates first. Many migrations share one engine.

import type { FlowId, FlowNetwork, ResourceId } from '../../network/flows.js';
import type { EventHandle, Simulator } from '../../sim/index.js';

export interface PathSpec {
  uses: { r: ResourceId; k: number }[];
  /** The flow's own limit, payload bytes/s. */
  cap: number;
}

export interface TransferSpec {
  bytes: number;
  paths: PathSpec[];
  /** A limit on the paths' rates together, bytes/s (a virtual resource of this transfer). */
  groupCap?: number;
  /** The transfer takes at least this long from its start (the source's page work), seconds. */
  floor: number;
  /** From the last byte to the completion (the last acknowledgement's round trip), seconds. */
  tail: number;
  done: (at: number) => void;
}

export class Transfer {
  done = 0;
  rate = 0;
  last: number;
  flows: (FlowId | null)[] = [];
  group: ResourceId | null = null;
  /** Bytes lost with a dead channel, sent again once the sender noticed (at `holdUntil`). */
  holdBytes = 0;
  holdUntil = -Infinity;
  /** Nothing moves until then (a stall). */
  frozenUntil = -Infinity;
  /** The floor, moved by any stall. */
  floorAt: number;
  /** Every byte is across: waiting for the last acknowledgement. */
  inTail = false;
  handle: EventHandle | null = null;
  finished = false;
  /** Its end must be worked out again even if its rate did not move (bytes to resend, a stall). */
  stale = true;

  constructor(
    readonly spec: TransferSpec,
    readonly start: number,
  ) {
    this.last = start;
    this.floorAt = start + spec.floor;
  }

  get bytes(): number {
    return this.spec.bytes + this.holdBytes;
  }
}

export class TransferEngine {
  private readonly active = new Set<Transfer>();
  private listeners: (() => void)[] = [];

  constructor(
    readonly sim: Simulator,
    readonly net: FlowNetwork,
  ) {}

  /** Called after every re-rating (to follow the rates of flows that are not transfers); returns the way to stop. */
  onRates(l: () => void): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  start(spec: TransferSpec): Transfer {
    const t = new Transfer(spec, this.sim.now);
    this.mutate(() => {
      if (spec.groupCap !== undefined && Number.isFinite(spec.groupCap)) t.group = this.net.addResource('transfer', spec.groupCap);
      t.flows = spec.paths.map((p) => this.net.addFlow(t.group === null ? p.uses : [...p.uses, { r: t.group, k: 1 }], p.cap));
      this.active.add(t);
    });
    return t;
  }

  /** Drop a transfer: it never completes (a failure took over). */
  cancel(t: Transfer): void {
    if (t.finished) return;
    this.mutate(() => this.release(t));
  }

  /** Nothing moves for `seconds` (a stall); the floor moves by as much. */
  freeze(t: Transfer, seconds: number): void {
    if (t.finished) return;
    const now = this.sim.now;
    this.mutate(() => {
      const from = Math.max(now, t.frozenUntil);
      t.frozenUntil = from + seconds;
      t.floorAt += seconds;
      t.stale = true;
      for (const f of t.flows) if (f !== null) this.net.setCap(f, 0);
    });
    this.sim.at(t.frozenUntil, () => {
      if (t.finished || this.sim.now < t.frozenUntil) return;
      this.mutate(() => {
        t.stale = true;
        t.flows.forEach((f, i) => f !== null && this.net.setCap(f, t.spec.paths[i]!.cap));
      });
    });
  }

  /**
   * The channels at `paths` died: their flows stop; the `lost` bytes they had in flight go again over the
   * others once the sender notices, at `noticed`. Returns false when no path is left.
   */
  loseChannels(t: Transfer, paths: readonly number[], lost: number, noticed: number): boolean {
    if (t.finished) return true;
    this.mutate(() => {
      for (const i of paths) {
        const f = t.flows[i];
        if (f !== undefined && f !== null) this.net.removeFlow(f);
        t.flows[i] = null;
      }
      if (lost > 0 && !t.inTail) {
        t.holdBytes += lost;
        t.holdUntil = Math.max(t.holdUntil, noticed);
      }
      t.stale = true;
    });
    return t.flows.some((f) => f !== null);
  }

  /** Change the network (a NIC failing, a flow's demand moving, a team moving a flow): re-rate after. */
  mutate(change: () => void): void {
    const now = this.sim.now;
    for (const t of this.active) this.book(t, now);
    change();
    this.rerate();
  }

  /** Bytes/s a transfer moves now. */
  rateOf(t: Transfer): number {
    return t.rate;
  }

  private book(t: Transfer, now: number): void {
    const from = Math.max(t.last, t.frozenUntil);
    if (now > from && !t.inTail) t.done = Math.min(t.bytes, t.done + t.rate * (now - from));
    t.last = now;
  }

  private rerate(): void {
    this.net.allocate();
    const now = this.sim.now;
    for (const t of this.active) {
      if (t.inTail) continue;
      let rate = 0;
      for (const f of t.flows) if (f !== null) rate += this.net.rate(f);
      const changed = rate !== t.rate || t.stale;
      t.rate = rate;
      t.stale = false;
      if (changed) this.schedule(t, now);
    }
    for (const l of this.listeners) l();
  }

  /** When the last byte is across at the current rate (Infinity when nothing moves). */
  private schedule(t: Transfer, now: number): void {
    if (t.handle) this.sim.cancel(t.handle);
    t.handle = null;
    const left = t.bytes - t.done;
    let at: number;
    if (left <= 0) at = Math.max(now, t.frozenUntil);
    else if (t.rate > 0) {
      const from = Math.max(now, t.frozenUntil);
      at = from + left / t.rate;
      // Bytes lost with a dead channel go again only once the sender noticed.
      if (t.holdBytes > 0) at = Math.max(at, t.holdUntil + t.holdBytes / t.rate);
    } else return;
    t.handle = this.sim.at(at, () => this.lastByte(t));
  }

  /** Every byte is across: the flows go; the transfer completes after its floor and the last round trip. */
  private lastByte(t: Transfer): void {
    t.handle = null;
    this.mutate(() => {
      t.done = t.bytes;
      t.inTail = true;
      this.release(t, false);
    });
    const end = Math.max(this.sim.now, t.floorAt) + t.spec.tail;
    t.handle = this.sim.at(end, () => {
      if (t.finished) return;
      t.finished = true;
      t.handle = null;
      t.spec.done(this.sim.now);
    });
  }

  private release(t: Transfer, finish = true): void {
    for (const f of t.flows) if (f !== null) this.net.removeFlow(f);
    t.flows = t.flows.map(() => null);
    if (t.group !== null) this.net.removeResource(t.group);
    t.group = null;
    this.active.delete(t);
    if (finish) {
      t.finished = true;
      if (t.handle) this.sim.cancel(t.handle);
      t.handle = null;
    }
  }
}
