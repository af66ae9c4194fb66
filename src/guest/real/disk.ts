// The real guest's disk: a sparse image file (ftruncate) whose allocated 1 MiB regions hold a seeded
// pattern, and the guest's deterministic storage write sequence (offset, length and content of the k-th
// write depend only on the seed and the workload's IO locality). As with memory (writer.ts), the image a
// guest must hold after N writes can be recomputed without a copy, so the disk left on the source after a
// rollback, and the destination's copy after a move, can be checked byte for byte.

import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { StateError } from '../../errors.js';
import { Rng } from '../../random/index.js';
import { REGION_BYTES } from '../disk.js';
import type { StorageIo } from '../workload.js';

export { REGION_BYTES };

export interface DiskSpec {
  /** Virtual size of the disk (the file's length), bytes. */
  bytes: number;
  /** Share of the 1 MiB regions that hold data; the rest are holes (read as zeros). */
  allocated: number;
  seed: number;
  io: StorageIo;
}

/** Regions of a disk (the last one may be partial). */
export const regionsOf = (bytes: number): number => Math.ceil(bytes / REGION_BYTES);

/**
 * Which regions hold data and their fill value (0 for a hole): the same seeded choice everywhere.
 * A non-zero value fills the region as 32-bit words, the first word replaced by the region number + 1.
 */
export function regionFills(spec: Pick<DiskSpec, 'bytes' | 'allocated' | 'seed'>): Uint32Array {
  const n = regionsOf(spec.bytes);
  const fills = new Uint32Array(n);
  const rng = Rng.stream(spec.seed, 'real-disk-layout');
  let needed = Math.round(spec.allocated * n);
  for (let r = 0; r < n; r++) {
    const take = needed > 0 && rng.next() * (n - r) < needed;
    const v = (rng.nextU32() | 1) >>> 0;
    if (take) {
      fills[r] = v;
      needed--;
    }
  }
  return fills;
}

/** Write region `r`'s initial content (for `fill` != 0) into `buf` (REGION_BYTES long). */
function initialRegion(buf: Buffer, r: number, fill: number): void {
  if (fill === 0) {
    buf.fill(0);
    return;
  }
  buf.fill(u32(fill));
  buf.writeUInt32LE(r + 1, 0);
}

const pattern = Buffer.alloc(4);
function u32(v: number): Buffer {
  pattern.writeUInt32LE(v >>> 0, 0);
  return pattern;
}

/** Create the image at `path` (which must not exist): sparse, its allocated regions written. */
export function createDiskImage(path: string, spec: DiskSpec): void {
  const fd = openSync(path, 'wx+', 0o600);
  try {
    ftruncateSync(fd, spec.bytes);
    const fills = regionFills(spec);
    const buf = Buffer.allocUnsafe(REGION_BYTES);
    for (let r = 0; r < fills.length; r++) {
      if (fills[r] === 0) continue;
      initialRegion(buf, r, fills[r]!);
      const len = Math.min(REGION_BYTES, spec.bytes - r * REGION_BYTES);
      writeAll(fd, buf.subarray(0, len), r * REGION_BYTES);
    }
  } finally {
    closeSync(fd);
  }
}

export function writeAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; ) {
    const n = writeSync(fd, data, done, data.length - done, position + done);
    if (n <= 0) throw new StateError(`short write at ${position + done}`);
    done += n;
  }
}

/** One guest storage write: `length` bytes at `offset`, every 32-bit word `value`. */
export interface DiskWrite {
  offset: number;
  length: number;
  value: number;
}

/**
 * The guest's storage writes, in order. IO locality follows the workload (a hot run of regions at a
 * seeded offset takes `hotShare` of the writes); offsets are aligned to the IO size within a region.
 */
export class DiskIoSequence {
  private readonly rng: Rng;
  private readonly regions: number;
  private readonly hotStart: number;
  private readonly hotCount: number;
  private readonly size: number;
  private k = 0;

  constructor(readonly spec: DiskSpec) {
    this.rng = Rng.stream(spec.seed, 'real-disk-io');
    this.regions = regionsOf(spec.bytes);
    this.size = Math.min(spec.io.ioSize, REGION_BYTES, spec.bytes);
    if (!(this.size > 0)) throw new StateError('disk IO size must be positive');
    const layout = Rng.stream(spec.seed, 'real-disk-hot');
    this.hotCount = spec.io.hotFraction > 0 ? Math.max(1, Math.round(spec.io.hotFraction * this.regions)) : 0;
    this.hotStart = this.hotCount > 0 ? layout.int(this.regions - this.hotCount + 1) : 0;
  }

  /** Bytes per write. */
  get ioSize(): number {
    return this.size;
  }

  next(): DiskWrite {
    this.k++;
    const hot = this.hotCount > 0 && this.rng.next() < this.spec.io.hotShare;
    const r = hot ? this.hotStart + this.rng.int(this.hotCount) : this.rng.int(this.regions);
    const regionLen = Math.min(REGION_BYTES, this.spec.bytes - r * REGION_BYTES);
    const slots = Math.max(1, Math.floor(regionLen / this.size));
    const offset = r * REGION_BYTES + this.rng.int(slots) * this.size;
    const length = Math.min(this.size, this.spec.bytes - offset);
    const value = (Math.imul(this.k, 0x9e3779b1) ^ this.rng.nextU32() ^ 0x5bd1e995 ^ this.k) >>> 0 || 1;
    return { offset, length, value };
  }
}

/** Fill the first `w.length` bytes of `buf` with a write's content. */
export function fillWrite(buf: Buffer, w: DiskWrite): void {
  buf.fill(u32(w.value), 0, w.length);
}

/**
 * SHA-256 (hex) of the disk a guest must hold after `writes` writes: the initial image with exactly those
 * writes applied, in order. Streams region by region (memory: the writes' positions, not the disk).
 */
export function expectedDiskSha256(spec: DiskSpec, writes: number): string {
  const seq = new DiskIoSequence(spec);
  const byRegion = new Map<number, DiskWrite[]>();
  for (let k = 0; k < writes; k++) {
    const w = seq.next();
    const r = Math.floor(w.offset / REGION_BYTES);
    let list = byRegion.get(r);
    if (!list) byRegion.set(r, (list = []));
    list.push(w);
  }
  const fills = regionFills(spec);
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(REGION_BYTES);
  const wbuf = Buffer.allocUnsafe(REGION_BYTES);
  for (let r = 0; r < fills.length; r++) {
    initialRegion(buf, r, fills[r]!);
    for (const w of byRegion.get(r) ?? []) {
      fillWrite(wbuf, w);
      wbuf.copy(buf, w.offset - r * REGION_BYTES, 0, w.length);
    }
    h.update(buf.subarray(0, Math.min(REGION_BYTES, spec.bytes - r * REGION_BYTES)));
  }
  return h.digest('hex');
}

/** SHA-256 (hex) of a file, and optionally of each of its 1 MiB regions. */
export function fileSha256(path: string, opts: { regions?: boolean } = {}): { sha256: string; regions: string[] } {
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const regions: string[] = [];
    const buf = Buffer.allocUnsafe(REGION_BYTES);
    for (let at = 0; ; ) {
      let n = 0;
      while (n < REGION_BYTES) {
        const got = readSync(fd, buf, n, REGION_BYTES - n, at + n);
        if (got <= 0) break;
        n += got;
      }
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      if (opts.regions) regions.push(createHash('sha256').update(buf.subarray(0, n)).digest('hex'));
      at += n;
      if (n < REGION_BYTES) break;
    }
    return { sha256: h.digest('hex'), regions };
  } finally {
    closeSync(fd);
  }
}
