// Cost models of Hyper-V's three live-migration performance options, for the simulator:
//   tcp          one TCP stream over one NIC (over a team, one member: a flow hashes to one NIC)
//   compression  the same stream, memory compressed first on `cores` cores (CPU-bound)
//   smb          SMB 3 multichannel: the channels of selectChannels() over every usable NIC, RDMA where
//                the NICs have it
// A channel's payload rate is its NIC's line rate x protocol efficiency (from the MTU), shared fairly
// by the channels on that NIC, and capped per TCP stream by one core (NETWORK_DEFAULTS.streamCap).

import { InputError } from '../errors.js';
import { payloadRate, type Network } from '../network/index.js';
import type { TransportName } from '../result.js';
import { PAGE_SIZE } from '../units/index.js';
import { selectChannels, type ChannelKind, type SelectionOptions } from './selection.js';

/** Per-page header on the wire (guest-physical address + flags, as QEMU's be64 page header). */
export const PAGE_HEADER_BYTES = 8;
/** A zero page crosses as its header plus one fill byte (QEMU's RAM_SAVE_FLAG_ZERO): 9 bytes. */
export const ZERO_PAGE_BYTES = 9;

export interface LinkChannel {
  id: number;
  /** Interface (NIC or team) and the physical NIC that carries it. */
  nic: string;
  member: string;
  kind: ChannelKind | 'tcp';
  /** Payload bytes per second this channel can carry. */
  rate: number;
  /** Application round trip, seconds. */
  rtt: number;
  /** Payload rate of the NIC that carries it (shared by the live channels on that NIC). */
  nicRate: number;
  /** Per-stream cap (one core per TCP stream); Infinity for RDMA. */
  cap: number;
}

/**
 * Payload rate of each channel when only the `alive` ones carry: each NIC's payload rate is shared evenly
 * by its live channels, and a TCP channel never exceeds its stream cap. (When an SMB connection dies, the
 * survivors on its NIC take up its share.)
 */
export function channelRates(channels: readonly LinkChannel[], alive: readonly boolean[], members: readonly string[] = channels.map((c) => c.member)): number[] {
  const perMember = new Map<string, number>();
  channels.forEach((_, i) => {
    if (alive[i]) perMember.set(members[i]!, (perMember.get(members[i]!) ?? 0) + 1);
  });
  return channels.map((c, i) => (alive[i] ? Math.min(c.cap, c.nicRate / perMember.get(members[i]!)!) : 0));
}

export interface CompressionParams {
  /** Input bytes per second one core compresses. */
  ratePerCore: number;
  cores: number;
  /** Compressed size / original size for non-zero pages (0 < ratio <= 1). */
  ratio: number;
}

/** Defaults for the compression option; see docs/transports.md for their sources and reasoning. */
export const COMPRESSION_DEFAULTS: CompressionParams = {
  ratePerCore: 200e6,
  cores: 2,
  ratio: 0.4,
};

export interface TransferCost {
  /** Seconds from the first byte handed to the transport to the last byte acknowledged. */
  seconds: number;
  /** Bytes that cross the wire (page headers and markers included, after compression). */
  wireBytes: number;
  /** The source's page work (cpuSeconds + a round trip; 0 when none is modelled): the transfer never ends sooner, also when a channel failure restripes it. */
  floor: number;
  /** Seconds the link alone would take (no page-work floor): what a slower link stretches. */
  wireSeconds: number;
}

export interface LinkModel {
  transport: TransportName;
  channels: LinkChannel[];
  /** Aggregate payload rate, bytes/s. */
  rate: number;
  /** Round trip of the slowest channel, seconds. */
  rtt: number;
  compression: CompressionParams | null;
  /** Bytes per second of zero memory the source reads to find zero pages (null: not modelled). */
  zeroScanRate: number | null;
  /** Seconds of the sending thread per run of consecutive pages (0: not modelled). */
  runCost: number;
  /**
   * Seconds of the source's page work for a transfer of `wireBytes` in `runs` runs of consecutive pages:
   * compression (its own cores) or the sending thread (zero-page reads and per-run work, then its streams
   * at their per-stream caps), whichever is longer. The transfer takes at least this long; 0 when neither
   * is modelled.
   */
  cpuSeconds(fullPages: number, zeroPages: number, wireBytes: number, runs?: number): number;
  /** Cost of sending `fullPages` non-zero pages, `zeroPages` zero markers and `extraBytes` of other data. */
  cost(fullPages: number, zeroPages: number, extraBytes: number, runs?: number): TransferCost;
  /** The same at a given payload rate (what is left of the link after failures and other traffic). */
  costAt(rate: number, fullPages: number, zeroPages: number, extraBytes: number, runs?: number): TransferCost;
}

export interface LinkOptions {
  compression?: Partial<CompressionParams>;
  /**
   * Bytes per second of zero memory the source reads while looking for zero pages. A zero page is read
   * whole before it is known to be zero; a non-zero page is told apart by its first words (free here).
   * Unset: zero-page detection costs nothing.
   */
  zeroScanRate?: number;
  /**
   * Seconds the sending side spends per run of consecutive pages (gathering it, framing or packing it,
   * placing it at the destination), on the thread that sends. Unset: free.
   */
  runCost?: number;
  smb?: SelectionOptions;
}

export function buildLink(network: Network, transport: TransportName, options: LinkOptions = {}): LinkModel {
  switch (transport) {
    case 'tcp':
      return finish(transport, singleStream(network), null, zeroScan(options), runCostOf(options));
    case 'compression': {
      const c = { ...COMPRESSION_DEFAULTS, ...stripUndefined(options.compression ?? {}) };
      if (!(c.ratePerCore > 0)) throw new InputError({ source: '--compression-rate', expected: 'a positive rate per core', got: c.ratePerCore });
      if (!(Number.isInteger(c.cores) && c.cores >= 1)) throw new InputError({ source: '--compression-cores', expected: 'a whole number of cores >= 1', got: c.cores });
      if (!(c.ratio > 0 && c.ratio <= 1)) throw new InputError({ source: '--compression-ratio', expected: 'a ratio in (0, 1]', got: c.ratio });
      return finish(transport, singleStream(network), c, zeroScan(options), runCostOf(options));
    }
    case 'smb':
      return finish(transport, smbChannels(network, options.smb), null, zeroScan(options), runCostOf(options));
    default:
      throw new InputError({ source: '--transport', expected: 'one of tcp, compression, smb', got: transport });
  }
}

function zeroScan(options: LinkOptions): number | null {
  const r = options.zeroScanRate;
  if (r === undefined) return null;
  if (!(r > 0)) throw new InputError({ source: '--zero-scan-rate', expected: 'a positive rate such as 9GB/s', got: r });
  return r;
}

function runCostOf(options: LinkOptions): number {
  const c = options.runCost;
  if (c === undefined) return 0;
  if (!(c >= 0) || !Number.isFinite(c)) throw new InputError({ source: '--run-cost', expected: 'a duration such as 5us', got: c });
  return c;
}

/** One TCP stream over the first interface (over a team: the member its flow hashes to). */
function singleStream(network: Network): LinkChannel[] {
  const nic = network.nics[0];
  if (!nic) throw new InputError({ source: '--network', expected: 'a network with at least one NIC', got: network.name });
  const nicRate = payloadRate(nic, network, 'tcp');
  const rate = Math.min(nicRate, network.streamCap);
  return [{ id: 0, nic: nic.team ?? nic.name, member: nic.name, kind: 'tcp', rate, rtt: network.rtt, nicRate, cap: network.streamCap }];
}

function smbChannels(network: Network, selection?: SelectionOptions): LinkChannel[] {
  const sel = selectChannels(network.nics, selection);
  const channels: LinkChannel[] = sel.channels.map((c) => {
    const nic = network.nics.find((n) => n.name === c.member)!;
    const rdma = c.kind === 'rdma';
    return {
      id: c.id,
      nic: c.nic,
      member: c.member,
      kind: c.kind,
      rate: 0,
      rtt: rdma ? network.rdmaRtt : network.rtt,
      nicRate: payloadRate(nic, network, rdma ? 'rdma' : 'tcp'),
      cap: rdma ? Infinity : network.streamCap,
    };
  });
  const rates = channelRates(channels, channels.map(() => true));
  channels.forEach((c, i) => (c.rate = rates[i]!));
  return channels;
}

function finish(transport: TransportName, channels: LinkChannel[], compression: CompressionParams | null, zeroScanRate: number | null, runCost: number): LinkModel {
  const rate = channels.reduce((s, c) => s + c.rate, 0);
  const rtt = Math.max(...channels.map((c) => c.rtt));
  /** What the sending thread's streams can carry: the sum of their per-stream caps. */
  const streamRate = channels.reduce((t, c) => t + c.cap, 0);
  return {
    transport,
    channels,
    rate,
    rtt,
    compression,
    zeroScanRate,
    runCost,
    cpuSeconds(fullPages, zeroPages, wireBytes, runs = 0) {
      // Compression runs on its own cores, pipelined with sending. Zero pages cost no compression.
      const compress = compression ? (fullPages * PAGE_SIZE) / (compression.ratePerCore * compression.cores) : 0;
      // Zero-page detection is done by the thread that sends: it reads each zero page whole, then hands
      // the rest to its streams, each at most at its per-stream (one core) rate. On a link slower than
      // the streams the reads hide behind the wire; where the streams are the limit they add to it.
      // Per run of pages (gather, frame or pack, place) the same thread pays --run-cost.
      const work = (zeroScanRate !== null ? (zeroPages * PAGE_SIZE) / zeroScanRate : 0) + runs * runCost;
      const thread = work > 0 ? work + (Number.isFinite(streamRate) ? wireBytes / streamRate : 0) : 0;
      return Math.max(compress, thread);
    },
    cost(fullPages, zeroPages, extraBytes, runs = 0) {
      return this.costAt(rate, fullPages, zeroPages, extraBytes, runs);
    },
    costAt(at, fullPages, zeroPages, extraBytes, runs = 0) {
      const pageBytes = compression ? PAGE_SIZE * compression.ratio : PAGE_SIZE;
      const wireBytes = fullPages * (pageBytes + PAGE_HEADER_BYTES) + zeroPages * ZERO_PAGE_BYTES + extraBytes;
      // The source's page work (compression, zero-page detection) and sending are pipelined: the slower
      // stage sets the pace.
      const cpu = this.cpuSeconds(fullPages, zeroPages, wireBytes, runs);
      return { seconds: Math.max(wireBytes / at, cpu) + rtt, wireBytes, floor: cpu > 0 ? cpu + rtt : 0, wireSeconds: wireBytes / at + rtt };
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
