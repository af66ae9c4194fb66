// The source's memory in a real migration: the running guest (a worker writing shared memory), its dirty
// log and the pending set, the pool of page buffers and the staging ring for page packets, and the device
// state the blackout sends. It performs the memory actions: the bitmap sync (the first starts dirty
// logging), a pre-copy round, and the blackout's final round with the device state.

import { createHash } from 'node:crypto';
import { popcount32 } from '../../guest/memory.js';
import { RealGuest } from '../../guest/real/guest.js';
import type { Event } from '../../migration/events.js';
import { Rng } from '../../random/index.js';
import { HEADER_SIZE } from '../../transport/tcp/frame.js';
import type { SenderSession } from '../../transport/tcp/sender.js';
import { CHUNK_SIZE } from '../../transport/defaults.js';
import { PAGE_SIZE } from '../../units/index.js';
import type { RealContext } from './context.js';
import type { FaultPlan } from './faults.js';
import { BufferPool, sendPages, Staging } from './pages.js';
import { STAGING_BYTES } from './protocol.js';

export class SourceMemory {
  readonly pool: BufferPool;
  readonly staging: Staging;
  readonly pending: Uint32Array;
  private logging = false;
  /** The device-state stand-in and its hash, made before the timed migration. */
  readonly state: Buffer;
  readonly stateSha: string;
  /** Wire bytes of the device state sent in the blackout (payload and frame headers). */
  stateSent = 0;

  private constructor(
    private readonly ctx: RealContext,
    readonly guest: RealGuest,
    /** Stream offset of the device state (after memory, the disk and the staging ring). */
    private readonly stateBase: number,
  ) {
    this.pending = new Uint32Array(guest.ram.bitmap.length);
    this.staging = new Staging(stateBase - STAGING_BYTES);
    this.pool = new BufferPool(CHUNK_SIZE, Math.max(64, (2 * ctx.channels * ctx.window) / CHUNK_SIZE) + 16);
    // Generating and hashing the stand-in is harness work, not the migration's: done now.
    this.state = stateBlob(ctx.s.timing.stateBytes, ctx.s.seed);
    this.stateSha = createHash('sha256').update(this.state).digest('hex');
  }

  /** Start the guest (untimed). `diskBytes`: the disk image that follows memory in the stream. */
  static async start(ctx: RealContext, diskBytes: number): Promise<SourceMemory> {
    const s = ctx.s;
    const guest = await RealGuest.start({ bytes: ctx.ramBytes, workload: s.workload, seed: s.seed });
    return new SourceMemory(ctx, guest, ctx.ramBytes + diskBytes + STAGING_BYTES);
  }

  sync(): Event {
    const ram = this.guest.ram;
    let pages: number;
    if (!this.logging) {
      // Start dirty logging: clear the log; everything is pending (round 0 sends all non-zero pages).
      ram.syncDirty(new Uint32Array(this.pending.length));
      this.pending.fill(0xffffffff);
      const r = ram.pages & 31;
      if (r !== 0) this.pending[this.pending.length - 1] = (1 << r) - 1;
      pages = ram.pages;
      this.logging = true;
    } else pages = ram.syncDirty(this.pending);
    return { type: 'synced', now: this.ctx.now(), pages, zeroPages: 0 };
  }

  private pages(session: SenderSession) {
    return { ram: this.guest.ram, pending: this.pending, session, pool: this.pool, staging: this.staging, chunkSize: this.ctx.chunkSize };
  }

  /** The barrier: everything written so far is on the destination; staging slots are free again. */
  async flush(session: SenderSession): Promise<void> {
    await session.flush();
    this.staging.barrierPassed();
  }

  async sendRound(session: SenderSession, faults: FaultPlan, check: () => void, round: number, throttle: number): Promise<Event> {
    const ctx = this.ctx;
    this.guest.throttle(throttle);
    const started = ctx.now();
    const total = this.guest.ram.pages;
    const c = await sendPages({
      ...this.pages(session),
      skipZero: round === 0 && ctx.s.zeroPages === 'skip', // Hyper-V sends zero pages whole (docs/model.md)
      progress: (scanned) => {
        check();
        if (round === 0) faults.progress('precopy', scanned / total);
      },
    });
    await this.flush(session);
    const now = ctx.now();
    if (round === 0 && now > started) ctx.measured.round0_goodput_bps = ((c.pages - c.zeroPages) * PAGE_SIZE) / (now - started);
    return { type: 'sent', now, pages: c.pages, zeroPages: c.zeroPages, wireBytes: c.wireBytes };
  }

  async sendFinal(session: SenderSession, faults: FaultPlan, check: () => void, stateBytes: number): Promise<Event> {
    const ctx = this.ctx;
    let dirty = 0;
    for (const w of this.pending) if (w !== 0) dirty += popcount32(w);
    const total = dirty * PAGE_SIZE + stateBytes;
    const c = await sendPages({
      ...this.pages(session),
      skipZero: false,
      progress: (_scanned, sent) => {
        check();
        if (total > 0) faults.progress('blackout', (sent * PAGE_SIZE) / total);
      },
    });
    // The device state: seeded bytes standing for CPU and device state, after the staging ring.
    const chunk = ctx.chunkSize;
    let handed = dirty * PAGE_SIZE;
    let stateWire = 0;
    for (let at = 0; at < stateBytes; at += chunk) {
      const n = Math.min(chunk, stateBytes - at);
      await session.write(this.stateBase + at, this.state.subarray(at, at + n));
      handed += n;
      stateWire += n + HEADER_SIZE;
      faults.progress('blackout', handed / total);
    }
    this.stateSent = stateWire;
    faults.progress('blackout', 1);
    await this.flush(session);
    return { type: 'sent', now: ctx.now(), pages: c.pages, zeroPages: c.zeroPages, wireBytes: c.wireBytes + stateBytes };
  }
}

/** Seeded bytes standing for the CPU and device state sent in the blackout (the project's PRNG). */
function stateBlob(bytes: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  const rng = Rng.stream(seed, 'device-state');
  for (let i = 0; i + 4 <= bytes; i += 4) b.writeUInt32LE(rng.nextU32(), i);
  for (let i = bytes & ~3; i < bytes; i++) b[i] = i & 0xff;
  return b;
}
