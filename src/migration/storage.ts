// Live storage migration with IO mirroring, sans-I/O: a single pass copies the VM's files region by
// region, in address order, one segment (a window of regions in flight) at a time. Meanwhile:
//   - a guest write to a region already copied is mirrored: applied to source and destination;
//   - a write to a region not yet copied goes to the source only; the copy picks it up later;
//   - a write to a region of the segment being copied is held until that segment's copy completes,
//     then mirrored (QEMU's mirror job rule, block/mirror.c: an overlapping request waits for the
//     in-flight copy; Microsoft documents no rule for Hyper-V).
// Because every region is copied once and every later write is mirrored, the copy always converges,
// however fast the guest writes: a slow destination stretches it, it never loops.

import { StateError } from '../errors.js';

export type WriteRoute = 'mirror' | 'source' | 'hold' | 'destination';
export type MirrorState = 'idle' | 'copying' | 'mirroring' | 'switched' | 'stopped';

export class StorageMirror {
  private state: MirrorState = 'idle';
  /** Regions [0, copied) are on the destination. */
  private copied = 0;
  private inflightEnd = 0;

  /**
   * @param regions regions to copy
   * @param segmentRegions regions per segment (the window in flight)
   * @param boundaries region indexes where files start: a segment never spans two files
   */
  constructor(
    readonly regions: number,
    readonly segmentRegions: number,
    readonly boundaries: readonly number[] = [],
  ) {
    if (!(segmentRegions >= 1)) throw new StateError('a segment holds at least one region');
  }

  get status(): MirrorState {
    return this.state;
  }

  get copiedRegions(): number {
    return this.copied;
  }

  /** Start mirroring and copying. */
  start(): void {
    if (this.state !== 'idle') throw new StateError(`storage mirror cannot start from '${this.state}'`);
    this.state = this.regions === 0 ? 'mirroring' : 'copying';
  }

  /** The next segment to copy, [start, end), or null when everything is copied (or in flight). */
  nextSegment(): { start: number; end: number } | null {
    if (this.state !== 'copying' || this.inflightEnd > this.copied) return null;
    if (this.copied >= this.regions) return null;
    let end = Math.min(this.regions, this.copied + this.segmentRegions);
    for (const b of this.boundaries) if (b > this.copied && b < end) end = b;
    this.inflightEnd = end;
    return { start: this.copied, end: this.inflightEnd };
  }

  /** The in-flight segment reached the destination. Returns true when the whole copy is done. */
  segmentDone(): boolean {
    if (this.state !== 'copying' || this.inflightEnd <= this.copied) throw new StateError('no segment in flight');
    this.copied = this.inflightEnd;
    if (this.copied >= this.regions) this.state = 'mirroring';
    return this.state === 'mirroring';
  }

  /** Where a guest write to `region` goes now. */
  route(region: number): WriteRoute {
    switch (this.state) {
      case 'idle':
      case 'stopped':
        return 'source';
      case 'switched':
        return 'destination';
      case 'mirroring':
        return 'mirror';
      case 'copying':
        if (region < this.copied) return 'mirror';
        if (region < this.inflightEnd) return 'hold';
        return 'source';
    }
  }

  /** The VM now uses the destination's files: the mirror is broken, the source files are obsolete. */
  switchToDestination(): void {
    if (this.state !== 'mirroring') throw new StateError(`cannot switch storage before the copy completes (state '${this.state}')`);
    this.state = 'switched';
  }

  /** Roll back: stop mirroring and copying; the source files stay the VM's only files. */
  stop(): void {
    if (this.state === 'switched') throw new StateError('cannot roll back storage after the switch');
    this.state = 'stopped';
    this.inflightEnd = this.copied;
  }
}
