// The destination's memory for incoming VMs, split per migration:
//
// - the reserve (`migrate-receiver --reserve`): memory allocated, zeroed and faulted in before any
//   migration, as a Windows host hands a new VM pages its zero-page thread already cleared. It is a pool of
//   blocks; a migration leases as many as its memory needs (the rest of its memory, if the pool runs short,
//   is allocated fresh and faults in as its data arrives). A block belongs to one lease at a time, so two
//   migrations never share a buffer; a returned block is zeroed again before its next lease.
// - the staging rings for page packets (protocol.ts): one per migration in flight, faulted in once and
//   reused by the next migration (allocated per migration, every 4 KiB of a ring cost a page fault in the
//   blackout, where round 0's whole runs leave it first written).

import { MigbenchError } from '../../errors.js';
import { STAGING_BYTES } from './protocol.js';

/** Bytes of one block of the reserve (every block but the pool's last one is this long). */
export const RESERVE_BLOCK = 64 * 2 ** 20;

interface Block {
  buf: Buffer;
  /** Bytes at the start of the block written since it was last zeroed. */
  dirty: number;
}

/** Memory for one VM: `segments` (every one but the last `segmentSize` bytes) for a MemorySink. */
export interface Lease {
  readonly segments: Uint8Array[];
  readonly segmentSize: number;
  /** Bytes of the VM's memory that came from the reserve (zeroed and faulted in). */
  readonly pooled: number;
  /** Give the reserve's blocks back (idempotent). */
  release(): void;
}

export class ReservePool {
  private readonly free: Block[] = [];
  readonly bytes: number;

  /** Allocate and fault in `bytes` of zeroed memory (in RESERVE_BLOCK blocks; the last may be shorter). */
  constructor(bytes: number) {
    this.bytes = bytes;
    for (let at = 0; at < bytes; at += RESERVE_BLOCK) this.free.push({ buf: Buffer.alloc(Math.min(RESERVE_BLOCK, bytes - at)).fill(0), dirty: 0 });
  }

  /** Bytes of the reserve not leased now. */
  get freeBytes(): number {
    return this.free.reduce((t, b) => t + b.buf.length, 0);
  }

  /**
   * Memory for a VM of `size` bytes: blocks of the reserve as far as they go (a block that an earlier VM
   * used is zeroed first), the rest allocated fresh and untouched (a page faults in when its data arrives;
   * zero pages, never sent, are never touched).
   */
  lease(size: number): Lease {
    if (!(Number.isSafeInteger(size) && size > 0)) throw new MigbenchError('E_STATE', `reserve: a lease of ${size} bytes`);
    const n = Math.ceil(size / RESERVE_BLOCK);
    const taken: Block[] = [];
    const segments: Uint8Array[] = [];
    let pooled = 0;
    for (let i = 0; i < n; i++) {
      const need = Math.min(RESERVE_BLOCK, size - i * RESERVE_BLOCK);
      // Every segment but the last must be a whole block; the last may be any block at least `need` long.
      const last = i === n - 1;
      let k = -1;
      if (last) {
        for (let j = 0; j < this.free.length; j++) {
          const len = this.free[j]!.buf.length;
          if (len >= need && (k < 0 || len < this.free[k]!.buf.length)) k = j; // the shortest that fits
        }
      } else k = this.free.findIndex((b) => b.buf.length === RESERVE_BLOCK);
      if (k < 0) {
        segments.push(Buffer.alloc(need));
        continue;
      }
      const b = this.free.splice(k, 1)[0]!;
      if (b.dirty > 0) b.buf.fill(0, 0, b.dirty);
      b.dirty = need; // what this VM may write
      taken.push(b);
      segments.push(b.buf);
      pooled += need;
    }
    let released = false;
    return {
      segments,
      segmentSize: RESERVE_BLOCK,
      pooled,
      release: () => {
        if (released) return;
        released = true;
        this.free.push(...taken);
      },
    };
  }
}

/** Staging rings, one per migration in flight; at most `keep` idle ones are kept for reuse. */
export class StagingRings {
  private readonly idle: Buffer[] = [];

  constructor(private readonly keep: number) {}

  /** Fault in the first ring now (before any migration, as the endpoint starts). */
  warm(): void {
    if (this.idle.length === 0 && this.keep > 0) this.idle.push(Buffer.alloc(STAGING_BYTES).fill(0));
  }

  /** A ring for one migration, owned by it until given back. */
  take(): Buffer {
    return this.idle.pop() ?? Buffer.alloc(STAGING_BYTES).fill(0);
  }

  give(ring: Buffer): void {
    if (this.idle.length < this.keep && !this.idle.includes(ring)) this.idle.push(ring);
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
