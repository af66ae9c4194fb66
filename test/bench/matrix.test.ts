import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMatrix, matrixJsonSchema, parseMatrix } from '../../src/bench/matrix.js';
import { packageRoot } from '../../src/bench/paths.js';
import { parseShard, planMatrix, runSeed } from '../../src/bench/plan.js';
import { InputError } from '../../src/errors.js';
import { resolveScenario } from '../../src/scenario.js';

const yaml = (text: string) => parseMatrix(text, 'm.yaml', 'yaml');

const BASE = `
seed: 7
repeats: 2
axes:
  modes: [cluster]
  networks: [1g, 10g]
  transports: [tcp, smb]
  workloads: [idle, oltp]
  vms: [1GiB]
  policies: [hyperv]
`;

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('matrix files', () => {
  it('the committed JSON Schema is the one the code exports (run `npm run bench:schema` after a change)', () => {
    const file = JSON.parse(readFileSync(join(packageRoot(), 'bench', 'matrix.schema.json'), 'utf8'));
    expect(file).toEqual(matrixJsonSchema());
    expect(file.properties.axes.properties.networks.items.anyOf[0].enum).toContain('2x10g');
  });

  it('the default matrix is the one issue 5 names', () => {
    const { matrix: m } = loadMatrix('default');
    expect(m.axes!.modes).toEqual(['cluster', 'smb-share', 'shared-nothing']);
    expect(m.axes!.networks).toEqual(['1g', '2x1g', '2x1g-team', '10g', '2x10g', '10g-rdma']);
    expect(m.axes!.transports).toEqual(['tcp', 'compression', 'smb']);
    expect(m.axes!.workloads).toEqual(['idle', 'web', 'oltp', 'vdi', 'churn']);
    expect(m.axes!.vms).toEqual([{ memory: '8GiB', disk: '100GiB' }]);
    expect(m.repeats).toBe(3);
    expect(m.exclude.every((e) => e.reason.length > 20)).toBe(true);
  });

  it('the default matrix plans 720 runs once the simulator takes its modes, and until then names the mode it cannot run', () => {
    const loaded = loadMatrix('default');
    let smbShare = true;
    try {
      resolveScenario({ mode: 'smb-share' });
    } catch {
      smbShare = false;
    }
    if (smbShare) {
      expect(planMatrix(loaded).runs).toHaveLength((3 * 6 * 3 * 5 - 3 * 2 * 5) * 3);
    } else {
      const e = inputError(() => planMatrix(loaded));
      expect(e.message).toMatch(/bench\/default\.yaml: axes\.modes\[1\]: expected cluster/);
    }
    // Its cluster part: 6 networks x 3 transports x 5 workloads less the 2 x 5 excluded RDMA rows.
    const cluster = { ...loaded, matrix: { ...loaded.matrix, axes: { ...loaded.matrix.axes!, modes: ['cluster' as const] } } };
    const plan = planMatrix(cluster);
    expect(plan.scenarios).toHaveLength(80);
    expect(plan.excluded[0]!.scenarios).toBe(10);
    expect(plan.scenarios.some((s) => s.labels.network === '10g-rdma' && s.labels.transport !== 'smb')).toBe(false);
  });

  it.each(['nightly', 'quick'])('the %s matrix plans and validates', (name) => {
    const plan = planMatrix(loadMatrix(name));
    expect(plan.runs.length).toBeGreaterThan(0);
    expect(new Set(plan.runs.map((r) => r.runId)).size).toBe(plan.runs.length);
  });

  it('reads JSON as well as YAML', () => {
    const m = parseMatrix(JSON.stringify({ axes: { modes: ['cluster'], networks: ['1g'], transports: ['tcp'], workloads: ['idle'], vms: ['1GiB'], policies: ['xen'] } }), 'm.json', 'json');
    expect(m.matrix.seed).toBe(1);
    expect(m.matrix.repeats).toBe(1);
    expect(planMatrix(m).runs).toHaveLength(1);
  });
});

describe('matrix validation names the file, the field path and the expected form', () => {
  it.each([
    [BASE.replace('[1g, 10g]', '[1g, 5q]'), 'm.yaml: axes.networks[1]', 'a network profile (1g, 2x1g'],
    [BASE.replace('[1g, 10g]', '[1g, "2x25Gbit/s"]'), 'm.yaml: axes.networks[1]', 'write each speed in Gbit/s as 25g'],
    [BASE.replace('[1g, 10g]', '[1g, 2x25g-rdma-team]'), 'm.yaml: axes.networks[1]', 'RDMA NICs cannot be teamed'],
    [BASE.replace('[tcp, smb]', '[tcp, udp]'), 'm.yaml: axes.transports[1]', 'one of tcp, compression, smb'],
    [BASE.replace('[1GiB]', '[eight]'), 'm.yaml: axes.vms[0]', 'a size such as 8GiB'],
    [BASE.replace('[1GiB]', '[{memory: 1GiB, disk: lots}]'), 'm.yaml: axes.vms[0].disk', 'a size such as 100GiB'],
    [BASE.replace('[1GiB]', '[{memory: 1GiB, cpus: 4}]'), 'm.yaml: axes.vms[0].cpus', 'a known field (name, memory, disk)'],
    [BASE.replace('[hyperv]', '[{policy: qemu, downtimeLimit: soon}]'), 'm.yaml: axes.policies[0].downtimeLimit', 'a duration such as 300ms'],
    [BASE.replace('[hyperv]', '[vmware]'), 'm.yaml: axes.policies[0]', 'hyperv'],
    [BASE + 'set: { mtu: 100 }\n', 'm.yaml: set.mtu', 'at least 576'],
    [BASE + 'set: { network: 10g }\n', 'm.yaml: set.network', 'a known field'],
    [BASE + 'exclude: [{ network: 2x10g, reason: nope }]\n', 'm.yaml: exclude[0].network', 'a value of axes.networks (1g, 10g)'],
    [BASE + 'exclude: [{ reason: everything }]\n', 'm.yaml: exclude[0]', 'at least one of mode'],
    [BASE.replace('[idle, oltp]', '[idle, idle]'), 'm.yaml: axes.workloads[1]', 'once per axis'],
    [BASE.replace('repeats: 2', 'repeats: 0'), 'm.yaml: repeats', '>=1'],
    [BASE.replace('axes:', 'axis:'), 'm.yaml: axis', 'a known field'],
    [BASE.replace('[idle, oltp]', '[]'), 'm.yaml: axes.workloads', '>=1'],
  ])('%#: %s', (text, where, form) => {
    const e = inputError(() => planMatrix(yaml(text)));
    expect(e.message).toContain(where);
    expect(e.message).toContain(form);
  });

  it('a missing field is named as required', () => {
    const e = inputError(() => planMatrix(yaml(BASE.replace('  policies: [hyperv]\n', ''))));
    expect(e.message).toBe('m.yaml: axes.policies: expected a value (array): the field is required');
  });

  it('a YAML syntax error names the file', () => {
    const e = inputError(() => yaml('axes: [1, 2'));
    expect(e.message).toMatch(/^m\.yaml: expected valid YAML/);
  });

  it('an unknown named matrix lists the named ones', () => {
    const e = inputError(() => loadMatrix('nosuchmatrix'));
    expect(e.message).toContain('--matrix');
    expect(e.message).toContain('default, nightly, quick');
  });
});

describe('a networks axis of NIC specs (--nics)', () => {
  it('runs a NIC spec beside the profiles: the spec is the network label, and the run gets its NICs', () => {
    const plan = planMatrix(yaml(BASE.replace('[1g, 10g]', '[10g, "2x25g-rdma,1g"]')));
    const spec = plan.scenarios.filter((s) => s.labels.network === '2x25g-rdma,1g');
    expect(spec.length).toBe(plan.scenarios.length / 2);
    expect(spec[0]!.input.nics).toBe('2x25g-rdma,1g');
    expect(spec[0]!.input.network).toBeUndefined();
    const s = resolveScenario(spec[0]!.input);
    expect(s.network.nics.map((n) => [n.lineRate, n.rdma])).toEqual([[25e9 / 8, true], [25e9 / 8, true], [1e9 / 8, false]]);
    const named = plan.scenarios.find((x) => x.labels.network === '10g')!;
    expect(named.input.network).toBe('10g');
    expect(named.input.nics).toBeUndefined();
  });

  it('an exclude can name a NIC spec of the axis', () => {
    const plan = planMatrix(yaml(BASE.replace('[1g, 10g]', '[10g, 4x10g-team]') + 'exclude: [{ network: 4x10g-team, transport: tcp, reason: one stream per team member }]\n'));
    expect(plan.scenarios.some((s) => s.labels.network === '4x10g-team' && s.labels.transport === 'tcp')).toBe(false);
    expect(plan.scenarios.some((s) => s.labels.network === '4x10g-team' && s.labels.transport === 'smb')).toBe(true);
  });
});

describe('plans, seeds and shards', () => {
  const plan = planMatrix(yaml(BASE));

  it('expands the axes in order, with repeats innermost', () => {
    expect(plan.scenarios.map((s) => s.key)).toEqual([
      'cluster/1g/tcp/idle/1GiB/hyperv',
      'cluster/1g/tcp/oltp/1GiB/hyperv',
      'cluster/1g/smb/idle/1GiB/hyperv',
      'cluster/1g/smb/oltp/1GiB/hyperv',
      'cluster/10g/tcp/idle/1GiB/hyperv',
      'cluster/10g/tcp/oltp/1GiB/hyperv',
      'cluster/10g/smb/idle/1GiB/hyperv',
      'cluster/10g/smb/oltp/1GiB/hyperv',
    ]);
    expect(plan.runs.map((r) => r.index)).toEqual([...Array(16).keys()]);
    expect(plan.runs[3]!.runId).toBe('cluster/1g/tcp/oltp/1GiB/hyperv#1');
  });

  it('derives each seed from the matrix seed, the scenario key and the repeat only', () => {
    for (const r of plan.runs) expect(r.seed).toBe(runSeed(7, r.scenario.key, r.repeat));
    expect(new Set(plan.runs.map((r) => r.seed)).size).toBe(plan.runs.length);
    // Adding a value to an axis leaves the seeds of the existing scenarios as they were.
    const bigger = planMatrix(yaml(BASE.replace('[1g, 10g]', '[1g, 2x1g, 10g]')));
    const seeds = new Map(bigger.runs.map((r) => [r.runId, r.seed]));
    for (const r of plan.runs) expect(seeds.get(r.runId)).toBe(r.seed);
    expect(planMatrix(yaml(BASE), { seed: 8 }).runs[0]!.seed).not.toBe(plan.runs[0]!.seed);
  });

  it('shards split the scenarios (all repeats of one together): disjoint, and together the whole', () => {
    const parts = [1, 2, 3].map((i) => planMatrix(yaml(BASE), { shard: { index: i, count: 3 } }));
    const ids = parts.flatMap((p) => p.runs.map((r) => r.runId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(plan.runs.map((r) => r.runId).sort());
    for (const p of parts) for (const r of p.runs) expect(r.seed).toBe(plan.runs[r.index]!.seed);
    for (const p of parts) for (const s of p.scenarios) expect(p.runs.filter((r) => r.scenario.key === s.key)).toHaveLength(2);
  });

  it('parses --shard i/n', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(/--shard: expected i\/n/);
  });

  it('labels VMs and policies, and passes policy options to the scenario', () => {
    const p = planMatrix(yaml(BASE.replace('[1GiB]', '[{name: small, memory: 1GiB}, 2GiB]').replace('[hyperv]', '[{policy: qemu, autoConverge: true}, {name: q2, policy: qemu, downtimeLimit: 100ms}]')));
    expect(p.scenarios[0]!.key).toBe('cluster/1g/tcp/idle/small/qemu(autoConverge=true)');
    expect(p.scenarios[1]!.key).toBe('cluster/1g/tcp/idle/small/q2');
    expect(p.scenarios[1]!.input).toMatchObject({ policy: 'qemu', downtimeLimit: '100ms', memory: '1GiB' });
    expect(p.scenarios[2]!.labels.vm).toBe('2GiB');
  });
});
