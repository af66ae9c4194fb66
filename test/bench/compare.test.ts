import { describe, expect, it } from 'vitest';
import { ALL_SCENARIOS, compareRuns, holm } from '../../src/bench/compare.js';
import type { Row } from '../../src/bench/columns.js';
import { InputError } from '../../src/errors.js';

const opts = { threshold: 0.05, alpha: 0.01 };

function runs(scenario: string, values: Partial<Record<string, (number | boolean)[]>>, extra: Row = {}): Row[] {
  const n = Math.max(...Object.values(values).map((v) => v!.length));
  return Array.from({ length: n }, (_, i) => {
    const r: Row = { run_id: `${scenario}#${i}`, scenario, repeat: i, seed: 100 + i, engine: 'sim', mode: 'cluster', network: '10g', transport: 'tcp', workload: 'web', vm_label: '8GiB', policy_label: 'hyperv', ...extra };
    for (const [k, v] of Object.entries(values)) r[k] = v![i]!;
    return r;
  });
}

const verdicts = (rows: ReturnType<typeof compareRuns>['rows']) => Object.fromEntries(rows.map((r) => [`${r.scenario}:${r.metric}`, r.verdict]));

describe('compare: deterministic metrics', () => {
  const base = [...runs('a', { total_time_s: [10, 10, 10], downtime_ms: [100, 101, 99], converged: [true, true, true], pings_sent: [10, 10, 10] }), ...runs('b', { total_time_s: [5, 5, 5], downtime_ms: [50, 50, 50], converged: [true, true, true], pings_sent: [5, 5, 5] })];

  it('an unchanged report is the same everywhere and is no regression', () => {
    const c = compareRuns(base, base.map((r) => ({ ...r })), opts);
    expect(c.regression).toBe(false);
    expect(c.counts.worse + c.counts.better).toBe(0);
    expect(c.rows.every((r) => r.differs === false && r.p_value === null)).toBe(true);
    // Neutral metrics (pings_sent) are not compared unless asked for.
    expect(c.metrics).toEqual(['total_time_s', 'downtime_ms', 'converged']);
  });

  it('a slower run beyond the threshold is worse; a faster one better', () => {
    const cur = base.map((r) => (r['scenario'] === 'a' ? { ...r, total_time_s: (r['total_time_s'] as number) * 1.1 } : { ...r, total_time_s: (r['total_time_s'] as number) * 0.8 }));
    const c = compareRuns(base, cur, opts);
    expect(verdicts(c.rows)).toMatchObject({ 'a:total_time_s': 'worse', 'b:total_time_s': 'better', 'a:downtime_ms': 'same' });
    expect(c.regression).toBe(true);
    expect(c.rows.find((r) => r.scenario === 'a' && r.metric === 'total_time_s')!.change_pct).toBeCloseTo(10, 9);
  });

  it('a difference within the threshold is reported as a difference but judged the same', () => {
    const cur = base.map((r) => ({ ...r, total_time_s: (r['total_time_s'] as number) * 1.01 }));
    const row = compareRuns(base, cur, opts).rows.find((r) => r.scenario === 'a' && r.metric === 'total_time_s')!;
    expect(row).toMatchObject({ differs: true, verdict: 'same' });
    expect(compareRuns(base, cur, { ...opts, threshold: 0 }).regression).toBe(true);
  });

  it('higher-is-better metrics: losing convergence is worse', () => {
    const cur = base.map((r) => (r['run_id'] === 'b#1' ? { ...r, converged: false } : r));
    expect(verdicts(compareRuns(base, cur, opts).rows)['b:converged']).toBe('worse');
  });

  it('from a zero base any change counts', () => {
    const b0 = runs('z', { missed_pings: [0, 0] });
    const c = compareRuns(b0, runs('z', { missed_pings: [0, 1] }), opts);
    expect(c.rows[0]).toMatchObject({ metric: 'missed_pings', change_pct: null, verdict: 'worse' });
  });

  it('lists scenarios found on one side only, without failing', () => {
    const c = compareRuns(base, base.filter((r) => r['scenario'] === 'a'), opts);
    expect(c.rows.filter((r) => r.verdict === 'only_base').map((r) => r.scenario)).toEqual(['b']);
    expect(c.regression).toBe(false);
  });

  it('refuses reports made with other seeds, and unknown --metrics', () => {
    expect(() => compareRuns(base, base.map((r) => ({ ...r, seed: 1 })), opts)).toThrow(InputError);
    expect(() => compareRuns(base, base, { ...opts, metrics: ['total_time_s', 'nonsense'] })).toThrow(/--metrics: expected metrics present in both reports/);
    expect(compareRuns(base, base, { ...opts, metrics: ['pings_sent'] }).metrics).toEqual(['pings_sent']);
  });
});

describe('compare: measured metrics (Welch t-test and threshold)', () => {
  const wall = [10.0, 10.4, 9.8, 10.1, 10.2];
  const base = runs('a', { harness_wall_ms: wall });

  it('noise is the same: no significant difference', () => {
    const c = compareRuns(base, runs('a', { harness_wall_ms: [10.3, 9.9, 10.2, 9.7, 10.0] }), opts);
    expect(c.rows[0]).toMatchObject({ kind: 'measured', verdict: 'same', differs: null });
    expect(c.rows[0]!.p_value!).toBeGreaterThan(0.01);
  });

  it('a significant slow-down beyond the threshold is worse', () => {
    const c = compareRuns(base, runs('a', { harness_wall_ms: wall.map((w) => w * 1.3) }), opts);
    expect(c.rows[0]!.verdict).toBe('worse');
    expect(c.rows[0]!.p_value!).toBeLessThan(0.01);
  });

  it('a significant change within the threshold is the same', () => {
    const c = compareRuns(base, runs('a', { harness_wall_ms: wall.map((w) => w * 1.03) }), { ...opts, alpha: 0.5 });
    expect(c.rows[0]!.verdict).toBe('same');
  });

  it('a large but insignificant change is the same (too few, too noisy runs)', () => {
    const c = compareRuns(runs('a', { harness_wall_ms: [5, 20] }), runs('a', { harness_wall_ms: [9, 30] }), opts);
    expect(c.rows[0]!.verdict).toBe('same');
    expect(compareRuns(runs('a', { harness_wall_ms: [5] }), runs('a', { harness_wall_ms: [50] }), opts).rows[0]).toMatchObject({ verdict: 'same', p_value: null });
  });

  it('every metric of a real-engine run is measured', () => {
    const b = runs('r', { total_time_s: [10, 10.1, 9.9] }, { engine: 'real' });
    const c = compareRuns(b, runs('r', { total_time_s: [10.6, 10.7, 10.5] }, { engine: 'real' }), opts);
    expect(c.rows[0]).toMatchObject({ kind: 'measured', verdict: 'worse' });
  });

  it('measured metrics from different machines are not judged', () => {
    const c = compareRuns(base, runs('a', { harness_wall_ms: wall.map((w) => w * 3) }), { ...opts, skipMeasured: 'different machines' });
    expect(c.rows[0]!.verdict).toBe('not_compared');
    expect(c.regression).toBe(false);
  });
});

describe('compare: many scenarios', () => {
  // 40 scenarios of 5 runs whose wall times scatter by +-30% around a per-scenario level.
  const noisy = (scale: number, salt: number): Row[] =>
    Array.from({ length: 40 }, (_, s) =>
      runs(`s${s}`, { harness_wall_ms: [0, 1, 2, 3, 4].map((i) => (5 + s) * scale * (1 + 0.3 * Math.sin(1.7 * i + 2.3 * s + salt))) }),
    ).flat();

  it('Holm-adjusts the per-scenario p-values (as p.adjust in R with method holm)', () => {
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((x, i) => expect(adj[i]).toBeCloseTo(x, 12));
  });

  it('noise alone flags nothing, and the all-scenarios row stays the same', () => {
    const c = compareRuns(noisy(1, 0), noisy(1, 1), { ...opts, overallThreshold: 0.25 });
    expect(c.counts.worse + c.counts.better).toBe(0);
    const all = c.rows.find((r) => r.scenario === ALL_SCENARIOS)!;
    expect(all).toMatchObject({ metric: 'harness_wall_ms', kind: 'measured', base_n: 40, verdict: 'same' });
  });

  it('a slowdown of every scenario shows in the all-scenarios row, judged by its own threshold', () => {
    const slower = compareRuns(noisy(1, 0), noisy(1.4, 1), { ...opts, overallThreshold: 0.25 });
    const all = slower.rows.find((r) => r.scenario === ALL_SCENARIOS)!;
    expect(all.verdict).toBe('worse');
    expect(all.change_pct!).toBeGreaterThan(30);
    expect(all.p_value!).toBeLessThan(1e-6);
    expect(slower.regression).toBe(true);
    const slight = compareRuns(noisy(1, 0), noisy(1.1, 1), { ...opts, overallThreshold: 0.25 });
    expect(slight.rows.find((r) => r.scenario === ALL_SCENARIOS)!.verdict).toBe('same');
    expect(compareRuns(noisy(1, 0), noisy(1.1, 1), opts).rows.find((r) => r.scenario === ALL_SCENARIOS)!.verdict).toBe('worse');
  });
});
