// SMB 3 Multichannel channel selection (see ../../docs/transport.md and ../../docs/facts.md):
// - a team counts as one interface (LBFO teams do not keep RDMA);
// - RDMA interfaces are preferred, then RSS, then the rest; only interfaces of the best class AND the
//   best speed within it are used together, the others sit idle;
// - 2 connections per RDMA interface, 4 per RSS interface, 1 otherwise; at most 32 channels.

import { InputError } from '../errors.js';
import type { Nic } from '../network/index.js';
import { formatRate } from '../units/index.js';

export type ChannelKind = 'rdma' | 'rss' | 'plain';

export interface Interface {
  name: string;
  members: Nic[];
  lineRate: number;
  kind: ChannelKind;
  address?: string;
}

export interface Channel {
  /** Channel index, 0-based, in selection order. */
  id: number;
  /** Interface the channel uses (a NIC name or a team name). */
  nic: string;
  /** The physical NIC that carries the channel (for a team: the member its flow hashes to). */
  member: string;
  kind: ChannelKind;
  /** Line rate of the interface, bytes per second. */
  speed: number;
  address?: string;
}

export interface Exclusion {
  nic: string;
  reason: string;
}

export interface Selection {
  channels: Channel[];
  excluded: Exclusion[];
  interfaces: Interface[];
}

export interface SelectionOptions {
  connectionsPerRss?: number;
  connectionsPerRdma?: number;
  connectionsPerPlain?: number;
  maxChannels?: number;
  /** Use these interfaces whatever their class and speed (an override, like SMB multichannel constraints). */
  only?: string[];
  /** Treat RDMA NICs as plain RSS NICs (SMB Direct disabled). */
  disableRdma?: boolean;
}

export const SMB_DEFAULTS = {
  connectionsPerRss: 4,
  connectionsPerRdma: 2,
  connectionsPerPlain: 1,
  maxChannels: 32,
} as const;

const RANK: Record<ChannelKind, number> = { rdma: 0, rss: 1, plain: 2 };

/** Group NICs into interfaces: a team is one interface whose line rate is the sum of its members'. */
export function interfacesOf(nics: Nic[], disableRdma = false): Interface[] {
  const out: Interface[] = [];
  const teams = new Map<string, Interface>();
  for (const nic of nics) {
    if (nic.team) {
      let t = teams.get(nic.team);
      if (!t) {
        t = { name: nic.team, members: [], lineRate: 0, kind: 'rss' };
        teams.set(nic.team, t);
        out.push(t);
      }
      t.members.push(nic);
      t.lineRate += nic.lineRate;
      // LBFO teams expose no RDMA; the team keeps RSS only if every member has it.
      t.kind = t.members.every((m) => m.rss) ? 'rss' : 'plain';
      if (nic.address && !t.address) t.address = nic.address;
    } else {
      const kind: ChannelKind = nic.rdma && !disableRdma ? 'rdma' : nic.rss ? 'rss' : 'plain';
      out.push({ name: nic.name, members: [nic], lineRate: nic.lineRate, kind, ...(nic.address ? { address: nic.address } : {}) });
    }
  }
  return out;
}

export function selectChannels(nics: Nic[], options: SelectionOptions = {}): Selection {
  const o = { ...SMB_DEFAULTS, ...stripUndefined(options) };
  for (const [k, v] of Object.entries({
    connectionsPerRss: o.connectionsPerRss,
    connectionsPerRdma: o.connectionsPerRdma,
    connectionsPerPlain: o.connectionsPerPlain,
    maxChannels: o.maxChannels,
  })) {
    if (!Number.isInteger(v) || v < 1) throw new InputError({ source: 'channel selection', path: k, expected: 'a positive integer', got: v });
  }
  const ifaces = interfacesOf(nics, options.disableRdma);
  if (ifaces.length === 0) throw new InputError({ source: 'channel selection', expected: 'at least one NIC', got: [] });
  const excluded: Exclusion[] = [];
  let chosen: Interface[];
  if (options.only && options.only.length > 0) {
    const names = new Set(options.only);
    for (const n of names) {
      if (!ifaces.some((i) => i.name === n)) {
        throw new InputError({ source: 'channel selection', path: 'only', expected: `interface names among ${ifaces.map((i) => i.name).join(', ')}`, got: n });
      }
    }
    chosen = ifaces.filter((i) => names.has(i.name));
    for (const i of ifaces) if (!names.has(i.name)) excluded.push({ nic: i.name, reason: 'not in the override list' });
  } else {
    const bestRank = Math.min(...ifaces.map((i) => RANK[i.kind]));
    const bestClass = ifaces.filter((i) => RANK[i.kind] === bestRank);
    const bestSpeed = Math.max(...bestClass.map((i) => i.lineRate));
    chosen = [];
    for (const i of ifaces) {
      if (RANK[i.kind] !== bestRank) {
        excluded.push({ nic: i.name, reason: `${i.kind} interface; a better class (${kindOfRank(bestRank)}) is available` });
      } else if (i.lineRate !== bestSpeed) {
        excluded.push({ nic: i.name, reason: `slower (${formatRate(i.lineRate)}) than the fastest ${i.kind} interface (${formatRate(bestSpeed)})` });
      } else {
        chosen.push(i);
      }
    }
  }
  const per = (k: ChannelKind): number => (k === 'rdma' ? o.connectionsPerRdma : k === 'rss' ? o.connectionsPerRss : o.connectionsPerPlain);
  // Interleave interfaces so that a 32-channel cap trims evenly rather than dropping whole NICs.
  const channels: Channel[] = [];
  const counts = chosen.map((i) => per(i.kind));
  const maxPer = Math.max(...counts);
  for (let c = 0; c < maxPer; c++) {
    chosen.forEach((i, idx) => {
      if (c >= counts[idx]! || channels.length >= o.maxChannels) return;
      // A team's connections hash to its members; we model an even spread (real address hashing can be uneven).
      const member = i.members[c % i.members.length]!;
      channels.push({
        id: channels.length,
        nic: i.name,
        member: member.name,
        kind: i.kind,
        speed: i.lineRate,
        ...(i.address ? { address: i.address } : {}),
      });
    });
  }
  return { channels, excluded, interfaces: ifaces };
}

function kindOfRank(r: number): ChannelKind {
  return r === 0 ? 'rdma' : r === 1 ? 'rss' : 'plain';
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
