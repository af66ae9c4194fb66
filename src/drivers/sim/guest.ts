// The simulated guest: its page-level memory and workload (dirtying), the destination's copy of the page
// versions, and the guest's storage IO routed by the mirror. Guest activity is applied lazily, up to each
// event, with the rates in force since the previous one (`advance`).

import { GuestMemory, giveBack, sameImage, takeBytes, type SyncCounts } from '../../guest/memory.js';
import { WorkloadModel } from '../../guest/workload.js';
import type { StorageMirror } from '../../migration/storage.js';
import { Rng } from '../../random/index.js';
import type { Scenario } from '../../scenario.js';
import { PAGE_SIZE } from '../../units/index.js';
import type { StorageSim } from './storage.js';

export class SimGuest {
  readonly pages: number;
  private readonly mem: GuestMemory | null;
  private readonly workload: WorkloadModel | null;
  private readonly rng: Rng;
  /** The destination's page versions (what it received). */
  private readonly dest: Uint8Array | null;
  private clock = 0;
  private logging = false;
  // Memory writes before dirty logging starts only decide which pages are non-zero and their versions
  // when round 0 reads them; for a Poisson write process, one interval of their total length has the
  // same distribution as many, so they are applied in one step at the first sync.
  private unlogged = 0;
  /** The VM runs (false from the pause until it runs again on the source). */
  running = true;
  /** The VM's storage IO is paused (a storage-only move's IO switch). */
  ioPaused = false;
  /** Dirty-rate throttle in force (auto-converge). */
  throttle = 0;
  /** Guest IO speed relative to its demand. */
  ioScale: number;
  /** Pages pending at the last sync (what the next send sends). */
  pending: SyncCounts = { pages: 0, zeroPages: 0, runs: 0 };

  constructor(
    s: Scenario,
    private readonly storage: StorageSim,
    private readonly mirror: StorageMirror | null,
  ) {
    const memoryMode = s.mode !== 'storage';
    this.pages = Math.ceil(s.memoryBytes / PAGE_SIZE);
    this.mem = memoryMode ? new GuestMemory(this.pages, s.workload.zeroFraction, Rng.stream(s.seed, 'memory-layout')) : null;
    this.rng = Rng.stream(s.seed, 'workload');
    this.workload = memoryMode ? new WorkloadModel(s.workload, this.pages, this.rng) : null;
    this.dest = memoryMode ? takeBytes(this.pages).fill(0) : null;
    this.ioScale = storage.baseScale;
  }

  /** Apply the guest's activity up to `to` at the rates in force. */
  advance(to: number): void {
    const dt = to - this.clock;
    if (dt > 0 && this.running) {
      if (this.mem && this.workload) {
        if (this.logging) this.workload.advance(this.mem, dt, this.throttle, this.rng);
        else this.unlogged += dt;
      }
      const m = this.mirror;
      if (!this.ioPaused && m?.status === 'copying') this.storage.write(dt, this.ioScale, (r) => m.route(r));
      else if (!this.ioPaused && m?.status === 'mirroring') this.storage.writeMirrored(dt, this.ioScale);
    }
    if (to > this.clock) this.clock = to;
  }

  /** A bitmap sync (the first starts dirty logging): the pending pages the next send sends. */
  sync(countRuns: boolean): SyncCounts {
    const mem = this.mem!;
    if (!this.logging) {
      this.workload!.advance(mem, this.unlogged, 0, this.rng);
      mem.startLogging();
      this.logging = true;
    }
    this.pending = mem.sync(countRuns);
    return this.pending;
  }

  /**
   * The round reads its pages now: a write during the round makes the destination's copy stale, and only
   * the next round's resend can repair it (the strictest ordering).
   */
  sendPending(): void {
    this.mem!.sendSnapshot(this.dest!);
  }

  /** The destination's memory equals the source's (page versions compared). */
  verified(): boolean {
    return sameImage(this.mem!.version, this.dest!);
  }

  release(): void {
    this.mem?.release();
    if (this.dest) giveBack(this.dest);
  }
}
