// Guest memory at page granularity (4 KiB pages) for the simulator.
//
// - `version[p]` counts the write intervals in which page p was written (one byte, modulo 256). The
//   destination keeps its own copy of the versions it received, so a test can prove that the destination
//   image equals the source image at resume without trusting the dirty bitmap. A correct engine leaves
//   the destination at most one version behind before the blackout; a stale copy could hide only if it
//   were exactly 256 write intervals (rounds) behind.
// - `nonZero` is a bitmap of pages with content. Zero pages cross as a small marker. A written page is
//   non-zero from then on.
// - `dirty` is the dirty log. `sync()` works like KVM_GET_DIRTY_LOG with clear: it moves the log into the
//   pending set that the round will send and starts a fresh log, so a page written during a round is
//   sent again in the next round whether or not this round had sent it yet.
//
// Writes are applied per interval: in an interval, a uniform region of n pages written at λ pages/s has
// each page dirtied independently with probability p = 1 - exp(-λ·dt/n) (a Poisson write process per
// page). Sparse intervals use geometric skipping, dense ones build 32-page Bernoulli masks, so the cost
// is proportional to the pages dirtied (sparse) or to n/32 words (dense), never to the number of writes.

import { StateError } from '../errors.js';
import type { Rng } from '../random/index.js';

/** Pages per zero-page block: free memory is laid out in 2 MiB runs (512 pages), like huge pages. */
export const ZERO_BLOCK_PAGES = 512;
const DENSE_THRESHOLD = 1 / 32;

export interface SyncCounts {
  /** Pages in the snapshot (to send this round). */
  pages: number;
  /** Of those, pages that are zero (sent as markers). */
  zeroPages: number;
  /** Maximal runs of consecutive pages among them (scattered dirty pages: about one run per page); 0 unless asked for. */
  runs: number;
}

export class GuestMemory {
  readonly pages: number;
  readonly words: number;
  readonly version: Uint8Array;
  private readonly nonZero: Uint32Array;
  private dirty: Uint32Array;
  private snapshot: Uint32Array;
  private logging = false;
  /** True once every bit of the snapshot is set (round 0): sends take the memcpy fast path. */
  private snapshotAll = false;
  // Word ranges [lo, hi) outside which the dirty log and the pending set are known to be empty, so a
  // sync or a send scans only the words a workload can have touched.
  private dirtyLo = 0;
  private dirtyHi = 0;
  private snapLo = 0;
  private snapHi = 0;

  /**
   * @param pages number of 4 KiB pages
   * @param zeroFraction fraction of pages that start zero, laid out in random 2 MiB blocks
   */
  constructor(pages: number, zeroFraction: number, rng: Rng) {
    if (!Number.isInteger(pages) || pages <= 0) throw new StateError(`memory must have a positive whole number of pages, got ${pages}`);
    if (!(zeroFraction >= 0 && zeroFraction <= 1)) throw new StateError(`zero fraction must lie in [0, 1], got ${zeroFraction}`);
    this.pages = pages;
    this.words = Math.ceil(pages / 32);
    this.version = takeBytes(pages);
    this.nonZero = takeWords(this.words);
    this.dirty = takeWords(this.words);
    this.snapshot = takeWords(this.words);
    this.dirty.fill(0);
    this.snapshot.fill(0);
    this.version.fill(1);
    this.nonZero.fill(0xffffffff);
    this.clearTail(this.nonZero);
    // Choose round(z x blocks) zero blocks uniformly, in address order (Knuth's selection sampling), and
    // clear each run of consecutive zero blocks with one fill.
    const blocks = Math.ceil(pages / ZERO_BLOCK_PAGES);
    let needed = Math.round(zeroFraction * blocks);
    let runStart = -1;
    for (let b = 0; b <= blocks; b++) {
      const zero = b < blocks && needed > 0 && rng.next() * (blocks - b) < needed;
      if (zero) needed--;
      if (zero && runStart < 0) runStart = b;
      if (!zero && runStart >= 0) {
        const start = runStart * ZERO_BLOCK_PAGES;
        const end = Math.min(pages, b * ZERO_BLOCK_PAGES);
        this.version.fill(0, start, end);
        this.clearBits(this.nonZero, start, end);
        runStart = -1;
      }
    }
  }

  /** Return the big arrays to the per-process pool; the memory must not be used afterwards. */
  release(): void {
    giveBack(this.version);
    giveBack(this.nonZero);
    giveBack(this.dirty);
    giveBack(this.snapshot);
  }

  /** Number of zero pages now. */
  zeroPageCount(): number {
    return this.pages - popcountRange(this.nonZero, 0, this.words);
  }

  isZero(page: number): boolean {
    return ((this.nonZero[page >>> 5]! >>> (page & 31)) & 1) === 0;
  }

  isDirty(page: number): boolean {
    return ((this.dirty[page >>> 5]! >>> (page & 31)) & 1) === 1;
  }

  /** Start dirty logging: every page is dirty, so the first sync yields the whole memory (round 0). */
  startLogging(): void {
    this.logging = true;
    this.dirty.fill(0xffffffff);
    this.clearTail(this.dirty);
    this.dirtyLo = 0;
    this.dirtyHi = this.words;
  }

  stopLogging(): void {
    this.logging = false;
    this.dirty.fill(0, this.dirtyLo, this.dirtyHi);
    this.dirtyLo = this.dirtyHi = 0;
  }

  /**
   * Move the dirty log into the pending set and start a fresh log (KVM_GET_DIRTY_LOG with clear, ORed
   * into the migration bitmap as QEMU does). Returns the pending set: pages and zero pages among them.
   * @param countRuns also count the runs of consecutive pending pages (costs about half a sync more).
   */
  sync(countRuns = false): SyncCounts {
    if (!this.logging) throw new StateError('sync() before startLogging()');
    if (this.snapHi <= this.snapLo) return this.syncBySwap(countRuns);
    const s = this.snapshot;
    const d = this.dirty;
    // The pending set after the merge spans the union of both ranges.
    const lo = this.snapHi > this.snapLo ? Math.min(this.snapLo, this.dirtyLo) : this.dirtyLo;
    const hi = this.snapHi > this.snapLo ? Math.max(this.snapHi, this.dirtyHi) : this.dirtyHi;
    for (let w = lo; w < hi; w++) if (d[w]! !== 0) s[w] = s[w]! | d[w]!;
    d.fill(0, this.dirtyLo, this.dirtyHi);
    this.snapLo = lo;
    this.snapHi = hi;
    this.dirtyLo = this.dirtyHi = 0;
    return this.countPending(countRuns);
  }

  /**
   * Nothing pending (the last round sent everything): the dirty log becomes the pending set by swapping
   * the two bitmaps; the old pending set is all zero already (every send clears what it sent).
   */
  private syncBySwap(countRuns: boolean): SyncCounts {
    const d = this.dirty;
    this.dirty = this.snapshot;
    this.snapshot = d;
    this.snapLo = this.dirtyLo;
    this.snapHi = this.dirtyHi;
    this.dirtyLo = this.dirtyHi = 0;
    return this.countPending(countRuns);
  }

  /** Counts of the pending set (the snapshot, within [snapLo, snapHi)); notes whether it is every page. */
  private countPending(countRuns: boolean): SyncCounts {
    const s = this.snapshot;
    const nz = this.nonZero;
    let pages = 0;
    let nonZero = 0;
    let runs = 0;
    let prevW = -2;
    let prevTop = 0;
    for (let w = this.snapLo; w < this.snapHi; w++) {
      const m = s[w]!;
      if (m === 0) continue;
      pages += popcount32(m);
      nonZero += popcount32(m & nz[w]!);
      if (countRuns) {
        // A page starts a run when the page before it is not pending (bit 0 looks at the word before).
        runs += popcount32(m & ~((m << 1) | (prevW === w - 1 ? prevTop : 0)));
        prevW = w;
        prevTop = m >>> 31;
      }
    }
    this.snapshotAll = pages === this.pages;
    return { pages, zeroPages: pages - nonZero, runs };
  }

  /** Pages dirty in the current log (not yet synced). */
  dirtyCount(): number {
    return popcountRange(this.dirty, this.dirtyLo, this.dirtyHi);
  }

  /** Copy the versions of every pending page to the destination (the round's sends); clears the set. */
  sendSnapshot(dest: Uint8Array): void {
    if (dest.length !== this.pages) throw new StateError('destination memory has a different size');
    if (this.snapshotAll) {
      dest.set(this.version);
      this.snapshot.fill(0);
      this.snapshotAll = false;
      this.snapLo = this.snapHi = 0;
      return;
    }
    const s = this.snapshot;
    const v = this.version;
    for (let w = this.snapLo; w < this.snapHi; w++) {
      let m = s[w]!;
      if (m === 0) continue;
      const base = w << 5;
      if ((m | 0) === -1) {
        for (let i = 0; i < 32; i++) dest[base + i] = v[base + i]!;
        continue;
      }
      while (m !== 0) {
        const low = m & -m;
        const p = base + 31 - Math.clz32(low);
        dest[p] = v[p]!;
        m ^= low;
      }
    }
    s.fill(0, this.snapLo, this.snapHi);
    this.snapLo = this.snapHi = 0;
  }

  /**
   * Write to the region [start, start + count) for an interval: each page is dirtied with probability p
   * (independently). Returns the number of pages dirtied.
   */
  writeRegion(start: number, count: number, p: number, rng: Rng): number {
    if (count <= 0 || p <= 0) return 0;
    const end = Math.min(this.pages, start + count);
    if (start < 0 || start >= end) throw new StateError(`region [${start}, ${start + count}) lies outside memory`);
    this.widenDirty(start >>> 5, ((end - 1) >>> 5) + 1);
    if (p < DENSE_THRESHOLD) return this.writeSparse(start, end, p, rng);
    return this.writeDense(start, end, p, rng);
  }

  /** Write one page now (tests and the real guest's mirror). */
  writePage(page: number): void {
    if (page < 0 || page >= this.pages) throw new StateError(`page ${page} outside memory`);
    this.widenDirty(page >>> 5, (page >>> 5) + 1);
    this.markWord(page >>> 5, 1 << (page & 31));
  }

  private widenDirty(lo: number, hi: number): void {
    if (!this.logging) return;
    if (this.dirtyHi <= this.dirtyLo) {
      this.dirtyLo = lo;
      this.dirtyHi = hi;
    } else {
      if (lo < this.dirtyLo) this.dirtyLo = lo;
      if (hi > this.dirtyHi) this.dirtyHi = hi;
    }
  }

  private writeSparse(start: number, end: number, p: number, rng: Rng): number {
    const logq = Math.log1p(-p);
    let n = 0;
    let i = start - 1;
    for (;;) {
      i += 1 + Math.floor(Math.log(rng.nextOpen()) / logq);
      if (i >= end) break;
      this.markWord(i >>> 5, 1 << (i & 31));
      n++;
    }
    return n;
  }

  private writeDense(start: number, end: number, p: number, rng: Rng): number {
    let n = 0;
    const w0 = start >>> 5;
    const w1 = (end - 1) >>> 5;
    for (let w = w0; w <= w1; w++) {
      let m = rng.bernoulliMask32(p);
      if (w === w0) m &= ~0 << (start & 31);
      if (w === w1 && (end & 31) !== 0) m &= (1 << (end & 31)) - 1;
      if (m !== 0) n += this.markWord(w, m);
    }
    return n;
  }

  /** Mark the pages of mask m in word w written: version++, dirty, non-zero. Returns the page count. */
  private markWord(w: number, m: number): number {
    this.nonZero[w] = this.nonZero[w]! | m;
    if (this.logging) this.dirty[w] = this.dirty[w]! | m;
    const base = w << 5;
    const v = this.version;
    if ((m | 0) === -1) {
      for (let i = 0; i < 32; i++) v[base + i]++;
      return 32;
    }
    let n = 0;
    while (m !== 0) {
      const low = m & -m;
      v[base + 31 - Math.clz32(low)]++;
      m ^= low;
      n++;
    }
    return n;
  }

  private clearBits(bits: Uint32Array, start: number, end: number): void {
    let p = start;
    while (p < end && (p & 31) !== 0) {
      bits[p >>> 5] = bits[p >>> 5]! & ~(1 << (p & 31));
      p++;
    }
    const fullEnd = p + Math.floor((end - p) / 32) * 32;
    if (fullEnd > p) bits.fill(0, p >>> 5, fullEnd >>> 5);
    for (p = fullEnd; p < end; p++) bits[p >>> 5] = bits[p >>> 5]! & ~(1 << (p & 31));
  }

  private clearTail(bits: Uint32Array): void {
    const r = this.pages & 31;
    if (r !== 0) bits[this.words - 1] = bits[this.words - 1]! & ((1 << r) - 1);
  }
}

// A small per-process pool of the large arrays, so a sweep of simulations does not pay for fresh
// allocations (and their page faults) every run. Arrays above POOL_MAX_BYTES are never kept.
const POOL_MAX_BYTES = 64 * 2 ** 20;
const POOL_PER_SIZE = 4;
const pool = new Map<string, ArrayBufferView[]>();

function take<T extends Uint8Array | Uint32Array>(kind: string, length: number, make: (n: number) => T): T {
  const list = pool.get(`${kind}:${length}`);
  return (list?.pop() as T | undefined) ?? make(length);
}

/** A byte array of `length` (contents unspecified: callers initialize it). */
export function takeBytes(length: number): Uint8Array {
  return take('u8', length, (n) => new Uint8Array(n));
}

function takeWords(length: number): Uint32Array {
  return take('u32', length, (n) => new Uint32Array(n));
}

/** Return an array from takeBytes (or the memory's own) to the pool. */
export function giveBack(a: Uint8Array | Uint32Array): void {
  if (a.byteLength > POOL_MAX_BYTES) return;
  const key = `${a instanceof Uint8Array ? 'u8' : 'u32'}:${a.length}`;
  const list = pool.get(key) ?? [];
  if (list.length < POOL_PER_SIZE) list.push(a);
  pool.set(key, list);
}

export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function popcountRange(bits: Uint32Array, from: number, to: number): number {
  let n = 0;
  for (let w = from; w < to; w++) {
    const m = bits[w]!;
    if (m !== 0) n += popcount32(m);
  }
  return n;
}

/** True when two version arrays are equal (memcmp). */
export function sameImage(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
