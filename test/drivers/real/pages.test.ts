import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BufferPool, sendPages, Staging } from '../../../src/drivers/real/pages.js';
import { GuestRam } from '../../../src/guest/real/ram.js';
import { MIN_DIRECT_RUN, PACKET_BYTES, PACKET_HEADER, PACKET_MAGIC, PACKET_PAGES, STAGING_SLOTS } from '../../../src/drivers/real/protocol.js';
import type { SenderSession } from '../../../src/transport/tcp/sender.js';

const PER = GuestRam.pagesPerSegment;

/** A RAM stand-in: page p holds its number in every word (0 for the zero pages given). */
function fakeRam(pages: number, zero: Set<number>) {
  return {
    pages,
    copyPages(first: number, count: number, out: Buffer, at = 0) {
      if ((first % PER) + count > PER) throw new Error('crossed a segment');
      const word = Buffer.alloc(4);
      for (let i = 0; i < count; i++) {
        word.writeUInt32LE(zero.has(first + i) ? 0 : first + i + 1);
        out.fill(word, at + i * 4096, at + (i + 1) * 4096);
      }
    },
    isZeroPage: (p: number) => zero.has(p),
    isZeroRange(first: number, n: number) {
      for (let p = first; p < first + n; p++) if (!zero.has(p)) return false;
      return true;
    },
  } as unknown as GuestRam;
}

/** A session stand-in: records writes, rebuilds the destination's pages, counts barriers. */
function fakeSession(stagingBase: number, zero: Set<number> = new Set()) {
  const content = (p: number) => (zero.has(p) ? 0 : p + 1);
  const dest = new Map<number, number>();
  const slotsSinceBarrier = new Set<number>();
  let flushes = 0;
  let reusedWithoutBarrier = false;
  const s = {
    dest,
    get flushes() {
      return flushes;
    },
    get reused() {
      return reusedWithoutBarrier;
    },
    write(offset: number, data: Buffer, done?: () => void) {
      if (offset >= stagingBase) {
        if (slotsSinceBarrier.has(offset)) reusedWithoutBarrier = true;
        slotsSinceBarrier.add(offset);
        expect(data.readUInt32LE(0)).toBe(PACKET_MAGIC);
        const n = data.readUInt32LE(4);
        expect(n).toBeGreaterThan(0);
        expect(n).toBeLessThanOrEqual(PACKET_PAGES);
        expect(data.length).toBe(PACKET_HEADER + n * 4096);
        for (let i = 0; i < n; i++) {
          const p = data.readUInt32LE(16 + i * 4);
          dest.set(p, (dest.get(p) ?? 0) + 1);
          expect(data.readUInt32LE(PACKET_HEADER + i * 4096)).toBe(content(p));
        }
      } else {
        expect(offset % 4096).toBe(0);
        const first = offset / 4096;
        const n = data.length / 4096;
        expect(n).toBeGreaterThanOrEqual(MIN_DIRECT_RUN);
        expect(Math.floor(first / PER)).toBe(Math.floor((first + n - 1) / PER));
        for (let i = 0; i < n; i++) {
          dest.set(first + i, (dest.get(first + i) ?? 0) + 1);
          expect(data.readUInt32LE(i * 4096)).toBe(content(first + i));
        }
      }
      done?.();
      return Promise.resolve();
    },
    flush() {
      flushes++;
      slotsSinceBarrier.clear();
      return Promise.resolve();
    },
  };
  return s;
}

describe('sendPages', () => {
  it('sends each pending page exactly once, in place or in a packet, never across a RAM segment; skips zero pages in round 0 (property)', async () => {
    const pages = PER + 3000; // two segments
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: pages - 1 }), fc.integer({ min: 1, max: 600 })), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: pages - 1 }), { maxLength: 200 }),
        fc.boolean(),
        async (runs, zeros, skipZero) => {
          const pending = new Uint32Array(Math.ceil(pages / 32));
          const want = new Set<number>();
          for (const [start, len] of runs) for (let p = start; p < Math.min(pages, start + len); p++) want.add(p);
          for (const p of want) pending[p >>> 5]! |= 1 << (p & 31);
          const zero = new Set(zeros);
          const session = fakeSession(pages * 4096, zero);
          const c = await sendPages({ ram: fakeRam(pages, zero), pending, session: session as unknown as SenderSession, pool: new BufferPool(2 ** 20, 4), staging: new Staging(pages * 4096), chunkSize: 2 ** 20, skipZero });
          const expected = [...want].filter((p) => !(skipZero && zero.has(p)));
          expect(c.pages).toBe(want.size);
          expect(c.zeroPages).toBe(want.size - expected.length);
          expect([...session.dest.keys()].sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
          expect([...session.dest.values()].every((n) => n === 1)).toBe(true);
          expect(pending.every((w) => w === 0)).toBe(true);
          expect(session.reused).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('packs scattered pages (full packets) and flushes before reusing a staging slot', async () => {
    const pages = 2 * 32 * PACKET_PAGES * STAGING_SLOTS; // every other page dirty: all in packets
    const pending = new Uint32Array(pages / 32).fill(0x55555555);
    const session = fakeSession(pages * 4096);
    const c = await sendPages({ ram: fakeRam(pages, new Set()), pending, session: session as unknown as SenderSession, pool: new BufferPool(PACKET_BYTES, 8), staging: new Staging(pages * 4096), chunkSize: 2 ** 20, skipZero: false });
    expect(c.runs).toBe(0);
    expect(c.packets).toBe(Math.ceil(pages / 2 / PACKET_PAGES));
    expect(session.flushes).toBeGreaterThanOrEqual(Math.floor(c.packets / STAGING_SLOTS) - 1);
    expect(session.reused).toBe(false);
    expect(session.dest.size).toBe(pages / 2);
  });
});
