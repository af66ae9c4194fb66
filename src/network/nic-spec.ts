// `--nics SPEC`: a network described by its NICs in one short string, such as `2x25g-rdma,1g`,
// `4x10g-team` or `2x10g-team,2x10g-rdma`. Grammar (docs/network.md):
//   SPEC  := GROUP ("," GROUP)*
//   GROUP := [N "x"] SPEED ["-rdma"] ["-team"] ["-norss"]     (the suffixes in any order, each once)
//   SPEED := a number of Gbit/s followed by g ("1g", "2.5g", "25g", "100g"), or any rate of the units
//            grammar ("25Gbit/s", "2.5Gb/s", "100Mbit/s")
// Each group is N NICs of that speed (N = 1 when omitted), named nic1, nic2... across the whole spec.
// RSS is on unless -norss; -rdma makes them RDMA NICs (SMB Direct); -team puts the group's NICs in one
// LBFO team (team1, team2... per teamed group). RDMA NICs cannot be teamed: an LBFO team does not expose
// RDMA. The network's name is the spec; its round trip follows its fastest NIC (rttForLineRate); MTU,
// stream cap and RDMA round trip are the profiles' defaults.

import { InputError, UnitError } from '../errors.js';
import { formatRate, parseRate } from '../units/index.js';
import { profile, rttForLineRate, type Network, type Nic } from './index.js';

/** Most NICs a spec may describe (SMB uses at most 32 channels; this bounds what a typo can allocate). */
export const MAX_SPEC_NICS = 64;

export const NIC_SPEC_GRAMMAR =
  'comma-separated groups [Nx]SPEED[-rdma][-team][-norss], SPEED in Gbit/s such as 1g, 2.5g, 10g, 25g, 40g, 50g, 100g (e.g. 2x25g-rdma,1g or 4x10g-team)';

const SUFFIXES = ['rdma', 'team', 'norss'] as const;
type Suffix = (typeof SUFFIXES)[number];

interface Group {
  count: number;
  lineRate: number;
  flags: Set<Suffix>;
}

/** Build a network from a NIC spec. Errors name `source` (the flag), the group and the grammar. */
export function parseNicSpec(spec: string, source = '--nics'): Network {
  const text = spec.trim();
  if (text === '') throw new InputError({ source, expected: NIC_SPEC_GRAMMAR, got: spec });
  const groups = text.split(',').map((g, i) => parseGroup(g.trim(), i, source));
  const total = groups.reduce((n, g) => n + g.count, 0);
  if (total > MAX_SPEC_NICS) throw new InputError({ source, expected: `at most ${MAX_SPEC_NICS} NICs in all`, got: `${total} NICs in ${spec}` });
  const nics: Nic[] = [];
  let teams = 0;
  for (const g of groups) {
    const team = g.flags.has('team') ? `team${++teams}` : undefined;
    for (let k = 0; k < g.count; k++) {
      nics.push({ name: `nic${nics.length + 1}`, lineRate: g.lineRate, rss: !g.flags.has('norss'), rdma: g.flags.has('rdma'), ...(team ? { team } : {}) });
    }
  }
  const fastest = Math.max(...nics.map((n) => n.lineRate));
  return profile(text, groups.map(describeGroup).join(', '), nics, rttForLineRate(fastest));
}

function parseGroup(group: string, index: number, source: string): Group {
  const fail = (why: string): never => {
    throw new InputError({ source, path: `group ${index + 1} "${group}"`, expected: NIC_SPEC_GRAMMAR, detail: why });
  };
  if (group === '') fail('an empty group');
  const m = /^(?:([0-9]+)\s*x\s*)?(.+)$/i.exec(group)!;
  const count = m[1] === undefined ? 1 : Number(m[1]);
  if (!Number.isSafeInteger(count) || count < 1) fail('the count of NICs must be a whole number of at least 1');
  const [speed, ...rest] = m[2]!.split('-');
  const flags = new Set<Suffix>();
  for (const s of rest) {
    const f = s.toLowerCase();
    if (!(SUFFIXES as readonly string[]).includes(f)) fail(`unknown option "-${s}" (options: -rdma, -team, -norss)`);
    if (flags.has(f as Suffix)) fail(`"-${f}" given twice`);
    flags.add(f as Suffix);
  }
  if (flags.has('rdma') && flags.has('team')) {
    fail('RDMA NICs cannot be teamed: an LBFO team does not expose RDMA, so SMB Direct would be lost; leave them unteamed (SMB multichannel uses every RDMA NIC anyway)');
  }
  return { count, lineRate: parseSpeed(speed!, fail), flags };
}

/** "25g" (Gbit/s) or any rate of the units grammar, in bytes per second. */
function parseSpeed(speed: string, fail: (why: string) => never): number {
  const short = /^([0-9]+(?:\.[0-9]+)?)g$/i.exec(speed);
  let rate: number;
  try {
    rate = parseRate(short ? `${short[1]}Gbit/s` : speed);
  } catch (e) {
    if (e instanceof UnitError) return fail(`"${speed}" is not a speed such as 10g or 25Gbit/s`);
    throw e;
  }
  if (!(rate > 0)) fail(`"${speed}" is not a speed above 0`);
  return rate;
}

function describeGroup(g: Group): string {
  const kind = [g.flags.has('rdma') ? 'RDMA ' : '', 'NIC', g.count > 1 ? 's' : ''].join('');
  const rss = g.flags.has('norss') ? 'without RSS' : 'with RSS';
  const team = g.flags.has('team') ? `, in one LBFO team` : '';
  return `${g.count} x ${formatRate(g.lineRate)} ${kind} ${rss}${team}`;
}
