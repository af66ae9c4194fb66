// A real guest's RAM for the real engine: SharedArrayBuffers (in segments of at most 1 GiB, since one
// typed array holds at most 4 GiB on Node 20), a shared dirty bitmap the guest marks with Atomics after
// each write (as a hypervisor's dirty log), and a control block for pause, throttle and counters. The
// same object is rebuilt inside the guest's worker thread from `describe()`.

import { createHash } from 'node:crypto';
import { StateError } from '../../errors.js';
import { Rng } from '../../random/index.js';
import { popcount32 } from '../memory.js';
import { PAGE_SIZE } from '../../units/index.js';

export const SEGMENT_BYTES = 2 ** 30;
const ZERO_PAGES = Buffer.alloc(32 * PAGE_SIZE);
const PAGES_PER_SEGMENT = SEGMENT_BYTES / PAGE_SIZE;

/** Control block slots (Int32). */
export const CTL = {
  /** 0 run, 1 pause requested, 2 paused (acknowledged by the guest), 3 stop requested, 4 stopped. */
  state: 0,
  /** Throttle in percent (0..99): the share of the write rate taken away. */
  throttle: 1,
  /** Writes done (low 31 bits, wraps; for liveness and tests). */
  writes: 2,
  /** 1 once the guest has started writing. */
  started: 3,
  /** The guest thread's own CPU in milliseconds, written as it stops (-1: unknown); its thread ends after. */
  cpuMsAtStop: 4,
  size: 8,
} as const;

export const RUN = 0;
export const PAUSE_REQUESTED = 1;
export const PAUSED = 2;
export const STOP_REQUESTED = 3;
export const STOPPED = 4;

export interface RamDescriptor {
  bytes: number;
  segments: SharedArrayBuffer[];
  bitmap: SharedArrayBuffer;
  control: SharedArrayBuffer;
}

export class GuestRam {
  readonly pages: number;
  readonly bytes: number;
  readonly segments: SharedArrayBuffer[];
  private readonly views: Uint8Array[];
  private readonly words: Uint32Array[];
  /** One bit per page, set by the guest after it writes the page. */
  readonly bitmap: Int32Array;
  readonly control: Int32Array;

  private constructor(d: RamDescriptor) {
    if (d.bytes % PAGE_SIZE !== 0) throw new StateError('guest RAM must be a whole number of pages');
    this.bytes = d.bytes;
    this.pages = d.bytes / PAGE_SIZE;
    this.segments = d.segments;
    this.views = d.segments.map((s) => new Uint8Array(s));
    this.words = d.segments.map((s) => new Uint32Array(s));
    this.bitmap = new Int32Array(d.bitmap);
    this.control = new Int32Array(d.control);
  }

  /**
   * Allocate RAM of `bytes` and fill it: a share `zeroFraction` of the 2 MiB blocks stays zero, every other
   * page gets a page-specific non-zero pattern (seeded), so hashes differ when any page differs.
   */
  static create(bytes: number, zeroFraction: number, seed: number): GuestRam {
    const segments: SharedArrayBuffer[] = [];
    for (let left = bytes; left > 0; left -= SEGMENT_BYTES) segments.push(new SharedArrayBuffer(Math.min(SEGMENT_BYTES, left)));
    const pages = bytes / PAGE_SIZE;
    const ram = new GuestRam({
      bytes,
      segments,
      bitmap: new SharedArrayBuffer(Math.ceil(pages / 32) * 4),
      control: new SharedArrayBuffer(CTL.size * 4),
    });
    const rng = Rng.stream(seed, 'real-ram');
    const blockPages = 512;
    const blocks = Math.ceil(pages / blockPages);
    let needed = Math.round(zeroFraction * blocks);
    for (let b = 0; b < blocks; b++) {
      const zero = needed > 0 && rng.next() * (blocks - b) < needed;
      if (zero) {
        needed--;
        // Touch it anyway: a running VM's memory is resident. Untouched, every first read of a zero page
        // during round 0 would fault (measured: 180 ms instead of 61 ms to scan 512 MiB, 90% zero).
        const first = b * blockPages;
        const n = Math.min(pages, first + blockPages) - first;
        const seg = ram.views[Math.floor(first / PAGES_PER_SEGMENT)]!;
        seg.fill(0, (first % PAGES_PER_SEGMENT) * PAGE_SIZE, ((first % PAGES_PER_SEGMENT) + n) * PAGE_SIZE);
        continue;
      }
      for (let p = b * blockPages; p < Math.min(pages, (b + 1) * blockPages); p++) {
        const words = new Uint32Array(ram.views[Math.floor(p / PAGES_PER_SEGMENT)]!.buffer, (p % PAGES_PER_SEGMENT) * PAGE_SIZE, PAGE_SIZE / 4);
        words.fill((rng.nextU32() | 1) >>> 0);
        words[0] = p + 1;
      }
    }
    return ram;
  }

  static attach(d: RamDescriptor): GuestRam {
    return new GuestRam(d);
  }

  describe(): RamDescriptor {
    return { bytes: this.bytes, segments: this.segments, bitmap: this.bitmap.buffer as SharedArrayBuffer, control: this.control.buffer as SharedArrayBuffer };
  }

  /** A view of page `p` (4 KiB) in shared memory. */
  page(p: number): Uint8Array {
    const seg = this.views[Math.floor(p / PAGES_PER_SEGMENT)]!;
    const off = (p % PAGES_PER_SEGMENT) * PAGE_SIZE;
    return seg.subarray(off, off + PAGE_SIZE);
  }

  /** Copy `count` pages from `first` (within one segment) into `out` at `at`. */
  copyPages(first: number, count: number, out: Uint8Array, at = 0): void {
    const seg = this.views[Math.floor(first / PAGES_PER_SEGMENT)]!;
    const off = (first % PAGES_PER_SEGMENT) * PAGE_SIZE;
    if ((first % PAGES_PER_SEGMENT) + count > PAGES_PER_SEGMENT) throw new StateError('a page run may not cross a RAM segment');
    out.set(seg.subarray(off, off + count * PAGE_SIZE), at);
  }

  /** Pages per RAM segment (runs of pages handed to the transport never cross one). */
  static get pagesPerSegment(): number {
    return PAGES_PER_SEGMENT;
  }

  isZeroPage(p: number): boolean {
    const seg = Math.floor(p / PAGES_PER_SEGMENT);
    const base = (p % PAGES_PER_SEGMENT) * (PAGE_SIZE / 4);
    const w = this.words[seg]!;
    // Most non-zero pages differ from zero in their first word; check a few before the full compare.
    if (w[base] !== 0 || w[base + 1023] !== 0 || w[base + 511] !== 0) return false;
    const off = (p % PAGES_PER_SEGMENT) * PAGE_SIZE;
    return ZERO_PAGES.subarray(0, PAGE_SIZE).equals(this.views[seg]!.subarray(off, off + PAGE_SIZE));
  }

  /** Whether pages [first, first + count) are all zero; they must lie in one segment, count <= 32. */
  isZeroRange(first: number, count: number): boolean {
    const seg = Math.floor(first / PAGES_PER_SEGMENT);
    const off = (first % PAGES_PER_SEGMENT) * PAGE_SIZE;
    if (this.words[seg]![off / 4] !== 0) return false;
    return ZERO_PAGES.subarray(0, count * PAGE_SIZE).equals(this.views[seg]!.subarray(off, off + count * PAGE_SIZE));
  }

  /** The guest's side of dirty logging: the page was written. */
  markDirty(p: number): void {
    Atomics.or(this.bitmap, p >>> 5, 1 << (p & 31));
  }

  /** Mark every page dirty (starting the dirty log: round 0 sends everything). */
  markAllDirty(): void {
    for (let w = 0; w < this.bitmap.length; w++) Atomics.store(this.bitmap, w, -1);
    const r = this.pages & 31;
    if (r !== 0) Atomics.store(this.bitmap, this.bitmap.length - 1, (1 << r) - 1);
  }

  /**
   * Take the dirty log and clear it, word by word with Atomics.exchange (KVM_GET_DIRTY_LOG with clear):
   * a write racing the sync either lands in this snapshot or in the next one, never in neither.
   */
  syncDirty(into: Uint32Array): number {
    let n = 0;
    for (let w = 0; w < this.bitmap.length; w++) {
      const m = Atomics.exchange(this.bitmap, w, 0);
      into[w] = into[w]! | m;
      if (m !== 0) n += popcount32(m);
    }
    return n;
  }

  /** SHA-256 (hex) of bytes [at, at + length), which must lie in one segment (used to locate differences). */
  hashRange(at: number, length: number): string {
    const seg = this.views[Math.floor(at / SEGMENT_BYTES)]!;
    const off = at % SEGMENT_BYTES;
    if (off + length > seg.length) throw new StateError('a hashed range may not cross a RAM segment');
    return createHash('sha256').update(seg.subarray(off, off + length)).digest('hex');
  }

  /** SHA-256 of the whole RAM (hex). */
  sha256(): string {
    const h = createHash('sha256');
    for (const v of this.views) for (let o = 0; o < v.length; o += 64 * 2 ** 20) h.update(v.subarray(o, Math.min(v.length, o + 64 * 2 ** 20)));
    return h.digest('hex');
  }
}
