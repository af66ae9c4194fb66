// The storage side of the virtual-time driver: how fast the disks let the live storage copy go, and what
// the guest writes meanwhile. Devices are shared by time (an IO of s bytes keeps a device busy 1/iops +
// s/rate seconds); the copy always keeps at least `copyMinShare` of each device; when the guest's IO
// would leave it less, the guest's IO slows down instead -- mirrored writes complete only when both sides
// have them, so a slow destination slows the guest, it never loses a write. The network (the copy and the
// mirrored writes sharing the links) is the flow network's part (transfers.ts, guest-io.ts).

import type { DiskImage } from '../../guest/disk.js';
import type { StorageIo } from '../../guest/workload.js';
import type { WriteRoute } from '../../migration/storage.js';
import type { Rng } from '../../random/index.js';
import { ioCost, streamRate, type StorageEndpoint } from '../../storage/endpoints.js';
import { CHUNK_SIZE } from '../../transport/defaults.js';

/** Bytes per copy IO: QEMU's mirror copies 1 MiB per request (block/mirror.c), the transport's chunk. */
export const COPY_CHUNK = CHUNK_SIZE;

export interface SegmentTiming {
  /** Bytes per second the disks let the copy run at. */
  rate: number;
  /** Guest IO speed during the segment, relative to its demand (1: unimpeded), as the disks allow. */
  scale: number;
  /** Bytes per second of mirrored writes at that speed (what the network must carry besides the copy). */
  mirrorRate: number;
}

export interface WriteCounts {
  mirroredWrites: number;
  mirroredBytes: number;
  heldWrites: number;
  writes: number;
}

export class StorageSim {
  readonly counts: WriteCounts = { mirroredWrites: 0, mirroredBytes: 0, heldWrites: 0, writes: 0 };
  /** Guest IO speed before the migration: a guest cannot do more IO than its source device serves. */
  readonly baseScale: number;
  private held: number[] = [];

  constructor(
    readonly disk: DiskImage | null,
    readonly io: StorageIo,
    readonly source: StorageEndpoint,
    readonly dest: StorageEndpoint | null,
    readonly rng: Rng,
    readonly copyMinShare: number,
  ) {
    const u = (io.writeIops + io.readIops) * ioCost(source, io.ioSize);
    this.baseScale = u > 1 ? 1 / u : 1;
  }

  /** Guest write bytes per second at a given speed. */
  writeRate(scale: number): number {
    return this.io.writeIops * scale * this.io.ioSize;
  }

  /** All guest IO bytes per second (reads and writes) at a given speed. */
  ioRate(scale: number): number {
    return (this.io.writeIops + this.io.readIops) * scale * this.io.ioSize;
  }

  /**
   * The disks' part of one copy segment starting at region `pointer` (regions below it are copied and
   * mirrored) to the device `dst`.
   */
  segment(pointer: number, dst: StorageEndpoint = this.dest!): SegmentTiming {
    const share = this.copyMinShare;
    const w = this.io.writeIops * this.baseScale;
    const r = this.io.readIops * this.baseScale;
    const mirrored = this.disk ? this.disk.shareBelow(pointer) : 0;
    const uSrc = (w + r) * ioCost(this.source, this.io.ioSize);
    const uDst = w * mirrored * ioCost(dst, this.io.ioSize);
    const mBytes = w * mirrored * this.io.ioSize;
    let k = 1;
    if (uSrc > 1 - share) k = Math.min(k, (1 - share) / uSrc);
    if (uDst > 1 - share) k = Math.min(k, (1 - share) / uDst);
    const rSrc = Math.max(share, 1 - k * uSrc) * streamRate(this.source, COPY_CHUNK);
    const rDst = Math.max(share, 1 - k * uDst) * streamRate(dst, COPY_CHUNK);
    return { rate: Math.min(rSrc, rDst), scale: k * this.baseScale, mirrorRate: k * mBytes };
  }

  /** Guest speed while every write is mirrored (the memory migration of a shared-nothing move), as the destination's device allows. */
  mirroredScale(): number {
    const w = this.io.writeIops * this.baseScale;
    const uDst = w * ioCost(this.dest!, this.io.ioSize);
    return (uDst > 1 ? 1 / uDst : 1) * this.baseScale;
  }

  /**
   * The guest's writes during `dt` seconds at speed `scale`, each routed by the mirror. Writes into the
   * segment in flight wait for it (`hold`) and are mirrored when it lands (`releaseHeld`).
   */
  write(dt: number, scale: number, route: (region: number) => WriteRoute): void {
    if (dt <= 0 || this.io.writeIops <= 0) return;
    const n = this.rng.poisson(this.io.writeIops * scale * dt);
    const disk = this.disk;
    const c = this.counts;
    c.writes += n;
    if (!disk || disk.writableRegions === 0) return; // nothing allocated to write into
    for (let i = 0; i < n; i++) {
      const region = disk.sampleRegion(this.rng);
      switch (route(region)) {
        case 'mirror':
          disk.writeBoth(region);
          c.mirroredWrites++;
          c.mirroredBytes += this.io.ioSize;
          break;
        case 'hold':
          this.held.push(region);
          c.heldWrites++;
          break;
        case 'source':
          disk.writeSource(region);
          break;
        case 'destination':
          break;
      }
    }
  }

  /** Writes while every write is mirrored (both sides gain the write): only counted. */
  writeMirrored(dt: number, scale: number): void {
    if (dt <= 0 || this.io.writeIops <= 0) return;
    const n = this.rng.poisson(this.io.writeIops * scale * dt);
    this.counts.writes += n;
    this.counts.mirroredWrites += n;
    this.counts.mirroredBytes += n * this.io.ioSize;
  }

  /** The segment in flight landed: held writes go to both sides. */
  releaseHeld(): void {
    for (const region of this.held) {
      this.disk!.writeBoth(region);
      this.counts.mirroredWrites++;
      this.counts.mirroredBytes += this.io.ioSize;
    }
    this.held = [];
  }

  /** A rollback: writes held for the abandoned segment complete on the source only. */
  dropHeld(): void {
    for (const region of this.held) this.disk?.writeSource(region);
    this.held = [];
  }
}
