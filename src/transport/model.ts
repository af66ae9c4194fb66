// What a memory transfer costs besides the wire, for the simulator: the bytes that cross (pages with
// their headers; zero pages whole, as Hyper-V's TCP and SMB transports send them, or as QEMU's 9-byte
// markers; compressed pages), the CPU of compression (the host's idle cores, a limit on the rate), the
// sending thread's work (zero-page reads and the per-run cost: a floor on the time), and the CPU seconds
// each host spends (the TCP stack per byte, SMB over TCP, SMB Direct offloaded, compression and
// decompression). How fast the bytes cross is the flow network's business (src/network/flows.ts).
// docs/network.md and docs/sources.md give every default's source, or say it is an assumption.

import { PAGE_SIZE } from '../units/index.js';

/** Per-page header on the wire (guest-physical address + flags, as QEMU's be64 page header). */
export const PAGE_HEADER_BYTES = 8;
/** A zero page skipped crosses as its header plus one fill byte (QEMU's RAM_SAVE_FLAG_ZERO): 9 bytes. */
export const ZERO_PAGE_BYTES = 9;

/** How a transport treats zero pages: `send` them whole (Hyper-V), or `skip` them with a marker (QEMU). */
export type ZeroPages = 'send' | 'skip';
export const ZERO_PAGE_MODES: readonly ZeroPages[] = ['send', 'skip'];

export interface CompressionParams {
  /** Input bytes per second one core compresses. */
  ratePerCore: number;
  /** At most this many cores (null: every idle core of the host). */
  cores: number | null;
  /** Compressed size / original size for non-zero pages (0 < ratio <= 1). */
  ratio: number;
}

export const COMPRESSION_DEFAULTS = {
  /** Microsoft's Xpress (LZ77) at 90 MB/s per core in an open implementation that runs at 0.81x Windows' RtlCompressBuffer: 110 MB/s on a 2012 core (TurboBench ms-compress; that Hyper-V uses Xpress is an assumption). */
  ratePerCore: 110e6,
  /** Xpress decompresses at 725 MB/s per core (same source). */
  decompressRate: 725e6,
  /** An LZ coder runs through a zero page this much faster than through data (assumption). */
  zeroSpeedup: 10,
  /** A compressed zero page: a few bytes after its header (assumption). */
  zeroBytes: 16,
} as const;

/**
 * CPU seconds per payload byte of the transports, at each end. Sources: one WS2012 R2 live migration over
 * a 2x10 GbE team, 17 Gbit/s at 22% of a 2x8-core host, is 0.2 core per Gbit/s (workinghardinit 2015);
 * receiving costs 1.9x sending (QEMU multifd at ~10 Gbit/s: 85% vs 45% of a core, qemu docs). SMB over
 * TCP adds its own request handling (assumption: +10%); SMB Direct moves the bytes in the NIC ("practically
 * zero CPU overhead", Armstrong 2013: assumption, 5% of TCP's cost).
 */
export const CPU_PER_BYTE = {
  tcpSend: 1.6e-9,
  tcpReceive: 3.0e-9,
  smbOverTcp: 1.1,
  rdmaShare: 0.05,
} as const;

export type Carrier = 'tcp' | 'smb' | 'smb-direct';

/** CPU seconds per payload byte at the source and the destination for a carrier. */
export function cpuPerByte(c: Carrier): { source: number; destination: number } {
  const f = c === 'tcp' ? 1 : c === 'smb' ? CPU_PER_BYTE.smbOverTcp : CPU_PER_BYTE.rdmaShare;
  return { source: CPU_PER_BYTE.tcpSend * f, destination: CPU_PER_BYTE.tcpReceive * f };
}

/** The source's page work for a transport. */
export interface PageWork {
  /** Compression (null: the transport sends pages as they are). */
  compression: CompressionParams | null;
  zeroPages: ZeroPages;
  /** Bytes per second of zero memory the source reads to find zero pages (null: free). */
  zeroScanRate: number | null;
  /** Seconds of the sending thread per run of consecutive pages (0: free). */
  runCost: number;
}

export interface PageCost {
  /** Bytes that cross the wire (page headers and markers included, after compression). */
  wireBytes: number;
  /** Core-seconds of compression (0 without): over the wire bytes, the CPU each byte needs. */
  compressSeconds: number;
  /**
   * Seconds of the sending thread: zero-page reads and per-run work, then its streams at their per-stream
   * caps (`streamRate`, their sum); 0 when neither read nor run work is modelled. The transfer never ends
   * sooner (a floor).
   */
  threadSeconds: number;
  /** Core-seconds of compression and decompression at each end (the carrier's cost is added per byte sent). */
  sourceCpu: number;
  destinationCpu: number;
}

/** The cost of sending `fullPages` non-zero pages, `zeroPages` zero pages and `extraBytes` of other data. */
export function pageCost(w: PageWork, fullPages: number, zeroPages: number, extraBytes: number, runs: number, streamRate: number): PageCost {
  const c = w.compression;
  const d = COMPRESSION_DEFAULTS;
  const pageBytes = c ? PAGE_SIZE * c.ratio : PAGE_SIZE;
  // A zero page: a marker when skipped; whole when sent, unless compression shrinks it to a few bytes.
  const zeroBytes = w.zeroPages === 'skip' ? ZERO_PAGE_BYTES : (c ? d.zeroBytes : PAGE_SIZE) + PAGE_HEADER_BYTES;
  const wireBytes = fullPages * (pageBytes + PAGE_HEADER_BYTES) + zeroPages * zeroBytes + extraBytes;
  // Compression reads every page it sends, zero pages quickly; skipped zero pages never reach it.
  const compressedZero = c && w.zeroPages === 'send' ? zeroPages : 0;
  const compressSeconds = c ? ((fullPages + compressedZero / d.zeroSpeedup) * PAGE_SIZE) / c.ratePerCore : 0;
  const decompressSeconds = c ? (fullPages * PAGE_SIZE) / d.decompressRate : 0;
  // Zero-page detection is done by the thread that sends: it reads each zero page whole, then hands the
  // rest to its streams, each at most at its per-stream (one core) rate. On a link slower than the
  // streams the reads hide behind the wire; where the streams are the limit they add to it.
  const scan = w.zeroScanRate !== null && w.zeroPages === 'skip' ? (zeroPages * PAGE_SIZE) / w.zeroScanRate : 0;
  const work = scan + runs * w.runCost;
  const threadSeconds = work > 0 ? work + (Number.isFinite(streamRate) ? wireBytes / streamRate : 0) : 0;
  return { wireBytes, compressSeconds, threadSeconds, sourceCpu: compressSeconds, destinationCpu: decompressSeconds };
}
