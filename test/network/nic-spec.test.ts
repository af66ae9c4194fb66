import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { memoryIo } from '../../src/cli/io.js';
import { simulate } from '../../src/drivers/sim/index.js';
import { InputError } from '../../src/errors.js';
import { getNetwork, NETWORK_DEFAULTS, NETWORK_NAMES } from '../../src/network/index.js';
import { NIC_SPEC_GRAMMAR, parseNicSpec } from '../../src/network/nic-spec.js';
import { resolveScenario } from '../../src/scenario.js';
import { selectChannels } from '../../src/transport/selection.js';

const G = 1e9 / 8;

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

describe('--nics grammar', () => {
  it('builds NICs group by group: counts, speeds, RDMA, teams per group, RSS unless -norss', () => {
    const n = parseNicSpec('2x25g-rdma,1g');
    expect(n.name).toBe('2x25g-rdma,1g');
    expect(n.nics).toEqual([
      { name: 'nic1', lineRate: 25 * G, rss: true, rdma: true },
      { name: 'nic2', lineRate: 25 * G, rss: true, rdma: true },
      { name: 'nic3', lineRate: 1 * G, rss: true, rdma: false },
    ]);
    expect(n.description).toBe('2 x 25 Gbit/s RDMA NICs with RSS, 1 x 1 Gbit/s NIC with RSS');
    expect(n.rtt).toBe(NETWORK_DEFAULTS.rtt10g);
    expect(n.rdmaRtt).toBe(NETWORK_DEFAULTS.rdmaRtt);
    expect(n.mtu).toBe(1500);
    expect(n.streamCap).toBe(NETWORK_DEFAULTS.streamCap);

    expect(parseNicSpec('4x10g-team').nics.map((x) => [x.name, x.team])).toEqual([1, 2, 3, 4].map((i) => [`nic${i}`, 'team1']));
    const mixed = parseNicSpec('2x10g-team,2x10g-rdma').nics;
    expect(mixed.map((x) => [x.team ?? null, x.rdma])).toEqual([['team1', false], ['team1', false], [null, true], [null, true]]);
    expect(parseNicSpec('2x1g-team,10g,2x1g-team').nics.map((x) => x.team ?? null)).toEqual(['team1', 'team1', null, 'team2', 'team2']);
    expect(parseNicSpec('1g-norss').nics[0]!.rss).toBe(false);
    expect(parseNicSpec('2x10g-norss-team').nics).toEqual(parseNicSpec('2x10g-team-norss').nics);
    // any rate of the units grammar, in Gbit/s by default
    const slow = parseNicSpec('2.5g');
    expect(slow.nics[0]!.lineRate).toBe(2.5 * G);
    expect(slow.rtt).toBe(NETWORK_DEFAULTS.rtt1g); // below 10 Gbit/s: the 1GbE round trip
    expect(parseNicSpec('50g').nics[0]!.lineRate).toBe(50 * G);
    expect(parseNicSpec('25Gbit/s, 100Mbit/s').nics.map((x) => x.lineRate)).toEqual([25 * G, 12.5e6]);
    expect(parseNicSpec('1g,100g').rtt).toBe(NETWORK_DEFAULTS.rtt10g); // the fastest NIC decides
  });

  it('refuses bad specs naming --nics, the group and the grammar', () => {
    expect(message(() => parseNicSpec('10g-rdma-team'))).toBe(
      `--nics: group 1 "10g-rdma-team": expected ${NIC_SPEC_GRAMMAR} (RDMA NICs cannot be teamed: an LBFO team does not expose RDMA, so SMB Direct would be lost; leave them unteamed (SMB multichannel uses every RDMA NIC anyway))`,
    );
    expect(message(() => parseNicSpec('1g,2x10g-team-rdma'))).toMatch(/^--nics: group 2 "2x10g-team-rdma": .*RDMA NICs cannot be teamed/);
    expect(message(() => parseNicSpec(''))).toBe(`--nics: expected ${NIC_SPEC_GRAMMAR}, got ""`);
    expect(message(() => parseNicSpec('1g,,10g'))).toMatch(/^--nics: group 2 "": .*\(an empty group\)$/);
    expect(message(() => parseNicSpec('0x10g'))).toMatch(/group 1 "0x10g": .*\(the count of NICs must be a whole number of at least 1\)$/);
    expect(message(() => parseNicSpec('10g-fast'))).toMatch(/group 1 "10g-fast": .*\(unknown option "-fast" \(options: -rdma, -team, -norss\)\)$/);
    expect(message(() => parseNicSpec('10g-rdma-rdma'))).toMatch(/\("-rdma" given twice\)$/);
    expect(message(() => parseNicSpec('2xfast'))).toMatch(/group 1 "2xfast": .*\("fast" is not a speed such as 10g or 25Gbit\/s\)$/);
    expect(message(() => parseNicSpec('10gb'))).toMatch(/"10gb" is not a speed/);
    expect(message(() => parseNicSpec('0g'))).toMatch(/"0g" is not a speed above 0/);
    expect(message(() => parseNicSpec('40x1g,30x1g'))).toBe('--nics: expected at most 64 NICs in all, got "70 NICs in 40x1g,30x1g"');
    expect(message(() => parseNicSpec('x', '--foo'))).toMatch(/^--foo: group 1/);
  });
});

describe('named profiles', () => {
  it('keeps the seven original profiles and adds 25, 40, 100 GbE with RDMA variants', () => {
    expect(NETWORK_NAMES).toEqual(['1g', '2x1g', '2x1g-team', '10g', '2x10g', '10g-rdma', '2x10g-rdma', '25g', '40g', '100g', '25g-rdma', '40g-rdma', '100g-rdma', '2x25g', '2x25g-rdma']);
    // the originals, exactly as the nightly baseline knows them
    const summary = (name: string) => {
      const n = getNetwork(name);
      return [n.nics.map((x) => `${x.name}:${x.lineRate / G}:${x.rss}:${x.rdma}:${x.team ?? '-'}`).join(' '), n.rtt, n.rdmaRtt, n.mtu, n.streamCap];
    };
    expect(summary('1g')).toEqual(['nic1:1:true:false:-', 150e-6, 5e-6, 1500, 4 * G]);
    expect(summary('2x1g-team')).toEqual(['nic1:1:true:false:team1 nic2:1:true:false:team1', 150e-6, 5e-6, 1500, 4 * G]);
    expect(summary('2x10g-rdma')).toEqual(['nic1:10:true:true:- nic2:10:true:true:-', 50e-6, 5e-6, 1500, 4 * G]);
    expect(summary('100g-rdma')).toEqual(['nic1:100:true:true:-', 50e-6, 5e-6, 1500, 4 * G]);
    expect(summary('2x25g')).toEqual(['nic1:25:true:false:- nic2:25:true:false:-', 50e-6, 5e-6, 1500, 4 * G]);
  });

  it('every profile name is also a spec that builds the same network', () => {
    for (const name of NETWORK_NAMES) {
      const { description: _a, ...profile } = getNetwork(name);
      const { description: _b, ...spec } = parseNicSpec(name);
      expect(spec, name).toEqual(profile);
    }
  });
});

describe('SMB 3 channel selection on parsed specs', () => {
  const picked = (spec: string) => {
    const s = selectChannels(parseNicSpec(spec).nics);
    return { channels: s.channels.map((c) => `${c.nic}:${c.kind}`), excluded: s.excluded.map((e) => e.nic) };
  };
  it('RDMA first (2 connections per NIC), then RSS (4), only the fastest of the best class; a team is one interface', () => {
    expect(picked('2x25g-rdma,1g')).toEqual({ channels: ['nic1:rdma', 'nic2:rdma', 'nic1:rdma', 'nic2:rdma'], excluded: ['nic3'] });
    expect(picked('2x25g,10g')).toEqual({ channels: Array.from({ length: 8 }, (_, i) => `nic${(i % 2) + 1}:rss`), excluded: ['nic3'] });
    expect(picked('4x10g-team')).toEqual({ channels: Array(4).fill('team1:rss'), excluded: [] });
    expect(picked('2x10g-team,2x10g-rdma')).toEqual({ channels: ['nic3:rdma', 'nic4:rdma', 'nic3:rdma', 'nic4:rdma'], excluded: ['team1'] });
    expect(picked('2x1g-norss')).toEqual({ channels: ['nic1:plain', 'nic2:plain'], excluded: [] });
  });
});

describe('--nics in scenarios and on the command line', () => {
  it('replaces --network; refused beside --link-rate; errors name --nics; --mtu and --rtt still apply', () => {
    const s = resolveScenario({ nics: '2x25g-rdma,1g', network: '1g', mtu: '9000', rtt: '20us' });
    expect(s.network.name).toBe('2x25g-rdma,1g');
    expect(s.network.nics).toHaveLength(3);
    expect(s.network.mtu).toBe(9000);
    expect(s.network.rtt).toBeCloseTo(20e-6, 12);
    expect(message(() => resolveScenario({ nics: '1g', linkRate: '1Gbit/s' }))).toBe('--nics: expected either --nics or --link-rate, not both (each replaces the network), got "1g"');
    expect(message(() => resolveScenario({ nics: '10g-rdma-team' }))).toMatch(/^--nics: group 1 "10g-rdma-team": /);
  });

  it('simulate --nics gives the record --network gives for the same NICs, but for the network name', () => {
    const base = { memory: '1GiB', workload: 'oltp', transport: 'smb', seed: 7 } as const;
    for (const [profile, spec] of [
      ['1g', '1x1g'],
      ['2x10g-rdma', '2x10g-rdma'],
      ['2x1g-team', '2x1Gbit/s-team'],
    ] as const) {
      const a = simulate(resolveScenario({ ...base, network: profile }));
      const b = simulate(resolveScenario({ ...base, nics: spec }));
      expect(b.network).toBe(spec);
      expect({ ...b, network: a.network }).toEqual(a);
    }
    expect(simulate(resolveScenario({ ...base, nics: '1g' }))).toEqual(simulate(resolveScenario({ ...base, network: '1g' })));
  });

  it('migbench simulate --nics and migbench channels --nics SPEC', async () => {
    const cli = async (...args: string[]) => {
      const io = memoryIo();
      const code = await run(['node', 'migbench', ...args], io);
      return { code, out: io.stdout, err: io.stderr };
    };
    const sim = await cli('simulate', '--nics', '2x25g-rdma,1g', '--transport', 'smb', '--memory', '1GiB', '--json');
    expect(sim.code).toBe(0);
    expect(JSON.parse(sim.out).network).toBe('2x25g-rdma,1g');
    const ch = await cli('channels', '--nics', '2x25g-rdma,1g', '--json');
    expect(ch.code).toBe(0);
    expect(JSON.parse(ch.out).channels).toEqual(Array(4).fill(0).map((_, i) => ({ nic: `nic${(i % 2) + 1}`, kind: 'rdma', speed_bps: 25e9 })));
    const bad = await cli('channels', '--nics', '4x10g-rdma-team');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--nics: group 1 "4x10g-rdma-team": .*RDMA NICs cannot be teamed/);
    const missing = await cli('channels', '--nics', 'no-such-file.json');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--nics: expected a readable JSON file/);
  });
});
