// What a memory transfer costs besides the wire, for the simulator: the bytes that cross (pages with
// their headers, zero pages as markers, compressed pages), the CPU work of compression (on its own cores,
// pipelined with sending: a limit on the rate), and the sending thread's work (zero-page reads and the
// per-run cost, before it hands the bytes to its streams: a floor on the time). How fast the bytes cross is
// the flow network's business (src/network/flows.ts, src/drivers/sim/transfers.ts).

import { PAGE_SIZE } from '../units/index.js';

/** Per-page header on the wire (guest-physical address + flags, as QEMU's be64 page header). */
export const PAGE_HEADER_BYTES = 8;
/** A zero page crosses as its header plus one fill byte (QEMU's RAM_SAVE_FLAG_ZERO): 9 bytes. */
export const ZERO_PAGE_BYTES = 9;

export interface CompressionParams {
  /** Input bytes per second one core compresses. */
  ratePerCore: number;
  cores: number;
  /** Compressed size / original size for non-zero pages (0 < ratio <= 1). */
  ratio: number;
}

/** Defaults for the compression option; see docs/network.md and docs/sources.md for their sources. */
export const COMPRESSION_DEFAULTS: CompressionParams = {
  ratePerCore: 200e6,
  cores: 2,
  ratio: 0.4,
};

/** The source's page work for a transport. */
export interface PageWork {
  compression: CompressionParams | null;
  /** Bytes per second of zero memory the source reads to find zero pages (null: free). */
  zeroScanRate: number | null;
  /** Seconds of the sending thread per run of consecutive pages (0: free). */
  runCost: number;
}

export interface PageCost {
  /** Bytes that cross the wire (page headers and markers included, after compression). */
  wireBytes: number;
  /** Seconds of compression on its cores (0 without compression): wireBytes / this is a rate limit. */
  compressSeconds: number;
  /**
   * Seconds of the sending thread: zero-page reads and per-run work, then its streams at their per-stream
   * caps (`streamRate`, their sum); 0 when neither read nor run work is modelled. The transfer never ends
   * sooner (a floor).
   */
  threadSeconds: number;
}

/** The cost of sending `fullPages` non-zero pages, `zeroPages` zero markers and `extraBytes` of other data. */
export function pageCost(w: PageWork, fullPages: number, zeroPages: number, extraBytes: number, runs: number, streamRate: number): PageCost {
  const c = w.compression;
  const pageBytes = c ? PAGE_SIZE * c.ratio : PAGE_SIZE;
  const wireBytes = fullPages * (pageBytes + PAGE_HEADER_BYTES) + zeroPages * ZERO_PAGE_BYTES + extraBytes;
  // Compression runs on its own cores, pipelined with sending. Zero pages cost no compression.
  const compressSeconds = c ? (fullPages * PAGE_SIZE) / (c.ratePerCore * c.cores) : 0;
  // Zero-page detection is done by the thread that sends: it reads each zero page whole, then hands the
  // rest to its streams, each at most at its per-stream (one core) rate. On a link slower than the
  // streams the reads hide behind the wire; where the streams are the limit they add to it.
  const work = (w.zeroScanRate !== null ? (zeroPages * PAGE_SIZE) / w.zeroScanRate : 0) + runs * w.runCost;
  const threadSeconds = work > 0 ? work + (Number.isFinite(streamRate) ? wireBytes / streamRate : 0) : 0;
  return { wireBytes, compressSeconds, threadSeconds };
}
