// The destination host as the simulator sees it: whether it crashed (and when it is back), stalled (and
// until when), whether its storage fails, and whether and since when it runs the VM. It answers the
// source's in-doubt question ("which host runs the VM?") and times its own clean-up.

export interface DestinationTiming {
  /** Round trip of a control message, seconds. */
  rtt: number;
  /** Restoring device state and starting the VM, seconds. */
  resumeTime: number;
  /** A crashed destination is back (and cleans up what a migration left) after this long, seconds. */
  restartTime: number;
}

export class SimDestination {
  private crashedAt: number | null = null;
  private stallFrom = Infinity;
  private stallUntil = -Infinity;
  /** The destination's storage fails (it cannot open or write the VM's files). */
  storageBroken = false;
  /** The resume request: when it reaches the destination, and whether it was lost on the way. */
  private resume: { arrives: number; lost: boolean; delay: number } | null = null;

  constructor(private readonly t: DestinationTiming) {}

  get crashed(): boolean {
    return this.crashedAt !== null;
  }

  /** When the destination can act on a message that reaches it at `t` (after a restart, after a stall). */
  availableAt(t: number): number {
    let at = t;
    if (this.crashedAt !== null && this.crashedAt <= at) at = Math.max(at, this.crashedAt + this.t.restartTime);
    if (this.stallFrom <= at && at < this.stallUntil) at = this.stallUntil;
    return at;
  }

  crash(now: number): void {
    this.crashedAt ??= now;
    // A crash at `resume` strikes with the request in flight, before the destination acts on it.
    if (this.resume) this.resume.lost = true;
  }

  stall(now: number, seconds: number): void {
    this.stallFrom = now;
    this.stallUntil = now + seconds;
    // Stopped before the VM was started: the start waits for the stall to end.
    const r = this.resume;
    if (r && !r.lost && now < r.arrives + this.t.resumeTime) r.delay += seconds;
  }

  /** The source sends the resume request now (it arrives half a round trip later). */
  resumeSent(now: number): void {
    this.resume = { arrives: now + this.t.rtt / 2, lost: false, delay: 0 };
  }

  /** The migration's links failed at `now`: a resume request still on its way is lost. */
  linkLost(now: number): void {
    const r = this.resume;
    if (r && now < r.arrives) r.lost = true;
  }

  /** Since when the destination runs the VM, or null when it never started it. */
  get resumedAt(): number | null {
    const r = this.resume;
    if (!r || r.lost) return null;
    return r.arrives + this.t.resumeTime + r.delay;
  }

  /**
   * The source asks (at `now`, over the hosts' management path) which host runs the VM. The destination's
   * word is final: one that never started the VM fences it off (a late resume request is refused) and
   * deletes it. Returns the answer and when it reaches the source.
   */
  askOwner(now: number): { owner: 'source' | 'destination'; resumedAt: number | null; at: number } {
    const half = this.t.rtt / 2;
    let acts = this.availableAt(now + half);
    const started = this.resumedAt;
    if (started !== null) {
      acts = Math.max(acts, started); // a queued resume request is acted on first
      return { owner: 'destination', resumedAt: started, at: acts + half };
    }
    this.resume = null;
    return { owner: 'source', resumedAt: null, at: acts + half };
  }
}
