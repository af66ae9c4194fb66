import { describe, expect, it } from 'vitest';
import { comparableScope, requireComparable, type MatrixMeta } from '../../src/bench/comparable.js';
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
    const b0 = runs('z', { handoff_ms: [0, 0] });
    const c = compareRuns(b0, runs('z', { handoff_ms: [0, 1] }), opts);
    expect(c.rows[0]).toMatchObject({ metric: 'handoff_ms', change_pct: null, verdict: 'worse' });
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

describe('compare: like with like (runs matched by run_id)', () => {
  it('compares only the runs found on both sides: 5 repeats against 2 is not a change', () => {
    // Repeats 2-4 of the base take much longer (another seed each); the current report has repeats 0-1.
    const base = runs('a', { total_time_s: [10, 10, 30, 30, 30], downtime_ms: [100, 100, 300, 300, 300] });
    const cur = runs('a', { total_time_s: [10, 10], downtime_ms: [100, 100] });
    const c = compareRuns(base, cur, opts);
    expect(c.regression).toBe(false);
    expect(c.counts.better + c.counts.worse).toBe(0);
    expect(c.rows.find((r) => r.metric === 'total_time_s')).toMatchObject({ base_n: 2, current_n: 2, base_mean: 10, current_mean: 10, differs: false });
    expect(c).toMatchObject({ matched: 2, onlyBase: 3, onlyCurrent: 0 });
  });
});

describe('compare: discrete metrics (pings, rounds) move in whole steps', () => {
  const base = runs('d', { missed_pings: [0, 0, 0, 0, 0], precopy_rounds: [3, 3, 3, 3, 3], max_ping_gap_ms: [1000, 1000, 1000, 1000, 1000], downtime_ms: [300, 300, 300, 300, 300] });

  it('one run crossing a step boundary is jitter, not a regression', () => {
    const cur = runs('d', { missed_pings: [0, 0, 1, 0, 0], precopy_rounds: [3, 4, 3, 3, 3], max_ping_gap_ms: [1000, 1000, 2000, 1000, 1000], downtime_ms: [300, 300, 300, 300, 300] });
    const c = compareRuns(base, cur, opts);
    for (const m of ['missed_pings', 'precopy_rounds', 'max_ping_gap_ms']) expect(c.rows.find((r) => r.metric === m), m).toMatchObject({ differs: true, verdict: 'same' });
    expect(c.regression).toBe(false);
  });

  it('a move of the mean by a whole step beyond the threshold is a regression', () => {
    const cur = runs('d', { missed_pings: [1, 1, 1, 1, 1], precopy_rounds: [4, 4, 4, 4, 5], max_ping_gap_ms: [2000, 2000, 2000, 2000, 2000], downtime_ms: [300, 300, 300, 300, 300] });
    const c = compareRuns(base, cur, opts);
    for (const m of ['missed_pings', 'precopy_rounds', 'max_ping_gap_ms']) expect(c.rows.find((r) => r.metric === m)!.verdict, m).toBe('worse');
  });

  it('continuous metrics keep the plain rule: a change beyond the threshold in one run counts', () => {
    const cur = runs('d', { downtime_ms: [300, 300, 600, 300, 300] });
    expect(compareRuns(base, cur, { ...opts, metrics: ['downtime_ms'] }).rows[0]!.verdict).toBe('worse');
  });
});

describe('compare: which reports can be compared (comparable.ts)', () => {
  const meta = (o: Partial<MatrixMeta['matrix']> = {}, shard: string | null = null): MatrixMeta => ({ matrix: { name: 'nightly', sha256: 'a'.repeat(64), seed: 1, repeats: 2, ...o }, shard });
  const whole = ['s0', 's1', 's2', 's3'].flatMap((s) => runs(s, { total_time_s: [1, 1] }));
  const side = (rows: Row[], m: MatrixMeta | null, name = 'X') => ({ name, rows, meta: m });

  it('the same matrix, every run matched: no problem', () => {
    const scope = comparableScope(side(whole, meta()), side(whole, meta()));
    expect(scope).toMatchObject({ problems: [], matchedRuns: 8 });
    expect(() => requireComparable(scope, false)).not.toThrow();
  });

  it('refuses other matrices, seeds or repeats, and missing or extra scenarios, unless partial comparisons are allowed', () => {
    const scope = comparableScope(side(whole, meta()), side(whole.slice(0, 6), meta({ sha256: 'b'.repeat(64), name: 'quick', repeats: 3 })));
    expect(scope.problems.join('\n')).toMatch(/the matrices differ: BASE was made from nightly \(sha256 aaaaaaaaaaaa\), CURRENT from quick/);
    expect(scope.problems.join('\n')).toMatch(/the repeats differ: BASE 2, CURRENT 3/);
    expect(scope.problems.join('\n')).toMatch(/1 of BASE's 4 scenarios are missing from CURRENT: s3/);
    expect(() => requireComparable(scope, false)).toThrow(/not comparable: .*--allow-partial compares the 6 runs that match/);
    expect(() => requireComparable(scope, true)).not.toThrow();
    const extra = comparableScope(side(whole.slice(0, 6), null), side(whole, null));
    expect(extra.problems.join('\n')).toMatch(/1 scenarios of CURRENT are not in BASE: s3/);
  });

  it('refuses when nothing matches, even with --allow-partial (a changed matrix must not pass having compared nothing)', () => {
    const other = ['t0', 't1'].flatMap((s) => runs(s, { total_time_s: [1, 1] }));
    const scope = comparableScope(side(whole, meta()), side(other, meta({ sha256: 'c'.repeat(64) })));
    expect(scope.matchedRuns).toBe(0);
    expect(() => requireComparable(scope, true)).toThrow(/nothing to compare: no run of CURRENT has a run_id found in BASE/);
  });

  it("a shard against a whole baseline expects only the shard's scenarios", () => {
    const shard2 = whole.filter((r) => ['s1', 's3'].includes(String(r['scenario'])));
    const scope = comparableScope(side(whole, meta()), side(shard2, meta({}, '2/2')));
    expect(scope.problems).toEqual([]);
    expect([...scope.baseScenarios]).toEqual(['s1', 's3']);
    expect(scope.notes[0]).toMatch(/CURRENT is shard 2\/2: 2 of BASE's 4 scenarios/);
    const c = compareRuns(whole, shard2, { ...opts, baseScenarios: scope.baseScenarios });
    expect(c.counts.only_base).toBe(0);
    // The wrong shard is caught: shard 1's scenarios are missing from a report that claims shard 2.
    const wrong = comparableScope(side(whole, meta()), side(whole.filter((r) => r['scenario'] === 's0'), meta({}, '2/2')));
    expect(wrong.matchedRuns).toBe(0);
  });
});

describe('compare: wall time on machines of different speed (harness_wall_ratio)', () => {
  // Synthetic benches of 30 scenarios x 5 runs. Machine B is 1.7x slower than machine A at everything:
  // the runs and the reference workload measured in the same bench alike. Run-to-run noise +-25%.
  const bench = (machineSlowdown: number, planted: number, salt: number): Row[] => {
    const referenceMs = 27 * machineSlowdown;
    return Array.from({ length: 30 }, (_, s) =>
      runs(`w${s}`, {
        harness_wall_ms: [0, 1, 2, 3, 4].map((i) => (2 + s) * machineSlowdown * planted * (1 + 0.25 * Math.sin(1.3 * i + 2.1 * s + salt))),
      }).map((r) => ({ ...r, harness_wall_ratio: (r['harness_wall_ms'] as number) / referenceMs, harness_cpu_ms: (r['harness_wall_ms'] as number) * 0.8, harness_cpu_ratio: (r['harness_wall_ms'] as number) / referenceMs })),
    ).flat();
  };
  const across = { ...opts, overallThreshold: 0.25, skipMetrics: { harness_wall_ms: 'different machines', harness_cpu_ms: 'different machines' } };
  const overall = (c: ReturnType<typeof compareRuns>, m: string) => c.rows.find((r) => r.scenario === ALL_SCENARIOS && r.metric === m);

  it('the same code on a slower machine: the ratio is unchanged, raw wall time is not judged', () => {
    const c = compareRuns(bench(1, 1, 0), bench(1.7, 1, 1), across);
    expect(c.regression).toBe(false);
    expect(overall(c, 'harness_wall_ratio')).toMatchObject({ verdict: 'same' });
    expect(Math.abs(overall(c, 'harness_wall_ratio')!.change_pct!)).toBeLessThan(10);
    expect(c.rows.filter((r) => r.metric === 'harness_wall_ms' || r.metric === 'harness_cpu_ms').every((r) => r.verdict === 'not_compared')).toBe(true);
    expect(overall(c, 'harness_cpu_ratio')).toMatchObject({ verdict: 'same' });
    // Judged on raw wall time, the slower machine would look like a 70% regression.
    const raw = compareRuns(bench(1, 1, 0), bench(1.7, 1, 1), { ...opts, overallThreshold: 0.25 });
    expect(overall(raw, 'harness_wall_ms')!.verdict).toBe('worse');
  });

  it('a planted 1.4x slowdown on the other machine is caught in the all-scenarios row of the ratio', () => {
    const c = compareRuns(bench(1, 1, 0), bench(1.7, 1.4, 1), across);
    expect(overall(c, 'harness_cpu_ratio')!.verdict).toBe('worse');
    const row = overall(c, 'harness_wall_ratio')!;
    expect(row.verdict).toBe('worse');
    expect(row.change_pct!).toBeGreaterThan(30);
    expect(row.change_pct!).toBeLessThan(50);
    expect(row.p_value!).toBeLessThan(1e-6);
    expect(c.regression).toBe(true);
    // And a faster machine does not hide it either.
    expect(overall(compareRuns(bench(1, 1, 0), bench(0.6, 1.4, 1), across), 'harness_wall_ratio')!.verdict).toBe('worse');
  });
});

describe('compare: a coarse clock (CPU time read as 0 in short runs)', () => {
  // 60 scenarios whose runs take 1 to 3 ms of CPU, read by a clock that moves in 4 ms ticks: a run reads
  // 0 or 4 with the right odds, so means of 0 are common. The current side does 1.4x the work.
  const ticks = (cpu: number, salt: number): number => (((Math.sin(salt * 12.9898) * 43758.5453) % 1) + 1) % 1 < cpu / 4 ? 4 : 0;
  const bench = (factor: number, salt: number): Row[] =>
    Array.from({ length: 60 }, (_, s) => runs(`c${s}`, { harness_cpu_ms: [0, 1, 2].map((i) => ticks((1 + (s % 3)) * factor, salt + s * 7 + i)) })).flat();

  it('sums scenarios in blocks rather than dropping those that read 0, and still sees the slowdown', () => {
    const c = compareRuns(bench(1, 1), bench(1.4, 2), { ...opts, overallThreshold: 0.25 });
    const all = c.rows.find((r) => r.scenario === ALL_SCENARIOS)!;
    expect(all.note).toMatch(/60 scenarios in \d+ blocks of \d+ consecutive scenarios/);
    expect(all.change_pct!).toBeGreaterThan(20);
    expect(all.change_pct!).toBeLessThan(70);
    const same = compareRuns(bench(1, 1), bench(1, 2), { ...opts, overallThreshold: 0.25 }).rows.find((r) => r.scenario === ALL_SCENARIOS)!;
    expect(same.verdict).toBe('same');
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
