// The migration network as the simulator sees it during a run: the transport's channels (some may have
// failed), other traffic sharing them (mirrored writes, converged storage IO), and whether the link is
// down altogether.

import type { LinkModel, TransferCost } from '../../transport/model.js';

/** A saturated stream keeps at least this share of a link against one other stream (TCP fairness). */
export const FAIR_SHARE = 0.5;
/** Bytes a failed channel had in flight, to send again on the survivors (a 4 MiB send window). */
export const CHANNEL_WINDOW = 4 * 2 ** 20;

export class SimLink {
  private readonly alive: boolean[];
  private downFlag = false;
  /** Bytes per second of other traffic on the same links. */
  background = 0;

  constructor(readonly model: LinkModel) {
    this.alive = model.channels.map(() => true);
  }

  get down(): boolean {
    return this.downFlag || !this.alive.some(Boolean);
  }

  get aliveChannels(): number {
    return this.alive.filter(Boolean).length;
  }

  /** Payload rate of the channels still alive. */
  get rate(): number {
    let r = 0;
    this.model.channels.forEach((c, i) => {
      if (this.alive[i]) r += c.rate;
    });
    return r;
  }

  /** Rate left for the migration stream after other traffic (which cannot take more than its fair share). */
  get available(): number {
    const r = this.rate;
    return Math.max(FAIR_SHARE * r, r - this.background);
  }

  get rtt(): number {
    return this.model.rtt;
  }

  cost(fullPages: number, zeroPages: number, extraBytes: number): TransferCost {
    return this.model.costAt(this.available, fullPages, zeroPages, extraBytes);
  }

  /** The whole link fails. */
  fail(): void {
    this.downFlag = true;
  }

  /** One channel fails (the first still alive). Returns whether any survive. */
  failChannel(): 'degraded' | 'lost' {
    const i = this.alive.indexOf(true);
    if (i >= 0) this.alive[i] = false;
    return this.aliveChannels > 0 ? 'degraded' : 'lost';
  }
}
