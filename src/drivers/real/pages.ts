// Sending guest pages over the transport: the pending bitmap of a round is walked in address order and
// set bits are coalesced into runs (never crossing a RAM segment, at most one pool buffer long). Each run
// is copied out of the guest's shared memory into a private buffer (the guest keeps writing: the CRC and
// the bytes on the wire must be of one copy). Long runs are written in place, at their guest-physical
// offset; the pages of short runs are packed into page packets (protocol.ts), because every DATA frame
// costs about as much as 25 KB of payload here, and a round of scattered pages would otherwise be bound
// by frames, not bytes. Round 0 skips zero pages: the destination's memory starts zeroed. Buffers come
// from a fixed pool and return to it once the receiver has written them, so a round allocates nothing.

import { GuestRam } from '../../guest/real/ram.js';
import { HEADER_SIZE } from '../../transport/tcp/frame.js';
import type { SenderSession } from '../../transport/tcp/sender.js';
import { PAGE_SIZE } from '../../units/index.js';
import { MIN_DIRECT_RUN, PACKET_HEADER, PACKET_MAGIC, PACKET_PAGES, STAGING_SLOTS, PACKET_BYTES } from './protocol.js';

/** A fixed set of equal buffers, touched once when created (first-touch page faults are slow here). */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private waiters: ((b: Buffer) => void)[] = [];

  constructor(
    readonly size: number,
    count: number,
  ) {
    // Faulted in now (fill writes every page): a buffer first used in the blackout would otherwise take a
    // page fault per 4 KiB there. Taken last-in first-out, most of the pool is first used only when many
    // packets are in flight at once, as in the blackout.
    for (let i = 0; i < count; i++) this.free.push(Buffer.alloc(size).fill(0));
  }

  take(): Buffer | Promise<Buffer> {
    const b = this.free.pop();
    if (b) return b;
    return new Promise((r) => this.waiters.push(r));
  }

  give(b: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}

/** The staging ring's slots: a slot is reused only after a barrier (the driver reports each one). */
export class Staging {
  private next = 0;

  constructor(
    /** Stream offset of the ring. */
    readonly base: number,
  ) {}

  /** Every chunk written before is acknowledged (a flush resolved): all slots are free again. */
  barrierPassed(): void {
    this.next = 0;
  }

  /** The stream offset of the next free slot, flushing first when the ring is used up. */
  async slot(session: SenderSession): Promise<number> {
    if (this.next === STAGING_SLOTS) {
      await session.flush();
      this.next = 0;
    }
    return this.base + this.next++ * PACKET_BYTES;
  }
}

export interface SendCount {
  /** Pages of the round (zero pages skipped included). */
  pages: number;
  zeroPages: number;
  /** Payload bytes (pages, packet headers) and DATA frame headers put on the transport. */
  wireBytes: number;
  /** Packets and in-place runs written. */
  packets: number;
  runs: number;
}

export interface SendPagesOptions {
  ram: GuestRam;
  pending: Uint32Array;
  session: SenderSession;
  pool: BufferPool;
  staging: Staging;
  /** Transport chunk size (a write of n bytes is ceil(n / chunk) DATA frames). */
  chunkSize: number;
  skipZero: boolean;
  /** Called after each write with the pages scanned and sent so far; throws to stop (a failure). */
  progress?: (scanned: number, sent: number) => void;
}

/** Send every page set in `pending` (and clear it). Resolves once all are handed to the transport. */
export async function sendPages(o: SendPagesOptions): Promise<SendCount> {
  const { ram, pending, session, pool } = o;
  const per = GuestRam.pagesPerSegment;
  const maxRun = pool.size / PAGE_SIZE;
  const count: SendCount = { pages: 0, zeroPages: 0, wireBytes: 0, packets: 0, runs: 0 };
  const frames = (bytes: number) => Math.ceil(bytes / o.chunkSize) * HEADER_SIZE;
  const buffer = async () => {
    const got = pool.take();
    return got instanceof Promise ? await got : got;
  };
  let runStart = -1;
  let runLen = 0;
  let packet: Buffer | null = null;
  let packed = 0;

  const sendPacket = async (): Promise<void> => {
    if (!packet || packed === 0) return;
    const buf = packet;
    const bytes = PACKET_HEADER + packed * PAGE_SIZE;
    buf.writeUInt32LE(PACKET_MAGIC, 0);
    buf.writeUInt32LE(packed, 4);
    packet = null;
    packed = 0;
    const at = await o.staging.slot(session);
    count.wireBytes += bytes + frames(bytes);
    count.packets++;
    await session.write(at, buf.subarray(0, bytes), () => pool.give(buf));
  };
  const pack = async (first: number, n: number): Promise<void> => {
    for (let p = first; p < first + n; p++) {
      packet ??= await buffer();
      ram.copyPages(p, 1, packet, PACKET_HEADER + packed * PAGE_SIZE);
      packet.writeUInt32LE(p, 16 + packed * 4);
      if (++packed === PACKET_PAGES) await sendPacket();
    }
  };
  const flushRun = async (): Promise<void> => {
    if (runLen === 0) return;
    const first = runStart;
    const n = runLen;
    runLen = 0;
    if (n < MIN_DIRECT_RUN) await pack(first, n);
    else {
      const buf = await buffer();
      const bytes = n * PAGE_SIZE;
      ram.copyPages(first, n, buf);
      count.wireBytes += bytes + frames(bytes);
      count.runs++;
      await session.write(first * PAGE_SIZE, buf.subarray(0, bytes), () => pool.give(buf));
    }
    o.progress?.(first + n, count.pages - count.zeroPages);
  };

  for (let w = 0; w < pending.length; w++) {
    let bits = pending[w]!;
    if (bits === 0) continue;
    pending[w] = 0;
    const base = w * 32;
    // Round 0: a whole word of zero pages (zero memory comes in 2 MiB blocks) is skipped at once.
    if (o.skipZero && bits === 0xffffffff && base + 32 <= ram.pages && ram.isZeroRange(base, 32)) {
      count.pages += 32;
      count.zeroPages += 32;
      if (runLen > 0) await flushRun();
      continue;
    }
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits & -bits);
      bits &= bits - 1;
      const p = base + b;
      if (p >= ram.pages) break;
      count.pages++;
      if (o.skipZero && ram.isZeroPage(p)) {
        count.zeroPages++;
        if (runLen > 0) await flushRun();
        continue;
      }
      if (runLen > 0 && (p !== runStart + runLen || runLen === maxRun || p % per === 0)) await flushRun();
      if (runLen === 0) runStart = p;
      runLen++;
    }
  }
  await flushRun();
  await sendPacket();
  o.progress?.(ram.pages, count.pages - count.zeroPages);
  return count;
}
