// Comparing two bench reports (their runs.csv rows). Runs are matched by run_id and grouped by scenario.
// A deterministic metric (any field of a sim run) either differs or it does not: when it differs, a
// relative change of the mean beyond the threshold is better or worse. A measured metric (harness wall
// time, anything from the real engine) is worse or better only when Welch's t-test rejects equal means
// at p < alpha AND the relative change is beyond the threshold. docs/bench.md states these rules.

import { InputError } from '../errors.js';
import { groupByScenario } from './aggregate.js';
import { direction, isMeasured, LABEL_COLUMNS, metricColumns, numeric, type Direction, type Row } from './columns.js';
import { welch } from './stats.js';
import { mean } from 'simple-statistics';

export type Verdict = 'better' | 'worse' | 'same' | 'changed' | 'only_base' | 'only_current' | 'not_compared';

export interface CompareRow {
  scenario: string;
  labels: Record<(typeof LABEL_COLUMNS)[number], string>;
  metric: string;
  kind: 'deterministic' | 'measured' | '';
  better_when: Direction | '';
  base_n: number;
  current_n: number;
  base_mean: number | null;
  current_mean: number | null;
  /** 100 * (current mean / base mean - 1); null when the base mean is 0 or a side is missing. */
  change_pct: number | null;
  /** Welch's two-sided p-value (measured metrics with >= 2 runs on each side). */
  p_value: number | null;
  /** Deterministic metrics: some matched run's value differs. */
  differs: boolean | null;
  verdict: Verdict;
}

export interface CompareOptions {
  /** Relative change of the mean that counts, as a fraction (0.05 for 5%). */
  threshold: number;
  /** Significance level of Welch's test for measured metrics. */
  alpha: number;
  /** Metrics to compare; default: every common metric with a direction (not neutral ones). */
  metrics?: readonly string[];
  /** When set, measured metrics are not judged (verdict not_compared) and this says why. */
  skipMeasured?: string;
}

export interface Comparison {
  rows: CompareRow[];
  metrics: string[];
  counts: Record<Verdict, number>;
  regression: boolean;
}

export function compareRuns(base: readonly Row[], current: readonly Row[], opts: CompareOptions, names = { base: 'BASE', current: 'CURRENT' }): Comparison {
  const columnsOf = (rows: readonly Row[]): string[] => [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const common = metricColumns(columnsOf(base), base).filter((m) => metricColumns(columnsOf(current), current).includes(m));
  let metrics: string[];
  if (opts.metrics && opts.metrics.length > 0) {
    for (const m of opts.metrics) {
      if (!common.includes(m)) throw new InputError({ source: '--metrics', expected: `metrics present in both reports (${common.join(', ')})`, got: m });
    }
    metrics = [...opts.metrics];
  } else metrics = common.filter((m) => direction(m) !== 'neutral');

  const seedOf = new Map(base.map((r) => [String(r['run_id']), r['seed']]));
  for (const r of current) {
    const s = seedOf.get(String(r['run_id']));
    if (s !== undefined && s !== r['seed']) {
      throw new InputError({
        source: names.current,
        path: `run ${String(r['run_id'])}: seed`,
        expected: `the seed of the same run in ${names.base} (reports from the same matrix seed; deterministic metrics cannot be compared otherwise)`,
        got: r['seed'],
      });
    }
  }

  const b = groupByScenario(base);
  const c = groupByScenario(current);
  const rows: CompareRow[] = [];
  const labelsOf = (g: Row[]): CompareRow['labels'] => Object.fromEntries(LABEL_COLUMNS.map((k) => [k, String(g[0]![k] ?? '')])) as CompareRow['labels'];
  const missing = (scenario: string, g: Row[], verdict: Verdict): CompareRow => ({
    scenario,
    labels: labelsOf(g),
    metric: '',
    kind: '',
    better_when: '',
    base_n: verdict === 'only_base' ? g.length : 0,
    current_n: verdict === 'only_current' ? g.length : 0,
    base_mean: null,
    current_mean: null,
    change_pct: null,
    p_value: null,
    differs: null,
    verdict,
  });

  for (const [scenario, bg] of b) {
    const cg = c.get(scenario);
    if (!cg) {
      rows.push(missing(scenario, bg, 'only_base'));
      continue;
    }
    for (const metric of metrics) {
      const row = compareMetric(scenario, labelsOf(bg), metric, bg, cg, opts);
      if (row) rows.push(row);
    }
  }
  for (const [scenario, cg] of c) if (!b.has(scenario)) rows.push(missing(scenario, cg, 'only_current'));

  const counts: Record<Verdict, number> = { better: 0, worse: 0, same: 0, changed: 0, only_base: 0, only_current: 0, not_compared: 0 };
  for (const r of rows) counts[r.verdict]++;
  return { rows, metrics, counts, regression: counts.worse > 0 };
}

function compareMetric(scenario: string, labels: CompareRow['labels'], metric: string, bg: Row[], cg: Row[], opts: CompareOptions): CompareRow | null {
  const values = (g: Row[]): number[] => g.map((r) => numeric(r[metric])).filter((v): v is number => v !== null);
  const bv = values(bg);
  const cv = values(cg);
  if (bv.length === 0 && cv.length === 0) return null;
  const measured = isMeasured(metric, [...bg, ...cg]);
  const better_when = direction(metric);
  const bm = bv.length ? mean(bv) : null;
  const cm = cv.length ? mean(cv) : null;
  const change_pct = bm !== null && cm !== null && bm !== 0 ? 100 * (cm / bm - 1) : bm === 0 && cm === 0 ? 0 : null;
  const row: CompareRow = {
    scenario,
    labels,
    metric,
    kind: measured ? 'measured' : 'deterministic',
    better_when,
    base_n: bv.length,
    current_n: cv.length,
    base_mean: bm,
    current_mean: cm,
    change_pct,
    p_value: null,
    differs: null,
    verdict: 'same',
  };
  if (bm === null || cm === null) {
    row.verdict = bm === null ? 'only_current' : 'only_base';
    return row;
  }
  // Beyond the threshold: |relative change| > threshold; from a zero base any change is beyond it.
  const beyond = change_pct === null ? cm !== bm : Math.abs(change_pct) / 100 > opts.threshold;
  const judged = (): Verdict => {
    if (better_when === 'neutral') return 'changed';
    const up = cm > bm;
    return up === (better_when === 'higher') ? 'better' : 'worse';
  };
  if (measured) {
    if (opts.skipMeasured) {
      row.verdict = 'not_compared';
      return row;
    }
    const w = welch(bv, cv);
    row.p_value = w ? w.p : null;
    row.verdict = w && w.p < opts.alpha && beyond ? judged() : 'same';
    return row;
  }
  const byRun = new Map(bg.map((r) => [String(r['run_id']), numeric(r[metric])]));
  row.differs = bv.length !== cv.length || cg.some((r) => byRun.get(String(r['run_id'])) !== numeric(r[metric]));
  row.verdict = row.differs && beyond ? judged() : 'same';
  return row;
}
