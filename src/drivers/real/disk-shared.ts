// State shared between the real driver (main thread) and the disk writer worker: the storage mirror's
// copied / in-flight regions as the migration core sees them, the writer's run state, its counters, and
// one slot per IO the writer has in progress on the source only. Every field is read and written with
// Atomics (sequentially consistent), which the copy-vs-write handshake relies on:
//
//   writer: slot := region + 1; route := route(region); if route = source: pwrite(source); slot := 0
//   copier: inflightEnd := end; wait until no slot holds a region in [start, end); read the segment
//
// Either the writer sees the segment in flight (and holds the write until it lands, then mirrors it), or
// the copier sees the slot and waits until the source write is done, so the copy reads it. A write can
// never fall between the two.

import type { WriteRoute } from '../../migration/storage.js';

export const W = {
  /** 0 run, 1 pause requested, 2 paused (in-flight IO drained), 3 stop requested, 4 stopped. */
  state: 0,
  /** Mirror state: MIRROR_* below. */
  mirror: 1,
  /** Regions [0, copied) are on the destination. */
  copied: 2,
  /** Regions [copied, inflightEnd) are being copied. */
  inflightEnd: 3,
  /** Guest writes completed (on the source, and on the destination when mirrored). */
  writes: 4,
  /** Of those, mirrored to the destination. */
  mirrored: 5,
  /** Writes that waited for their segment's copy. */
  held: 6,
  /** Mirrored writes whose destination copy failed (the migration was failing or rolled back). */
  mirrorFailed: 7,
  slots: 8,
} as const;

export const QUEUE_DEPTH = 16;
export const SHARED_INTS = W.slots + QUEUE_DEPTH;

export const RUN = 0;
export const PAUSE_REQUESTED = 1;
export const PAUSED = 2;
export const STOP_REQUESTED = 3;
export const STOPPED = 4;

/** Source only (no copy running: before it, or after a rollback). */
export const MIRROR_OFF = 0;
export const MIRROR_COPYING = 1;
/** The copy is complete: every write goes to both sides. */
export const MIRROR_ALL = 2;
/** The VM uses the destination's copy; the source image is obsolete. */
export const MIRROR_SWITCHED = 3;

/** Where a write to `region` goes, from the shared state (the StorageMirror's rule). */
export function routeOf(s: Int32Array, region: number): WriteRoute {
  switch (Atomics.load(s, W.mirror)) {
    case MIRROR_COPYING:
      if (region < Atomics.load(s, W.copied)) return 'mirror';
      if (region < Atomics.load(s, W.inflightEnd)) return 'hold';
      return 'source';
    case MIRROR_ALL:
      return 'mirror';
    case MIRROR_SWITCHED:
      return 'destination';
    default:
      return 'source';
  }
}

export interface DiskWorkerData {
  path: string;
  spec: import('../../guest/real/disk.js').DiskSpec;
  shared: SharedArrayBuffer;
  /** Float64: mirrored bytes (written by the worker only). */
  bytes: SharedArrayBuffer;
}

/** Worker -> main: mirror this write; main -> worker: done (ok: the destination holds it). */
export type ToMain = { type: 'started'; tid: number | null } | { type: 'mirror'; id: number; offset: number; data: ArrayBuffer } | { type: 'error'; message: string };
export type ToWorker = { type: 'mirrored'; id: number; ok: boolean };
