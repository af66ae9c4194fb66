// `migbench channels`: which SMB 3 multichannel channels a network gets, and why each NIC is used or not.

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { getNetwork, NETWORK_NAMES, type Nic } from '../../network/index.js';
import { loadNics } from '../../network/nic-file.js';
import { parseNicSpec } from '../../network/nic-spec.js';
import { selectChannels, type SelectionOptions } from '../../transport/selection.js';
import { formatRate } from '../../units/index.js';
import { intFlag } from '../flags.js';
import type { Io } from '../io.js';

export function registerChannels(program: Command, io: Io): void {
  program
    .command('channels')
    .description('show the SMB 3 multichannel channels chosen for a network and why each NIC is used or left out')
    .option('--network <name>', `a named network: ${NETWORK_NAMES.join(', ')}`)
    .option('--nics <spec|file>', 'NICs instead: a spec such as 2x25g-rdma,1g or 4x10g-team, or a JSON NIC list file (.json) {"nics": [{"name", "speed", "rss", "rdma", "team"?, "address"?}]}')
    .option('--connections-per-rss <n>', 'connections per RSS interface (SMB default 4)')
    .option('--connections-per-rdma <n>', 'connections per RDMA interface (SMB default 2)')
    .option('--max-channels <n>', 'channel cap per session (SMB default 32)')
    .option('--only <names>', 'use exactly these interfaces (comma-separated), whatever their class and speed')
    .option('--disable-rdma', 'treat RDMA NICs as RSS NICs (SMB Direct off)')
    .option('--json', 'print one JSON object')
    .action((o: Record<string, string | boolean | undefined>) => {
      if ((o.network === undefined) === (o.nics === undefined)) {
        throw new InputError({ source: '--network/--nics', expected: 'exactly one of --network NAME or --nics SPEC|FILE' });
      }
      const nics: Nic[] = o.nics !== undefined ? nicsFrom(String(o.nics)) : getNetwork(String(o.network)).nics;
      const opts: SelectionOptions = {
        ...int(o, 'connections-per-rss', 'connectionsPerRss'),
        ...int(o, 'connections-per-rdma', 'connectionsPerRdma'),
        ...int(o, 'max-channels', 'maxChannels'),
        ...(typeof o.only === 'string' ? { only: o.only.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        ...(o.disableRdma ? { disableRdma: true } : {}),
      };
      const sel = selectChannels(nics, opts);
      if (o.json) {
        io.out(
          `${JSON.stringify({
            channels: sel.channels.map((c) => ({ nic: c.nic, kind: c.kind, speed_bps: c.speed * 8 })),
            excluded: sel.excluded.map((e) => ({ nic: e.nic, reason: e.reason })),
          })}\n`,
        );
        return;
      }
      const used = new Map<string, number>();
      for (const c of sel.channels) used.set(c.nic, (used.get(c.nic) ?? 0) + 1);
      io.out(`${sel.channels.length} channel${sel.channels.length === 1 ? '' : 's'} on ${used.size} interface${used.size === 1 ? '' : 's'}\n`);
      for (const i of sel.interfaces) {
        const n = used.get(i.name);
        const members = i.members.length > 1 ? ` (team of ${i.members.map((m) => m.name).join(', ')})` : '';
        if (n) io.out(`  ${i.name}${members}: ${i.kind}, ${formatRate(i.lineRate)}: ${n} channel${n === 1 ? '' : 's'} (${whyUsed(i.kind, opts)})\n`);
      }
      for (const e of sel.excluded) io.out(`  ${e.nic}: not used: ${e.reason}\n`);
    });
}

/** `--nics`: a JSON file when the value ends in .json or names an existing file, else a NIC spec. */
function nicsFrom(value: string): Nic[] {
  return value.toLowerCase().endsWith('.json') || existsSync(value) ? loadNics(value) : parseNicSpec(value, '--nics').nics;
}

function whyUsed(kind: 'rdma' | 'rss' | 'plain', o: SelectionOptions): string {
  if (o.only && o.only.length > 0) return 'named by --only';
  const per =
    kind === 'rdma' ? `${o.connectionsPerRdma ?? 2} per RDMA interface` : kind === 'rss' ? `${o.connectionsPerRss ?? 4} per RSS interface` : `${o.connectionsPerPlain ?? 1} per interface without RSS`;
  return `best class and speed; ${per}`;
}

const FLAG_KEY: Record<string, string> = { 'connections-per-rss': 'connectionsPerRss', 'connections-per-rdma': 'connectionsPerRdma', 'max-channels': 'maxChannels' };

function int(o: Record<string, unknown>, flag: string, key: keyof SelectionOptions): Partial<SelectionOptions> {
  const v = o[FLAG_KEY[flag] ?? flag];
  return v === undefined ? {} : { [key]: intFlag(`--${flag}`, String(v), 1) };
}
