// Issue 11, item 4: the matrix's evacuations section. Validation names the file and the field path;
// the expansion caps count an evacuation's VMs; planning gives stable keys and seeds that depend only on
// the matrix seed, the key and the repeat (not on order, other axis values or shards).
import { describe, expect, it } from 'vitest';
import { loadMatrix, parseMatrix } from '../../src/bench/matrix.js';
import { planMatrix, runSeed } from '../../src/bench/plan.js';
import { InputError } from '../../src/errors.js';

const yaml = (text: string) => parseMatrix(text, 'm.yaml', 'yaml');

const RUNS = `
seed: 7
repeats: 2
axes:
  modes: [cluster]
  networks: [10g]
  transports: [tcp]
  workloads: [idle]
  vms: [1GiB]
  policies: [hyperv]
`;

const EVAC = `
evacuations:
  axes:
    vms: [4, 8]
    maxLive: [1, 2]
    networks: [10g, 2x10g]
    transports: [tcp, smb]
  set: { memory: 2GiB, workload: web, mode: cluster, maxStorage: 3, destinations: 2, destMemory: 64GiB, order: largest-first, window: 30min }
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

describe('the evacuations section: validation names the file, the field path and the expected form', () => {
  it.each([
    [EVAC.replace('[10g, 2x10g]', '[10g, 5q]'), 'm.yaml: evacuations.axes.networks[1]', 'a network profile (1g, 2x1g'],
    [EVAC.replace('[tcp, smb]', '[tcp, rdma]'), 'm.yaml: evacuations.axes.transports[1]', 'one of tcp, compression, smb'],
    [EVAC.replace('maxLive: [1, 2]', 'maxLive: [0, 2]'), 'm.yaml: evacuations.axes.maxLive[0]', '>=1'],
    [EVAC.replace('maxLive: [1, 2]', 'maxLive: [1, 65]'), 'm.yaml: evacuations.axes.maxLive[1]', '<=64'],
    [EVAC.replace('vms: [4, 8]', 'vms: [4, many]'), 'm.yaml: evacuations.axes.vms[1]', 'number'],
    [EVAC.replace('maxLive: [1, 2]', 'maxLive: [2, 2]'), 'm.yaml: evacuations.axes.maxLive[1]', 'each value once per axis'],
    [EVAC.replace('    transports: [tcp, smb]\n', '    transport: [tcp, smb]\n'), 'm.yaml: evacuations.axes.transport', 'a known field (vms, maxLive, networks, transports)'],
    [EVAC.replace('  axes:', '  axis:'), 'm.yaml: evacuations.axis', 'a known field (axes, set, repeats)'],
    [EVAC.replace('mode: cluster,', 'network: 10g,'), 'm.yaml: evacuations.set.network', 'a known field'],
    [EVAC.replace('mode: cluster,', 'seed: 3,'), 'm.yaml: evacuations.set.seed', 'a known field'],
    [EVAC.replace('mode: cluster,', 'fault: nic-down@30s,'), 'm.yaml: evacuations.set.fault', 'a known field'],
    [EVAC.replace('memory: 2GiB', 'memory: lots'), 'm.yaml: evacuations.set.memory', 'a size such as 8GiB'],
    [EVAC.replace('mode: cluster', 'mode: storage'), 'm.yaml: evacuations.set.mode', 'cluster, smb-share or shared-nothing'],
    [EVAC.replace('destMemory: 64GiB', 'destMemory: plenty'), 'm.yaml: evacuations.set.destMemory', 'a size such as 256GiB'],
    [EVAC.replace('window: 30min', 'window: soon'), 'm.yaml: evacuations.set.window', 'a duration such as 2h'],
    [EVAC.replace('order: largest-first', 'order: random'), 'm.yaml: evacuations.set.order', 'one of inventory, largest-first, smallest-first'],
    [EVAC.replace('maxStorage: 3', 'maxStorage: 0'), 'm.yaml: evacuations.set.maxStorage', '>=1'],
    [EVAC + '  repeats: 0\n', 'm.yaml: evacuations.repeats', '>=1'],
  ])('%#: %s', (text, where, form) => {
    const e = inputError(() => planMatrix(yaml(RUNS + text)));
    expect(e.message).toContain(where);
    expect(e.message).toContain(form);
  });

  it('a missing axis is named as required', () => {
    const e = inputError(() => planMatrix(yaml(EVAC.replace('    transports: [tcp, smb]\n', ''))));
    expect(e.message).toBe('m.yaml: evacuations.axes.transports: expected a value (array): the field is required');
  });

  it('a matrix needs axes, an evacuations section, or both; excludes need axes', () => {
    expect(inputError(() => yaml('seed: 1\n')).message).toBe('m.yaml: axes: expected a value (object): the field is required (unless the matrix has an evacuations section)');
    const e = inputError(() => planMatrix(yaml(EVAC + 'exclude: [{ network: 10g, reason: no }]\n')));
    expect(e.message).toContain('m.yaml: exclude[0]: expected no excludes in a matrix without axes');
  });

  it('the expansion caps count every VM an evacuation moves, and say so', () => {
    // 100,000 VMs x 10 max-live values: a million simulated migrations, with the one run beside them.
    const big = (RUNS + EVAC).replace('repeats: 2', 'repeats: 1').replace('vms: [4, 8]', 'vms: [100000]').replace('maxLive: [1, 2]', `maxLive: [${Array.from({ length: 10 }, (_, i) => i + 1).join(', ')}]`).replace('[10g, 2x10g]', '[10g]').replace('[tcp, smb]', '[tcp]');
    const e = inputError(() => yaml(big));
    expect(e.message).toContain('m.yaml: evacuations: expected at most 1,000,000 simulations (an evacuation run costs about one simulation per VM it moves, so its VMs are counted)');
    expect(e.message).toContain('1 runs + 10 evacuations x 1 repeats moving 1,000,000 VMs = 1,000,001 simulations');
    // The same with 9 max-live values fits; --repeats 2 doubles the evacuations' VMs too (they follow the matrix's repeats).
    const fits = yaml(big.replace(', 10]', ']'));
    expect(() => planMatrix(fits)).not.toThrow();
    expect(inputError(() => planMatrix(fits, { repeats: 2 })).message).toContain('moving 1,800,000 VMs');
  });
});

describe('planning evacuations', () => {
  const plan = planMatrix(yaml(RUNS + EVAC));
  const ev = plan.evacuations!;

  it('a NIC spec in its networks axis gives each VM those NICs (--nics)', () => {
    const p = planMatrix(yaml(EVAC.replace('[10g, 2x10g]', '[10g, "2x25g,1g"]')));
    const spec = p.evacuations!.scenarios.filter((s) => s.labels.network === '2x25g,1g');
    expect(spec.length).toBeGreaterThan(0);
    expect(spec[0]!.key).toMatch(/^evacuation\/2x25g,1g\//);
    expect(spec[0]!.input.nics).toBe('2x25g,1g');
    expect(spec[0]!.input.network).toBeUndefined();
  });

  it('expands networks x transports x VM counts x max-live (max-live innermost), keyed by their labels', () => {
    expect(ev.scenarios.map((s) => s.key)).toEqual(
      ['10g', '2x10g'].flatMap((n) => ['tcp', 'smb'].flatMap((t) => [4, 8].flatMap((v) => [1, 2].map((l) => `evacuation/${n}/${t}/${v}vms/live${l}`)))),
    );
    expect(ev.totalScenarios).toBe(16);
    expect(ev.repeats).toBe(2); // the matrix's
    expect(ev.runs).toHaveLength(32);
    expect(ev.runs.map((r) => r.index)).toEqual([...Array(32).keys()]);
    expect(ev.runs[3]!.runId).toBe('evacuation/10g/tcp/4vms/live2#1');
    const s = ev.scenarios[5]!; // 10g / smb / 4 VMs / live 2
    expect(s.labels).toEqual({ network: '10g', transport: 'smb', vms: 4, max_live: 2 });
    expect(s.input).toEqual({ memory: '2GiB', workload: 'web', mode: 'cluster', network: '10g', transport: 'smb' });
    expect(s.evacuation).toEqual({ vms: 4, maxLive: 2, maxStorage: 3, destinations: 2, destMemory: '64GiB', order: 'largest-first', window: '30min' });
    // The runs are planned as before, beside them.
    expect(plan.runs.map((r) => r.runId)).toEqual(['cluster/10g/tcp/idle/1GiB/hyperv#0', 'cluster/10g/tcp/idle/1GiB/hyperv#1']);
  });

  it("derives each seed from the matrix seed, the key and the repeat only: other axis values and --seed's", () => {
    for (const r of ev.runs) expect(r.seed).toBe(runSeed(7, r.scenario.key, r.repeat));
    expect(new Set(ev.runs.map((r) => r.seed)).size).toBe(ev.runs.length);
    // Adding axis values (and dropping the runs' axes) leaves the seeds of the existing evacuations as they were.
    const bigger = planMatrix(yaml('seed: 7\nrepeats: 2\n' + EVAC.replace('maxLive: [1, 2]', 'maxLive: [8, 1, 2]').replace('[10g, 2x10g]', '[1g, 10g, 2x10g]')));
    const seeds = new Map(bigger.evacuations!.runs.map((r) => [r.runId, r.seed]));
    for (const r of ev.runs) expect(seeds.get(r.runId)).toBe(r.seed);
    expect(planMatrix(yaml(RUNS + EVAC), { seed: 8 }).evacuations!.runs[0]!.seed).not.toBe(ev.runs[0]!.seed);
  });

  it('its own repeats win over the matrix (and --repeats), which it follows otherwise', () => {
    expect(planMatrix(yaml(RUNS + EVAC), { repeats: 3 }).evacuations!.repeats).toBe(3);
    const own = planMatrix(yaml(RUNS + EVAC + '  repeats: 1\n'), { repeats: 3 });
    expect(own.evacuations!.repeats).toBe(1);
    expect(own.evacuations!.runs).toHaveLength(16);
    expect(own.repeats).toBe(3);
  });

  it('shards take evacuation scenario k when k mod n = i - 1 (counted on their own), all repeats together, seeds unchanged', () => {
    const parts = [1, 2, 3].map((i) => planMatrix(yaml(RUNS + EVAC), { shard: { index: i, count: 3 } }).evacuations!);
    const ids = parts.flatMap((p) => p.runs.map((r) => r.runId));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ev.runs.map((r) => r.runId).sort());
    parts.forEach((p, i) => {
      expect(p.totalScenarios).toBe(16);
      for (const s of p.scenarios) expect(s.index % 3).toBe(i);
      for (const r of p.runs) expect(r.seed).toBe(ev.runs[r.index]!.seed);
    });
    expect(parts.map((p) => p.scenarios.length)).toEqual([6, 5, 5]);
  });

  it('a matrix of evacuations only plans no run; one without evacuations plans none', () => {
    const only = planMatrix(yaml(EVAC));
    expect(only.runs).toEqual([]);
    expect(only.totalScenarios).toBe(0);
    expect(only.evacuations!.runs).toHaveLength(16);
    expect(planMatrix(yaml(RUNS)).evacuations).toBeNull();
  });

  it('the default matrix has the small sweep: 8 VMs x max-live 1, 2, 4 x 10g, 2x10g x tcp, smb, once each', () => {
    const d = planMatrix(loadMatrix('default'));
    expect(d.runs).toHaveLength(720);
    expect(d.evacuations!.runs).toHaveLength(12);
    expect(d.evacuations!.scenarios[0]!.input).toMatchObject({ memory: '8GiB', workload: 'web', mode: 'cluster' });
    expect(d.evacuations!.scenarios.map((s) => s.labels.vms)).toEqual(Array(12).fill(8));
    // The nightly matrix has none: its committed baseline would change.
    expect(planMatrix(loadMatrix('nightly')).evacuations).toBeNull();
  });
});
