// The migration network as the simulator sees it during a run: the transport's channels (some may have
// failed), other traffic sharing them (mirrored writes, converged storage IO), and whether the link is
// down altogether.

import type { Nic } from '../../network/index.js';
import { channelRates, type LinkModel, type TransferCost } from '../../transport/model.js';
import type { StripedSpec } from './activity.js';
import { simulateSimTransfer, type SimChannel } from '../../transport/sim-channels.js';

/** A saturated stream keeps at least this share of a link against one other stream (TCP fairness). */
export const FAIR_SHARE = 0.5;

export class SimLink {
  private readonly alive: boolean[];
  /** The physical NIC each channel rides now (a team moves a failed member's flows to another member). */
  private readonly members: string[];
  private readonly deadNics = new Set<string>();
  private downFlag = false;
  /** Bytes per second of other traffic on the same links. */
  background = 0;

  constructor(
    readonly model: LinkModel,
    private readonly nics: readonly Nic[] = [],
  ) {
    this.alive = model.channels.map(() => true);
    this.members = model.channels.map((c) => c.member);
  }

  get down(): boolean {
    return this.downFlag || !this.alive.some(Boolean);
  }

  get aliveChannels(): number {
    return this.alive.filter(Boolean).length;
  }

  /** Payload rate of the channels still alive (survivors on a NIC take up a dead channel's share). */
  get rate(): number {
    return channelRates(this.model.channels, this.alive, this.members).reduce((a, b) => a + b, 0);
  }

  /** Rate left for the migration stream after other traffic (which cannot take more than its fair share). */
  get available(): number {
    const r = this.rate;
    return Math.max(FAIR_SHARE * r, r - this.background);
  }

  get rtt(): number {
    return this.model.rtt;
  }

  /** True when transfers are striped over several channels (SMB multichannel). */
  get striped(): boolean {
    return this.model.transport === 'smb';
  }

  /**
   * Cost of a transfer on what is left of the link. SMB multichannel transfers come from the striper in
   * virtual time (chunks, windows, per-channel rates and round trips); one TCP stream is a single FIFO
   * pipe, whose closed form is the same as striping over one channel.
   */
  cost(fullPages: number, zeroPages: number, extraBytes: number, runs = 0): TransferCost {
    const fluid = this.model.costAt(this.available, fullPages, zeroPages, extraBytes, runs);
    if (!this.striped) return fluid;
    // Striped: the channels' schedule, unless the source's page work (pipelined with it) is slower.
    const wireSeconds = simulateSimTransfer(fluid.wireBytes, this.simChannels(), [], this.rerate()).seconds;
    return { ...fluid, seconds: Math.max(wireSeconds, fluid.floor), wireSeconds };
  }

  /** A striped transfer of `bytes` over the channels as they are now, for the striper to redo when some fail. */
  stripedSpec(bytes: number, floor: number): StripedSpec {
    return { bytes, channels: this.simChannels(), rerate: this.rerate(), floor };
  }

  /** Live channels with their share of the link after other traffic. */
  simChannels(): SimChannel[] {
    const share = this.rate > 0 ? this.available / this.rate : 0;
    const rates = channelRates(this.model.channels, this.alive, this.members);
    const out: SimChannel[] = [];
    this.model.channels.forEach((c, i) => {
      if (this.alive[i]) out.push({ id: c.id, rate: rates[i]! * share, rtt: c.rtt });
    });
    return out;
  }

  /** Rates of the live channels when some die during a transfer (for the striper simulation). */
  rerate(): (dead: ReadonlySet<number>) => Map<number, number> {
    const share = this.rate > 0 ? this.available / this.rate : 0;
    const channels = this.model.channels;
    const base = [...this.alive];
    const members = [...this.members];
    return (dead) => {
      const alive = base.map((a, i) => a && !dead.has(channels[i]!.id));
      const rates = channelRates(channels, alive, members);
      return new Map(channels.map((c, i) => [c.id, rates[i]! * share]));
    };
  }

  /**
   * One NIC fails: the first that carries a live channel. Its channels die, unless it is a team member
   * whose team has another live member: LBFO moves those flows there. Returns the ids of the channels
   * that died and of those that moved.
   */
  failNic(): { died: number[]; moved: number[]; nic: string | undefined } {
    const nics = this.model.channels.map((_, i) => this.members[i]!).filter((m, i) => this.alive[i] && !this.deadNics.has(m));
    const nic = nics[0];
    if (nic === undefined) return { died: [], moved: [], nic };
    this.deadNics.add(nic);
    const died: number[] = [];
    const moved: number[] = [];
    this.model.channels.forEach((c, i) => {
      if (!this.alive[i] || this.members[i] !== nic) return;
      const team = this.team(c.member);
      const other = team.find((m) => !this.deadNics.has(m));
      if (other !== undefined) {
        this.members[i] = other;
        moved.push(c.id);
      } else {
        this.alive[i] = false;
        died.push(c.id);
      }
    });
    return { died, moved, nic };
  }

  /** Members of the team the NIC belongs to (empty when it is not teamed). */
  private team(nic: string): string[] {
    const n = this.nics.find((x) => x.name === nic);
    if (!n?.team) return [];
    return this.nics.filter((x) => x.team === n.team).map((x) => x.name);
  }

  /** Id of the channel `failChannel` takes down next. */
  get nextToFail(): number | undefined {
    const i = this.alive.indexOf(true);
    return i >= 0 ? this.model.channels[i]!.id : undefined;
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
