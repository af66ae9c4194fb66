// Networks between the source and destination hosts: NICs (speed, RSS, RDMA, team membership), named
// profiles, and the link cost model (protocol efficiency from the MTU, round-trip latency, the per-stream
// throughput cap of one TCP stream, RDMA). All rates are bytes per second, all times seconds.

import { InputError } from '../errors.js';

export interface Nic {
  /** Interface name, unique within a network ("nic1"). */
  name: string;
  /** Line rate in bytes per second (1 Gbit/s = 125e6). */
  lineRate: number;
  /** Receive Side Scaling: spreads a NIC's connections over cores; SMB opens 4 connections per RSS NIC. */
  rss: boolean;
  /** RDMA capable (SMB Direct): 2 connections per NIC, no per-stream CPU cap, microsecond latency. */
  rdma: boolean;
  /** NICs with the same team name form one LBFO team: one interface to SMB, one member per TCP flow. */
  team?: string;
  /** IP address for real transports (binding a channel to this NIC). */
  address?: string;
}

export interface Network {
  name: string;
  description: string;
  nics: Nic[];
  /** Application round trip over TCP, seconds. */
  rtt: number;
  /** Application round trip over RDMA (SMB Direct), seconds. */
  rdmaRtt: number;
  /** Ethernet MTU in bytes (1500, or 9000 for jumbo frames). */
  mtu: number;
  /** Throughput one TCP stream can reach, bounded by the one core that processes it (bytes/s). */
  streamCap: number;
}

const GBIT = 1e9 / 8;

/** Sourced defaults; see docs/network.md for the sources. */
export const NETWORK_DEFAULTS = {
  /** 1GbE application round trip: 120-180 us reported (AppNeta 2009); we take the middle. */
  rtt1g: 150e-6,
  /** 10GbE: one-way ~10 us on a tuned Linux stack (Larsen et al. 2009); 50 us RTT for a stock stack. */
  rtt10g: 50e-6,
  /** RDMA round trip: single-digit microseconds. */
  rdmaRtt: 5e-6,
  /** One WS2012 live-migration TCP stream reached ~4 Gbit/s on 10GbE, one core saturated (Savill). */
  streamCap: 4 * GBIT,
  mtu: 1500,
} as const;

function nics(count: number, gbit: number, opts: { rss?: boolean; rdma?: boolean; team?: string }): Nic[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `nic${i + 1}`,
    lineRate: gbit * GBIT,
    rss: opts.rss ?? true,
    rdma: opts.rdma ?? false,
    ...(opts.team ? { team: opts.team } : {}),
  }));
}

/**
 * The TCP round trip of a network by its fastest NIC: 1GbE-class links (below 10 Gbit/s) take the 1GbE
 * figure, faster ones the 10GbE figure. Beyond 10GbE no round trip is sourced here: at 25, 40 and 100
 * Gbit/s the 10GbE figure is an assumption (the stack, not the wire, dominates a round trip at these
 * speeds; docs/network.md).
 */
export function rttForLineRate(lineRate: number): number {
  return lineRate < 10 * GBIT ? NETWORK_DEFAULTS.rtt1g : NETWORK_DEFAULTS.rtt10g;
}

/** A network of these NICs with the default RDMA round trip, MTU and stream cap. */
export function profile(name: string, description: string, list: Nic[], rtt: number): Network {
  return {
    name,
    description,
    nics: list,
    rtt,
    rdmaRtt: NETWORK_DEFAULTS.rdmaRtt,
    mtu: NETWORK_DEFAULTS.mtu,
    streamCap: NETWORK_DEFAULTS.streamCap,
  };
}

const PROFILES: Record<string, () => Network> = {
  '1g': () => profile('1g', 'one 1GbE NIC with RSS', nics(1, 1, {}), NETWORK_DEFAULTS.rtt1g),
  '2x1g': () => profile('2x1g', 'two 1GbE NICs with RSS, not teamed', nics(2, 1, {}), NETWORK_DEFAULTS.rtt1g),
  '2x1g-team': () =>
    profile('2x1g-team', 'two 1GbE NICs in one LBFO team (address hash)', nics(2, 1, { team: 'team1' }), NETWORK_DEFAULTS.rtt1g),
  '10g': () => profile('10g', 'one 10GbE NIC with RSS', nics(1, 10, {}), NETWORK_DEFAULTS.rtt10g),
  '2x10g': () => profile('2x10g', 'two 10GbE NICs with RSS, not teamed', nics(2, 10, {}), NETWORK_DEFAULTS.rtt10g),
  '10g-rdma': () => profile('10g-rdma', 'one 10GbE RDMA NIC (iWARP or RoCE) with RSS', nics(1, 10, { rdma: true }), NETWORK_DEFAULTS.rtt10g),
  '2x10g-rdma': () =>
    profile('2x10g-rdma', 'two 10GbE RDMA NICs with RSS', nics(2, 10, { rdma: true }), NETWORK_DEFAULTS.rtt10g),
  // Faster Ethernet: round trips as at 10GbE (an assumption, see rttForLineRate).
  '25g': () => profile('25g', 'one 25GbE NIC with RSS', nics(1, 25, {}), NETWORK_DEFAULTS.rtt10g),
  '40g': () => profile('40g', 'one 40GbE NIC with RSS', nics(1, 40, {}), NETWORK_DEFAULTS.rtt10g),
  '100g': () => profile('100g', 'one 100GbE NIC with RSS', nics(1, 100, {}), NETWORK_DEFAULTS.rtt10g),
  '25g-rdma': () => profile('25g-rdma', 'one 25GbE RDMA NIC (iWARP or RoCE) with RSS', nics(1, 25, { rdma: true }), NETWORK_DEFAULTS.rtt10g),
  '40g-rdma': () => profile('40g-rdma', 'one 40GbE RDMA NIC (iWARP or RoCE) with RSS', nics(1, 40, { rdma: true }), NETWORK_DEFAULTS.rtt10g),
  '100g-rdma': () => profile('100g-rdma', 'one 100GbE RDMA NIC (iWARP or RoCE) with RSS', nics(1, 100, { rdma: true }), NETWORK_DEFAULTS.rtt10g),
  '2x25g': () => profile('2x25g', 'two 25GbE NICs with RSS, not teamed', nics(2, 25, {}), NETWORK_DEFAULTS.rtt10g),
  '2x25g-rdma': () => profile('2x25g-rdma', 'two 25GbE RDMA NICs with RSS', nics(2, 25, { rdma: true }), NETWORK_DEFAULTS.rtt10g),
};

export const NETWORK_NAMES = Object.keys(PROFILES);

/** A fresh copy of a named profile. Throws InputError naming `source` (a flag or file) when unknown. */
export function getNetwork(name: string, source = '--network'): Network {
  const make = PROFILES[name];
  if (!make) throw new InputError({ source, expected: `one of ${NETWORK_NAMES.join(', ')}`, got: name });
  return make();
}

// ---------------------------------------------------------------------------------------------------
// Cost model

/** Ethernet per-frame overhead on the wire: header 14 + FCS 4 + preamble 8 + inter-frame gap 12. */
export const ETHERNET_FRAME_OVERHEAD = 38;
/** IPv4 20 + TCP 20 + TCP timestamps option 12. */
export const TCP_IP_HEADERS = 52;
/** RoCEv2: IPv4 20 + UDP 8 + InfiniBand base transport header 12 + ICRC 4. */
export const ROCE_HEADERS = 44;
const IB_MTUS = [4096, 2048, 1024, 512, 256];

/**
 * Fraction of the line rate that carries payload. TCP: (MTU - 52) / (MTU + 38): 94.1% at 1500, 99.0% at
 * 9000. RDMA (RoCEv2): the largest InfiniBand MTU that fits the Ethernet MTU carries the payload.
 */
export function protocolEfficiency(mtu: number, kind: 'tcp' | 'rdma'): number {
  if (!Number.isFinite(mtu) || mtu < 576) throw new InputError({ source: '--mtu', expected: 'an MTU of at least 576 bytes', got: mtu });
  if (kind === 'tcp') return (mtu - TCP_IP_HEADERS) / (mtu + ETHERNET_FRAME_OVERHEAD);
  const ib = IB_MTUS.find((m) => m + ROCE_HEADERS <= mtu) ?? 256;
  return ib / (ib + ROCE_HEADERS + ETHERNET_FRAME_OVERHEAD);
}

/** Payload rate of a NIC for a protocol. */
export function payloadRate(nic: Nic, network: Network, kind: 'tcp' | 'rdma'): number {
  return nic.lineRate * protocolEfficiency(network.mtu, kind);
}

/** Apply user overrides (MTU, RTT, stream cap) to a profile, validating each. */
export function withOverrides(network: Network, o: { mtu?: number; rtt?: number; streamCap?: number }): Network {
  const n = { ...network, nics: network.nics.map((x) => ({ ...x })) };
  if (o.mtu !== undefined) {
    protocolEfficiency(o.mtu, 'tcp');
    n.mtu = o.mtu;
  }
  if (o.rtt !== undefined) {
    if (!(o.rtt >= 0)) throw new InputError({ source: '--rtt', expected: 'a non-negative duration', got: o.rtt });
    n.rtt = o.rtt;
  }
  if (o.streamCap !== undefined) {
    if (!(o.streamCap > 0)) throw new InputError({ source: '--stream-cap', expected: 'a positive rate', got: o.streamCap });
    n.streamCap = o.streamCap;
  }
  return n;
}

/**
 * One link of the given payload rate (bytes/s), with no per-stream cap unless one is given: `--link-rate`, which replays a
 * measured link (such as the real engine's loopback goodput) in the simulator. The NIC's line rate is the
 * payload rate over the TCP protocol efficiency at the MTU, so that `payloadRate` gives back `rate`.
 */
export function measuredLink(rate: number, o: { mtu?: number; rtt?: number; streamCap?: number } = {}): Network {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new InputError({ source: '--link-rate', expected: 'a positive rate such as 9.2Gbit/s', got: rate });
  const mtu = o.mtu ?? NETWORK_DEFAULTS.mtu;
  const efficiency = protocolEfficiency(mtu, 'tcp');
  const gbit = (rate * 8) / 1e9;
  return {
    name: `link-${Number(gbit.toPrecision(4))}gbit`,
    description: o.streamCap === undefined ? 'one link of a measured payload rate, no per-stream cap' : 'one link of a measured payload rate',
    nics: [{ name: 'link', lineRate: rate / efficiency, rss: false, rdma: false }],
    rtt: o.rtt ?? NETWORK_DEFAULTS.rtt10g,
    rdmaRtt: NETWORK_DEFAULTS.rdmaRtt,
    mtu,
    streamCap: o.streamCap ?? Number.POSITIVE_INFINITY,
  };
}
