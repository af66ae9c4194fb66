import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { extraPasses, PLANTED_SLOWDOWN_ENV, plantedSlowdown } from '../../src/bench/planted.js';
import { REFERENCE_VERSION, referenceWorkload } from '../../src/bench/reference.js';
import { referenceSampleCount, withReferenceSamples } from '../../src/bench/runner.js';
import { parseMatrix } from '../../src/bench/matrix.js';
import { planMatrix } from '../../src/bench/plan.js';

describe('reference workload', () => {
  it('is deterministic: the same checksum every pass (a changed workload would change every ratio)', () => {
    const c = referenceWorkload();
    expect(referenceWorkload()).toBe(c);
    // Frozen: this checksum belongs to REFERENCE_VERSION 2; changing the workload means a new version.
    expect(REFERENCE_VERSION).toBe(2);
    expect(c).toBe(3152390026);
  });

  it('imports nothing of migbench (a yardstick made of the code under test would slow down with it)', () => {
    const src = readFileSync('src/bench/reference.ts', 'utf8');
    expect(src).not.toMatch(/^import /m);
  });

  it('is spread among the runs: the first sample first, evenly, with negative indexes', () => {
    const plan = planMatrix(parseMatrix('repeats: 10\naxes: {modes: [cluster], networks: [1g, 10g], transports: [tcp], workloads: [idle, web, oltp], vms: [1GiB], policies: [hyperv]}', 'm.yaml', 'yaml'));
    const tasks = withReferenceSamples(plan.runs, 2);
    const refs = tasks.map((t, i) => [t, i] as const).filter(([t]) => t.kind === 'reference');
    expect(refs).toHaveLength(referenceSampleCount(60, 2));
    expect(referenceSampleCount(60, 2)).toBe(16);
    expect(tasks[0]!.kind).toBe('reference');
    expect(new Set(refs.map(([t]) => t.index))).toEqual(new Set(Array.from({ length: 16 }, (_, i) => -1 - i)));
    // Gaps between samples differ by at most one run.
    const gaps = refs.slice(1).map(([, i], k) => i - refs[k]![1] - 1);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
    expect(tasks.filter((t) => t.kind !== 'reference').map((t) => t.index)).toEqual(plan.runs.map((r) => r.index));
    expect(referenceSampleCount(8400, 2)).toBe(100);
    // Evacuation runs (whole drains, the longest tasks) go first, each with its scenario's options and seed.
    const withEvac = planMatrix(parseMatrix('repeats: 10\naxes: {modes: [cluster], networks: [1g, 10g], transports: [tcp], workloads: [idle, web, oltp], vms: [1GiB], policies: [hyperv]}\nevacuations: {axes: {vms: [2], maxLive: [1, 2], networks: [10g], transports: [smb]}, repeats: 2}', 'm.yaml', 'yaml'));
    const all = withReferenceSamples(withEvac.runs, 2, withEvac.evacuations!.runs);
    const work = all.filter((t) => t.kind !== 'reference');
    expect(work.slice(0, 4)).toEqual(withEvac.evacuations!.runs.map((r) => ({ kind: 'evacuation', index: r.index, input: { network: '10g', transport: 'smb', seed: r.seed }, evacuation: { vms: 2, maxLive: r.scenario.labels.max_live } })));
    expect(work.slice(4).map((t) => t.index)).toEqual(withEvac.runs.map((r) => r.index));
    expect(all.filter((t) => t.kind === 'reference')).toHaveLength(referenceSampleCount(64, 2));
    expect(referenceSampleCount(720, 1)).toBe(36);
  });
});

describe('planted slowdown (test only)', () => {
  it('is off unless the variable is set, and refuses a value that is not a factor above 1', () => {
    expect(plantedSlowdown({})).toBeNull();
    expect(plantedSlowdown({ [PLANTED_SLOWDOWN_ENV]: '' })).toBeNull();
    expect(plantedSlowdown({ [PLANTED_SLOWDOWN_ENV]: '1.4' })).toBe(1.4);
    for (const bad of ['1', '0.5', 'fast', '11']) expect(() => plantedSlowdown({ [PLANTED_SLOWDOWN_ENV]: bad })).toThrow(/MIGBENCH_TEST_PLANTED_SLOWDOWN: expected a test-only slowdown factor/);
  });

  it('plants the factor as extra passes of the work: 1.4x over any stretch of runs, 2.5x as 1 or 2 extra', () => {
    const total = (f: number, from: number, n: number) => Array.from({ length: n }, (_, i) => 1 + extraPasses(f, from + i)).reduce((a, b) => a + b, 0);
    expect(total(1.4, 0, 1000) / 1000).toBeCloseTo(1.4, 2);
    for (const from of [0, 37, 500]) expect(Math.abs(total(1.4, from, 20) / 20 - 1.4)).toBeLessThanOrEqual(0.05);
    expect(new Set(Array.from({ length: 50 }, (_, i) => extraPasses(2.5, i)))).toEqual(new Set([1, 2]));
    expect(total(2.5, 0, 1000) / 1000).toBeCloseTo(2.5, 2);
  });
});
