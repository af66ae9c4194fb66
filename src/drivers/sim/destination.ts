// The destination as the simulator sees it. A destination host (shared by every migration to it) may
// crash (and is back after the restart time), stall (until the stall ends) or have its storage fail. Each
// migration to it tracks its own resume request: when it reaches the host, whether it was lost on the
// way, and so whether and since when the host runs the VM; the host answers the source's in-doubt
// question and times its own clean-up.

export interface DestinationTiming {
  /** Round trip of a control message, seconds. */
  rtt: number;
  /** Restoring device state and starting the VM, seconds. */
  resumeTime: number;
  /** A crashed destination is back (and cleans up what a migration left) after this long, seconds. */
  restartTime: number;
}

export class DestHost {
  private crashedAt: number | null = null;
  private stallFrom = Infinity;
  private stallUntil = -Infinity;
  /** The host's storage fails (it cannot open or write the VM's files). */
  storageBroken = false;
  private readonly crashListeners: ((at: number) => void)[] = [];

  constructor(
    readonly name: string,
    readonly restartTime: number,
  ) {}

  get crashed(): boolean {
    return this.crashedAt !== null;
  }

  onCrash(l: (at: number) => void): () => void {
    this.crashListeners.push(l);
    return () => this.crashListeners.splice(this.crashListeners.indexOf(l) >>> 0, 1);
  }

  /** When the host can act on a message that reaches it at `t` (after a restart, after a stall). */
  availableAt(t: number): number {
    let at = t;
    if (this.crashedAt !== null && this.crashedAt <= at) at = Math.max(at, this.crashedAt + this.restartTime);
    if (this.stallFrom <= at && at < this.stallUntil) at = this.stallUntil;
    return at;
  }

  crash(now: number): void {
    if (this.crashedAt !== null) return;
    this.crashedAt = now;
    for (const l of [...this.crashListeners]) l(now);
  }

  stall(now: number, seconds: number): void {
    this.stallFrom = now;
    this.stallUntil = now + seconds;
  }

  /** A stall that strikes at `now` delays work due before `until` by its length (0 when none or already over). */
  stallDelay(now: number, until: number): number {
    return this.stallFrom === now && now < until ? this.stallUntil - this.stallFrom : 0;
  }
}

/** One migration's view of its destination: its resume request and the host's answers. */
export class SimDestination {
  /** The resume request: when it reaches the host, whether it was lost on the way. */
  private resume: { arrives: number; lost: boolean; delay: number } | null = null;

  constructor(
    readonly host: DestHost,
    private readonly t: DestinationTiming,
  ) {}

  get crashed(): boolean {
    return this.host.crashed;
  }

  availableAt(t: number): number {
    return this.host.availableAt(t);
  }

  /** The host crashed at `now`: a resume request in flight is lost with it (before the host acted on it). */
  crash(now: number): void {
    this.host.crash(now);
    if (this.resume) this.resume.lost = true;
  }

  stall(now: number, seconds: number): void {
    this.host.stall(now, seconds);
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

  /** Since when the host runs the VM, or null when it never started it. */
  get resumedAt(): number | null {
    const r = this.resume;
    if (!r || r.lost || this.host.crashed) return null;
    return r.arrives + this.t.resumeTime + r.delay;
  }

  /**
   * The source asks (at `now`, over the hosts' management path) which host runs the VM. The host's word
   * is final: one that never started the VM fences it off (a late resume request is refused) and deletes
   * it. Returns the answer and when it reaches the source.
   */
  askOwner(now: number): { owner: 'source' | 'destination'; resumedAt: number | null; at: number } {
    const half = this.t.rtt / 2;
    let acts = this.host.availableAt(now + half);
    const started = this.resumedAt;
    if (started !== null) {
      acts = Math.max(acts, started); // a queued resume request is acted on first
      return { owner: 'destination', resumedAt: started, at: acts + half };
    }
    this.resume = null;
    return { owner: 'source', resumedAt: null, at: acts + half };
  }
}
