// A VM's files as the simulator sees them during a live storage migration: one address space of 1 MiB
// regions (the files one after another, each rounded up to whole regions), a version per region on the
// source and on the destination, and the guest's writes. A write bumps the version of the region it
// lands in on every side it is applied to; a copied region takes the source's version. At the switch,
// destination and source versions must match: any difference is a lost write (`writes_lost`).

import { StateError } from '../errors.js';
import type { Rng } from '../random/index.js';
import { copyBytes, type VmSpec } from './files.js';
import type { StorageIo } from './workload.js';

/** Region (copy and version unit) size: QEMU's mirror copies in 1 MiB chunks. */
export const REGION_BYTES = 2 ** 20;

export interface FileExtent {
  name: string;
  kind: string;
  /** First region and number of regions of the file in the address space. */
  start: number;
  regions: number;
  /** Bytes to copy (allocated bytes of a dynamic disk). */
  bytes: number;
  destination?: string;
}

export class DiskImage {
  readonly files: FileExtent[];
  readonly regions: number;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  /** Regions the guest writes to (the disks, not the configuration file), as [start, count] runs. */
  private readonly writable: { start: number; count: number }[];
  private readonly writableTotal: number;
  private readonly hotStart: number;
  private readonly hotCount: number;
  private readonly hotShare: number;

  constructor(spec: VmSpec, io: StorageIo, rng: Rng) {
    let at = 0;
    this.files = spec.files.map((f) => {
      const bytes = copyBytes(f);
      const regions = Math.ceil(bytes / REGION_BYTES);
      const e: FileExtent = { name: f.name, kind: f.kind, start: at, regions, bytes, ...(f.destination ? { destination: f.destination } : {}) };
      at += regions;
      return e;
    });
    this.regions = at;
    this.src = new Uint32Array(at).fill(1); // the existing content: one version per region
    this.dst = new Uint32Array(at); // nothing on the destination yet
    this.writable = this.files.filter((f) => f.kind !== 'config' && f.regions > 0).map((f) => ({ start: f.start, count: f.regions }));
    this.writableTotal = this.writable.reduce((s, w) => s + w.count, 0);
    // The hot part is one run of the writable space at a random offset (its own stream).
    this.hotCount = io.hotFraction > 0 ? Math.max(1, Math.round(io.hotFraction * this.writableTotal)) : 0;
    this.hotStart = this.hotCount > 0 ? rng.int(this.writableTotal - this.hotCount + 1) : 0;
    this.hotShare = this.hotCount > 0 ? io.hotShare : 0;
  }

  get writableRegions(): number {
    return this.writableTotal;
  }

  /** Pick the region of one guest IO, following the locality. */
  sampleRegion(rng: Rng): number {
    if (this.writableTotal === 0) throw new StateError('the VM has no disk to write to');
    const k = this.hotCount > 0 && rng.next() < this.hotShare ? this.hotStart + rng.int(this.hotCount) : rng.int(this.writableTotal);
    return this.toRegion(k);
  }

  /** Share of guest IOs that land in regions below `region` (the copied part of the address space). */
  shareBelow(region: number): number {
    if (this.writableTotal === 0) return 0;
    const k = this.fromRegion(region);
    const uniform = k / this.writableTotal;
    if (this.hotCount === 0) return uniform;
    const hot = Math.min(Math.max(k - this.hotStart, 0), this.hotCount) / this.hotCount;
    return this.hotShare * hot + (1 - this.hotShare) * uniform;
  }

  /** Writable-space index -> region index. */
  private toRegion(k: number): number {
    for (const w of this.writable) {
      if (k < w.count) return w.start + k;
      k -= w.count;
    }
    throw new StateError('region index out of range');
  }

  /** Number of writable regions below `region`. */
  private fromRegion(region: number): number {
    let k = 0;
    for (const w of this.writable) {
      if (region <= w.start) break;
      k += Math.min(region, w.start + w.count) - w.start;
    }
    return k;
  }

  /** Region indexes where files start (after the first). */
  get boundaries(): number[] {
    return this.files.slice(1).map((f) => f.start);
  }

  /** The file that holds `region`. */
  fileAt(region: number): FileExtent {
    for (const f of this.files) if (region < f.start + f.regions) return f;
    throw new StateError(`region ${region} lies past the last file`);
  }

  /** Bytes of file data in regions [from, to) (the last region of a file may be partial). */
  bytesIn(from: number, to: number): number {
    let n = 0;
    for (const f of this.files) {
      const a = Math.max(from, f.start);
      const b = Math.min(to, f.start + f.regions);
      if (b <= a) continue;
      n += (b - a) * REGION_BYTES;
      if (b === f.start + f.regions) n -= f.regions * REGION_BYTES - f.bytes; // the file's tail
    }
    return n;
  }

  /** Copy regions [from, to) to the destination. */
  copy(from: number, to: number): void {
    this.dst.set(this.src.subarray(from, to), from);
  }

  writeSource(region: number): void {
    this.src[region]++;
  }

  writeBoth(region: number): void {
    this.src[region]++;
    this.dst[region]++;
  }

  /** Versions the destination lacks (0 when it holds every write). */
  missingOnDestination(): number {
    let n = 0;
    for (let r = 0; r < this.regions; r++) {
      const d = this.src[r]! - this.dst[r]!;
      if (d > 0) n += d;
    }
    return n;
  }
}
