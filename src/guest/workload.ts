// Guest workloads: how a running VM dirties its memory. A workload writes `dirtyRate` pages per second
// into a working set (a region of memory), uniformly or with a hot part that takes most of the writes.
// Presets are documented, with their reasoning and sources, in docs/workloads.md.

import { InputError } from '../errors.js';
import { PAGE_SIZE } from '../units/index.js';
import type { Rng } from '../random/index.js';
import type { GuestMemory } from './memory.js';

/** A size given either as a fraction of guest memory or in bytes. */
export type Extent = { fraction: number } | { bytes: number };

export interface WorkloadSpec {
  name: string;
  description: string;
  /** Page writes per second (each write dirties one 4 KiB page). */
  dirtyRate: number;
  /** The region the workload writes. */
  workingSet: Extent;
  /** Fraction of the working set that is hot (0: uniform writes). */
  hotFraction: number;
  /** Share of the writes that land in the hot part (ignored when hotFraction is 0). */
  hotShare: number;
  /** Fraction of guest memory that is zero when the migration starts. */
  zeroFraction: number;
  /**
   * Compressed size / original size of the guest's non-zero pages under a fast LZ-class coder (text-like
   * data about 0.4, random data about 1); docs/workloads.md gives each preset's source or says it is an
   * assumption.
   */
  compressibility: number;
  /** True when --working-set came from the user (then it must fit the memory). */
  workingSetFromUser?: boolean;
  /** Guest storage IO: writes and reads per second, IO size, and locality (hot share of the disks). */
  io: StorageIo;
}

export interface StorageIo {
  writeIops: number;
  readIops: number;
  /** Bytes per IO. */
  ioSize: number;
  /** Share of the disks' allocated space that is hot (0: uniform). */
  hotFraction: number;
  /** Share of the IOs that land in the hot part. */
  hotShare: number;
}

const MIB = 2 ** 20;
/** Share of the writes a hot part takes when only its size is given. */
export const DEFAULT_HOT_SHARE = 0.8;
const KIB = 2 ** 10;

export const WORKLOAD_PRESETS: Record<string, WorkloadSpec> = {
  idle: {
    name: 'idle',
    description: 'an idle server: timers, services and logging rewrite a small set of pages',
    dirtyRate: 100,
    workingSet: { bytes: 16 * MIB },
    hotFraction: 0,
    hotShare: 0,
    zeroFraction: 0.9,
    compressibility: 0.3,
    io: { writeIops: 2, readIops: 1, ioSize: 4 * KIB, hotFraction: 0.01, hotShare: 0.9 },
  },
  web: {
    name: 'web',
    description: 'a web/application server: request buffers, caches and session state',
    dirtyRate: 2_500,
    workingSet: { bytes: 128 * MIB },
    hotFraction: 0,
    hotShare: 0,
    zeroFraction: 0.5,
    compressibility: 0.4,
    io: { writeIops: 5, readIops: 95, ioSize: 16 * KIB, hotFraction: 0.05, hotShare: 0.8 },
  },
  oltp: {
    name: 'oltp',
    description: 'an OLTP database: a buffer pool of a quarter of memory, its hot tenth taking most writes',
    dirtyRate: 10_000,
    workingSet: { fraction: 0.25 },
    hotFraction: 0.1,
    hotShare: 0.8,
    zeroFraction: 0.1,
    compressibility: 0.5,
    io: { writeIops: 350, readIops: 650, ioSize: 8 * KIB, hotFraction: 0.1, hotShare: 0.8 },
  },
  vdi: {
    name: 'vdi',
    description: 'a virtual desktop: office applications and a browser, mostly idle between keystrokes',
    dirtyRate: 500,
    workingSet: { bytes: 64 * MIB },
    hotFraction: 0,
    hotShare: 0,
    zeroFraction: 0.6,
    compressibility: 0.4,
    io: { writeIops: 8, readIops: 2, ioSize: 8 * KIB, hotFraction: 0.05, hotShare: 0.8 },
  },
  churn: {
    name: 'churn',
    description: 'a memory churner (like MMuncher, Clark et al. NSDI 2005): rewrites 512 MiB at 1.6 GB/s',
    dirtyRate: 400_000,
    workingSet: { bytes: 512 * MIB },
    hotFraction: 0,
    hotShare: 0,
    zeroFraction: 0.5,
    compressibility: 0.95,
    io: { writeIops: 5000, readIops: 0, ioSize: 64 * KIB, hotFraction: 0, hotShare: 0 },
  },
};

export const WORKLOAD_NAMES = [...Object.keys(WORKLOAD_PRESETS), 'custom'];

/** The starting point of `--workload custom`: nothing written until flags say so. */
export const CUSTOM_BASE: WorkloadSpec = {
  name: 'custom',
  description: 'built from flags',
  compressibility: 0.4,
  dirtyRate: 0,
  workingSet: { fraction: 1 },
  hotFraction: 0,
  hotShare: DEFAULT_HOT_SHARE,
  zeroFraction: 0,
  io: { writeIops: 0, readIops: 0, ioSize: 8 * KIB, hotFraction: 0, hotShare: DEFAULT_HOT_SHARE },
};

export interface WorkloadOverrides {
  dirtyRate?: number;
  workingSet?: Extent;
  hotFraction?: number;
  hotShare?: number;
  zeroFraction?: number;
  io?: Partial<StorageIo>;
}

/** A preset (or custom) with flag overrides applied. */
export function resolveWorkload(name: string, o: WorkloadOverrides = {}, source = '--workload'): WorkloadSpec {
  const base = name === 'custom' ? CUSTOM_BASE : WORKLOAD_PRESETS[name];
  if (!base) throw new InputError({ source, expected: `one of ${WORKLOAD_NAMES.join(', ')}`, got: name });
  const w: WorkloadSpec = { ...base, workingSet: { ...base.workingSet }, io: { ...base.io } };
  for (const [k, v] of Object.entries(o.io ?? {})) if (v !== undefined) (w.io as unknown as Record<string, number>)[k] = v;
  if (o.dirtyRate !== undefined) w.dirtyRate = o.dirtyRate;
  if (o.workingSet !== undefined) {
    w.workingSet = o.workingSet;
    w.workingSetFromUser = true;
  }
  if (o.hotFraction !== undefined) w.hotFraction = o.hotFraction;
  if (o.hotShare !== undefined) w.hotShare = o.hotShare;
  // A hot part without a share of the writes would be cold: a uniform preset given --hot-fraction
  // alone takes the documented default share.
  if (w.hotFraction > 0 && w.hotShare === 0 && o.hotShare === undefined) w.hotShare = DEFAULT_HOT_SHARE;
  if (w.io.hotFraction > 0 && w.io.hotShare === 0 && o.io?.hotShare === undefined) w.io.hotShare = DEFAULT_HOT_SHARE;
  if (o.zeroFraction !== undefined) w.zeroFraction = o.zeroFraction;
  if (!(w.dirtyRate >= 0) || !Number.isFinite(w.dirtyRate)) {
    throw new InputError({ source: '--dirty-rate', expected: 'a non-negative rate such as 25000pages/s or 100MB/s', got: w.dirtyRate });
  }
  return w;
}

/** Pages of the working set for a memory of `pages` pages. */
export function workingSetPages(spec: WorkloadSpec, pages: number): number {
  let ws = 'fraction' in spec.workingSet ? Math.round(spec.workingSet.fraction * pages) : Math.ceil(spec.workingSet.bytes / PAGE_SIZE);
  // A preset's absolute working set shrinks to fit a small VM; a user's own --working-set must fit.
  if (ws > pages && spec.name !== 'custom' && !spec.workingSetFromUser) ws = pages;
  if (ws > pages) {
    throw new InputError({ source: '--working-set', expected: `at most the guest memory (${pages} pages)`, got: ws });
  }
  return Math.max(spec.dirtyRate > 0 ? 1 : 0, ws);
}

interface Region {
  start: number;
  count: number;
  /** Page writes per second into this region. */
  rate: number;
}

/** A workload bound to a memory: the regions it writes and their rates. */
export class WorkloadModel {
  readonly regions: Region[];
  readonly workingSet: number;

  constructor(
    readonly spec: WorkloadSpec,
    pages: number,
    rng: Rng,
  ) {
    this.workingSet = workingSetPages(spec, pages);
    const ws = this.workingSet;
    // Place the working set at a random 2 MiB-aligned offset that keeps it inside memory.
    const slack = pages - ws;
    const start = slack > 0 ? Math.min(slack, rng.int(Math.floor(slack / 512) + 1) * 512) : 0;
    this.regions = [];
    if (ws === 0 || spec.dirtyRate === 0) return;
    const hot = spec.hotFraction > 0 ? Math.max(1, Math.min(ws, Math.round(spec.hotFraction * ws))) : 0;
    if (hot > 0 && hot < ws) {
      this.regions.push({ start, count: hot, rate: spec.dirtyRate * spec.hotShare });
      this.regions.push({ start: start + hot, count: ws - hot, rate: spec.dirtyRate * (1 - spec.hotShare) });
    } else {
      this.regions.push({ start, count: ws, rate: spec.dirtyRate });
    }
  }

  /**
   * Apply `dt` seconds of guest activity, with the guest throttled by `throttle` (0..1: the share of CPU
   * time taken away, which scales the write rate down). Returns the pages dirtied.
   */
  advance(mem: GuestMemory, dt: number, throttle: number, rng: Rng): number {
    if (dt <= 0) return 0;
    const speed = 1 - throttle;
    let n = 0;
    for (const r of this.regions) {
      const p = -Math.expm1((-r.rate * speed * dt) / r.count);
      n += mem.writeRegion(r.start, r.count, p, rng);
    }
    return n;
  }

  /** Expected distinct pages dirtied in an interval (closed form, used by tests and docs). */
  expectedDirty(dt: number, throttle = 0): number {
    let e = 0;
    for (const r of this.regions) e += r.count * -Math.expm1((-r.rate * (1 - throttle) * dt) / r.count);
    return e;
  }
}
