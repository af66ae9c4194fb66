// Who may hold a connection to the receiver. Every accepted TCP connection takes a slot at once (before
// any TLS handshake); it is "unauthenticated" until it proves the key. Unauthenticated slots are limited per
// remote address and overall, below the total cap, so that peers without the key can never take the room
// authenticated channels need: when an unauthenticated limit is reached, the *oldest* unauthenticated
// connection (of that address, or of the address holding the most) is evicted to admit the new one. A
// key holder authenticates within a round trip, so idle connections cannot lock it out; a peer that keeps
// opening connections only churns its own and its neighbours' unauthenticated slots.
// The total and per-address caps count every connection; they refuse a newcomer only when nothing
// unauthenticated is left to evict.

export interface AdmissionLimits {
  /** Connections in total (default 256). */
  maxConnections: number;
  /** Connections from one remote address (default 64). */
  maxPerAddress: number;
  /** Unauthenticated connections in total (default 128): the rest of maxConnections stays for channels with the key. */
  maxUnauthenticated: number;
  /** Unauthenticated connections from one remote address (default 32, one session's channels). */
  maxUnauthenticatedPerAddress: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxConnections: 256,
  maxPerAddress: 64,
  maxUnauthenticated: 128,
  maxUnauthenticatedPerAddress: 32,
};

/** One admitted connection. `evict` closes it (and must call Admission.release). */
export interface Slot {
  readonly addr: string;
  authenticated: boolean;
  evict(reason: string): void;
}

export type Admit = { ok: true; evicted: number } | { ok: false; reason: string };

export class Admission {
  private readonly all = new Set<Slot>();
  private readonly perAddress = new Map<string, number>();
  /** Unauthenticated slots, oldest first (a Set keeps insertion order). */
  private readonly unauth = new Set<Slot>();
  private readonly unauthBy = new Map<string, Set<Slot>>();

  constructor(readonly limits: AdmissionLimits) {
    if (limits.maxUnauthenticated >= limits.maxConnections) {
      // Keep room for authenticated channels whatever the caller asked.
      limits.maxUnauthenticated = Math.max(1, limits.maxConnections - 1);
    }
  }

  get size(): number {
    return this.all.size;
  }

  get unauthenticated(): number {
    return this.unauth.size;
  }

  /** Make room for a new connection from `addr` (evicting old unauthenticated ones), or refuse it. */
  admit(addr: string): Admit {
    const l = this.limits;
    let evicted = 0;
    const evictOldest = (set: Set<Slot> | undefined, why: string): boolean => {
      const victim = set?.values().next().value;
      if (!victim) return false;
      this.release(victim);
      victim.evict(why);
      evicted++;
      return true;
    };
    if ((this.unauthBy.get(addr)?.size ?? 0) >= l.maxUnauthenticatedPerAddress) {
      evictOldest(this.unauthBy.get(addr), `${l.maxUnauthenticatedPerAddress} unauthenticated connections from ${addr}: the oldest makes room`);
    }
    if (this.unauth.size >= l.maxUnauthenticated) {
      evictOldest(this.unauthBy.get(this.busiest()), `${l.maxUnauthenticated} unauthenticated connections in total: the oldest of the busiest address makes room`);
    }
    if (this.all.size >= l.maxConnections && !evictOldest(this.unauth, `${l.maxConnections} connections in total: the oldest unauthenticated one makes room`)) {
      return { ok: false, reason: `${l.maxConnections} connections in total, all authenticated` };
    }
    if ((this.perAddress.get(addr) ?? 0) >= l.maxPerAddress && !evictOldest(this.unauthBy.get(addr), `${l.maxPerAddress} connections from ${addr}: the oldest unauthenticated one makes room`)) {
      return { ok: false, reason: `${l.maxPerAddress} connections from ${addr}, all authenticated` };
    }
    return { ok: true, evicted };
  }

  /** Record an admitted connection (after admit() said ok). */
  add(slot: Slot): void {
    this.all.add(slot);
    this.perAddress.set(slot.addr, (this.perAddress.get(slot.addr) ?? 0) + 1);
    if (!slot.authenticated) {
      this.unauth.add(slot);
      let set = this.unauthBy.get(slot.addr);
      if (!set) this.unauthBy.set(slot.addr, (set = new Set()));
      set.add(slot);
    }
  }

  /** The connection proved the key: it no longer counts against the unauthenticated limits. */
  authenticated(slot: Slot): void {
    slot.authenticated = true;
    this.dropUnauth(slot);
  }

  /** The connection is gone (idempotent). */
  release(slot: Slot): void {
    if (!this.all.delete(slot)) return;
    const n = (this.perAddress.get(slot.addr) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(slot.addr);
    else this.perAddress.set(slot.addr, n);
    this.dropUnauth(slot);
  }

  private dropUnauth(slot: Slot): void {
    if (!this.unauth.delete(slot)) return;
    const set = this.unauthBy.get(slot.addr);
    set?.delete(slot);
    if (set && set.size === 0) this.unauthBy.delete(slot.addr);
  }

  /** The address holding the most unauthenticated connections. */
  private busiest(): string {
    let best = '';
    let most = -1;
    for (const [addr, set] of this.unauthBy) {
      if (set.size > most) {
        best = addr;
        most = set.size;
      }
    }
    return best;
  }
}
