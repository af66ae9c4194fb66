import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GuestMemory, popcount32, sameImage, ZERO_BLOCK_PAGES } from '../../src/guest/memory.js';
import { Rng } from '../../src/random/index.js';

const rng = (s = 1): Rng => Rng.stream(s, 'test');

describe('GuestMemory', () => {
  it('lays out the requested share of zero pages in 2 MiB blocks', () => {
    const pages = 64 * ZERO_BLOCK_PAGES;
    const m = new GuestMemory(pages, 0.25, rng());
    expect(m.zeroPageCount()).toBe(16 * ZERO_BLOCK_PAGES);
    // zero pages have version 0, the others 1
    let zeros = 0;
    for (let p = 0; p < pages; p++) {
      expect(m.version[p]).toBe(m.isZero(p) ? 0 : 1);
      if (m.isZero(p)) zeros++;
    }
    expect(zeros).toBe(16 * ZERO_BLOCK_PAGES);
    expect(new GuestMemory(pages, 0, rng()).zeroPageCount()).toBe(0);
    expect(new GuestMemory(pages, 1, rng()).zeroPageCount()).toBe(pages);
  });

  it('makes the first sync yield every page (round 0), zero pages counted apart', () => {
    const m = new GuestMemory(1000, 0.5, rng());
    m.startLogging();
    const c = m.sync();
    expect(c.pages).toBe(1000);
    expect(c.zeroPages).toBe(m.zeroPageCount());
    expect(m.sync().pages).toBe(1000); // not sent yet: still pending
    m.sendSnapshot(new Uint8Array(1000));
    expect(m.sync().pages).toBe(0); // sent, and nothing written since
  });

  it('resends a page written during a round in the next round, whether or not it was sent already', () => {
    const m = new GuestMemory(256, 0, rng());
    const dest = new Uint8Array(256);
    m.startLogging();
    m.sync();
    m.sendSnapshot(dest); // round 0 sends everything at its start
    m.writePage(10); // written during round 0, after its send
    m.writePage(200);
    const c = m.sync();
    expect(c.pages).toBe(2);
    expect(sameImage(m.version, dest)).toBe(false);
    m.sendSnapshot(dest);
    expect(sameImage(m.version, dest)).toBe(true);
  });

  it('counts the runs of consecutive pending pages, across word boundaries and in both sync paths (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 299 }), { maxLength: 120 }), fc.uniqueArray(fc.integer({ min: 0, max: 299 }), { maxLength: 60 }), (first, second) => {
        const m = new GuestMemory(300, 0, rng());
        m.startLogging();
        m.sync();
        m.sendSnapshot(new Uint8Array(300));
        const runsOf = (set: Set<number>) => [...set].filter((p) => !set.has(p - 1)).length;
        for (const p of first) m.writePage(p);
        expect(m.dirtyCount()).toBe(new Set(first).size);
        const a = m.sync(true); // nothing pending: the swap path
        expect(a.runs).toBe(runsOf(new Set(first)));
        for (const p of second) m.writePage(p);
        const b = m.sync(true); // merged into the unsent pending set: the merge path
        expect(b.runs).toBe(runsOf(new Set([...first, ...second])));
        expect(b.pages).toBe(new Set([...first, ...second]).size);
      }),
      { numRuns: 200 },
    );
    // every page pending (round 0): one run
    const all = new GuestMemory(1000, 0.5, rng());
    all.startLogging();
    expect(all.sync(true).runs).toBe(1);
    expect(all.sync().runs).toBe(0); // not asked for
    // pages 31 and 32 sit in two words but make one run; 63 and 65 make two
    const m = new GuestMemory(128, 0, rng());
    m.startLogging();
    m.sync();
    m.sendSnapshot(new Uint8Array(128));
    for (const p of [31, 32, 63, 65]) m.writePage(p);
    expect(m.sync(true)).toMatchObject({ pages: 4, runs: 3 });
  });

  it('merges pages dirtied after a sync into the pending set that has not been sent yet', () => {
    const m = new GuestMemory(128, 0, rng());
    const dest = new Uint8Array(128);
    m.startLogging();
    m.sync();
    m.sendSnapshot(dest);
    m.writePage(1);
    expect(m.sync().pages).toBe(1);
    m.writePage(2); // written between the decision and the pause: the final sync must keep page 1
    expect(m.sync().pages).toBe(2);
    m.sendSnapshot(dest);
    expect(sameImage(m.version, dest)).toBe(true);
  });

  it('makes a written zero page non-zero for good', () => {
    const m = new GuestMemory(ZERO_BLOCK_PAGES, 1, rng());
    expect(m.isZero(5)).toBe(true);
    m.writePage(5);
    expect(m.isZero(5)).toBe(false);
    m.startLogging();
    expect(m.sync().zeroPages).toBe(ZERO_BLOCK_PAGES - 1);
  });

  it('dirties each page of a region with probability p (sparse and dense paths)', () => {
    for (const p of [0.003, 0.02, 0.2, 0.6, 0.97]) {
      const m = new GuestMemory(200_000, 0, rng(7));
      m.startLogging();
      m.sync();
      const n = m.writeRegion(1000, 150_000, p, rng(11));
      expect(m.dirtyCount()).toBe(n);
      const sd = Math.sqrt(150_000 * p * (1 - p));
      expect(Math.abs(n - 150_000 * p)).toBeLessThan(5 * sd + 1);
      // nothing outside the region
      for (const q of [0, 999, 151_000, 199_999]) expect(m.isDirty(q)).toBe(false);
    }
  });

  it('keeps the destination equal to the source after any schedule of writes, syncs and sends (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.oneof(fc.tuple(fc.constant('w' as const), fc.nat(), fc.nat(), fc.double({ min: 0, max: 1, noNaN: true })), fc.constant(['s'] as const)), {
          maxLength: 30,
        }),
        (pages, ops) => {
          const m = new GuestMemory(pages, 0.3, rng(pages));
          const dest = new Uint8Array(pages);
          const r = rng(3);
          m.startLogging();
          m.sync();
          m.sendSnapshot(dest);
          for (const op of ops) {
            if (op[0] === 's') {
              m.sync();
              m.sendSnapshot(dest);
            } else {
              const start = op[1] % pages;
              const count = 1 + (op[2] % (pages - start));
              m.writeRegion(start, count, op[3], r);
            }
          }
          m.sync();
          m.sendSnapshot(dest); // the blackout: the last sync and send
          expect(sameImage(m.version, dest)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts bits', () => {
    expect(popcount32(0)).toBe(0);
    expect(popcount32(0xffffffff | 0)).toBe(32);
    expect(popcount32(0b1011)).toBe(3);
  });
});
