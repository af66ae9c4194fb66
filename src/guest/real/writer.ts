// The real guest's write sequence, shared by the guest worker (which applies it to shared memory) and by
// the replay check (which applies the first N writes to a fresh copy of the initial RAM): the k-th write
// depends only on the seed and the workload's regions, never on timing, so after a rollback the guest's
// RAM must equal its initial image with exactly the writes it counted applied, byte for byte.

import { Rng } from '../../random/index.js';
import { PAGE_SIZE } from '../../units/index.js';
import { GuestRam } from './ram.js';

export interface WriterRegion {
  start: number;
  count: number;
  /** Page writes per second into this region. */
  rate: number;
}

const WORDS_PER_PAGE = PAGE_SIZE / 4;

export class GuestWriter {
  private readonly rng: Rng;
  private readonly cumulative: number[];
  private counter = 1;
  /** The last write: page, 32-bit word within the page, value written (never 0). */
  page = 0;
  word = 0;
  value = 0;

  constructor(
    readonly regions: readonly WriterRegion[],
    seed: number,
  ) {
    this.rng = Rng.stream(seed, 'real-guest');
    const total = regions.reduce((s, r) => s + r.rate, 0);
    let acc = 0;
    this.cumulative = regions.map((r) => (acc += r.rate) / (total || 1));
  }

  /** Total page writes per second over all regions. */
  get rate(): number {
    return this.regions.reduce((s, r) => s + r.rate, 0);
  }

  /** Draw the next write (sets page, word, value). */
  next(): void {
    const u = this.rng.next();
    let i = 0;
    while (i < this.cumulative.length - 1 && u >= this.cumulative[i]!) i++;
    const r = this.regions[i]!;
    this.page = r.start + this.rng.int(r.count);
    this.word = this.rng.int(WORDS_PER_PAGE);
    this.counter = (this.counter + 1) >>> 0 || 1;
    this.value = this.counter;
  }
}

/** Apply the first `writes` writes of the sequence to `ram` (no dirty marking: this is a reference image). */
export function applyWrites(ram: GuestRam, regions: readonly WriterRegion[], seed: number, writes: number): void {
  const w = new GuestWriter(regions, seed);
  const words = ram.segments.map((s) => new Uint32Array(s));
  const per = GuestRam.pagesPerSegment;
  for (let k = 0; k < writes; k++) {
    w.next();
    words[Math.floor(w.page / per)]![(w.page % per) * WORDS_PER_PAGE + w.word] = w.value;
  }
}

/** SHA-256 of the RAM a guest must hold after `writes` writes: its initial image with those writes applied. */
export function expectedRamSha256(o: { bytes: number; zeroFraction: number; seed: number; regions: readonly WriterRegion[]; writes: number }): string {
  const ram = GuestRam.create(o.bytes, o.zeroFraction, o.seed);
  applyWrites(ram, o.regions, o.seed, o.writes);
  return ram.sha256();
}
