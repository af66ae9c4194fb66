// Comparing two bench reports (their runs.csv rows). Runs are matched by run_id, and only matched runs
// are compared (like with like: a report with 5 repeats against one with 2 compares repeats 0 and 1 of
// each scenario). Whether two reports may be compared at all (same matrix, nothing missing) is decided
// before, in comparable.ts.
//
// A deterministic metric (any field of a sim run) either differs or it does not: when it differs, a
// relative change of the mean beyond the threshold is better or worse. A discrete metric (pings,
// rounds, ping gaps, TCP stalls) moves in whole steps, and a model change that shifts one run across a
// step boundary is jitter, not a regression: it counts only when its mean moves by at least one whole
// step as well. A measured metric (harness wall time and its ratio to the reference workload, anything
// from the real engine) is worse or better only when Welch's t-test rejects equal means at p < alpha
// AND the relative change is beyond the threshold; the p-values of all per-scenario tests are
// Holm-adjusted together (a nightly makes hundreds of them). Each measured metric also gets one row
// over all scenarios: a one-sample t-test of the per-scenario log ratios of the means, which sees a
// slowdown of everything that no single scenario's few runs can show. docs/bench.md states these rules.

import { mean } from 'simple-statistics';
import { InputError } from '../errors.js';
import { groupByScenario } from './aggregate.js';
import { direction, discreteStep, isMeasured, LABEL_COLUMNS, metricColumns, numeric, type Direction, type Row } from './columns.js';
import { tCdf, welch } from './stats.js';

export type Verdict = 'better' | 'worse' | 'same' | 'changed' | 'only_base' | 'only_current' | 'not_compared';

export interface CompareRow {
  scenario: string;
  labels: Record<(typeof LABEL_COLUMNS)[number], string>;
  metric: string;
  kind: 'deterministic' | 'measured' | '';
  better_when: Direction | '';
  /** Matched runs with a value (scenarios, for the all-scenarios rows). */
  base_n: number;
  current_n: number;
  base_mean: number | null;
  current_mean: number | null;
  /** 100 * (current mean / base mean - 1); null when the base mean is 0 and the current is not, or a side is missing. */
  change_pct: number | null;
  /** Two-sided p-value: Welch's t-test per scenario (>= 2 runs on each side), or the all-scenarios test. */
  p_value: number | null;
  /** p_value after the Holm–Bonferroni adjustment over all per-scenario measured tests (what is judged). */
  p_adjusted: number | null;
  /** Deterministic metrics: some matched run's value differs. */
  differs: boolean | null;
  verdict: Verdict;
  /** Why a row is not_compared (measured metrics across machines, say). */
  note?: string;
}

export interface CompareOptions {
  /** Relative change of the mean that counts, as a fraction (0.05 for 5%). */
  threshold: number;
  /** Significance level of Welch's test for measured metrics. */
  alpha: number;
  /** Metrics to compare; default: every common metric with a direction (not neutral ones). */
  metrics?: readonly string[];
  /** When set, no measured metric is judged (verdict not_compared) and this says why. */
  skipMeasured?: string;
  /** Metrics not judged, each with the reason (harness_wall_ms across machines, say). */
  skipMetrics?: Readonly<Record<string, string>>;
  /** Multiple-comparison adjustment of the per-scenario measured tests (default holm). */
  correction?: 'holm' | 'none';
  /**
   * Threshold of the all-scenarios rows (default: `threshold`). A whole bench's wall time moves with the
   * machine's state from one run to the next, so this one usually needs to be wider (docs/bench.md).
   */
  overallThreshold?: number;
  /** Only these scenarios of BASE are expected in CURRENT (a shard's); the others are left out, not listed. */
  baseScenarios?: ReadonlySet<string>;
}

/** The scenario column of the rows that compare a measured metric over all scenarios at once. */
export const ALL_SCENARIOS = '(all scenarios)';

export interface Comparison {
  rows: CompareRow[];
  metrics: string[];
  counts: Record<Verdict, number>;
  regression: boolean;
  /** Runs matched by run_id, and those found on one side only. */
  matched: number;
  onlyBase: number;
  onlyCurrent: number;
}

export function compareRuns(base: readonly Row[], current: readonly Row[], opts: CompareOptions, names = { base: 'BASE', current: 'CURRENT' }): Comparison {
  if (opts.baseScenarios) base = base.filter((r) => opts.baseScenarios!.has(String(r['scenario'])));
  const columnsOf = (rows: readonly Row[]): string[] => [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const common = metricColumns(columnsOf(base), base).filter((m) => metricColumns(columnsOf(current), current).includes(m));
  let metrics: string[];
  if (opts.metrics && opts.metrics.length > 0) {
    for (const m of opts.metrics) {
      if (!common.includes(m)) throw new InputError({ source: '--metrics', expected: `metrics present in both reports (${common.join(', ')})`, got: m });
    }
    metrics = [...opts.metrics];
  } else metrics = common.filter((m) => direction(m) !== 'neutral');

  const baseById = new Map(base.map((r) => [String(r['run_id']), r]));
  const currentIds = new Set(current.map((r) => String(r['run_id'])));
  for (const r of current) {
    const b = baseById.get(String(r['run_id']));
    if (b !== undefined && b['seed'] !== r['seed']) {
      throw new InputError({
        source: names.current,
        path: `run ${String(r['run_id'])}: seed`,
        expected: `the seed of the same run in ${names.base} (reports from the same matrix seed; deterministic metrics cannot be compared otherwise)`,
        got: r['seed'],
      });
    }
  }

  // Like with like: only runs found on both sides.
  const b = groupByScenario(base.filter((r) => currentIds.has(String(r['run_id']))));
  const c = groupByScenario(current.filter((r) => baseById.has(String(r['run_id']))));
  const rows: CompareRow[] = [];
  const labelsOf = (g: readonly Row[]): CompareRow['labels'] => Object.fromEntries(LABEL_COLUMNS.map((k) => [k, String(g[0]![k] ?? '')])) as CompareRow['labels'];
  const missing = (scenario: string, g: readonly Row[], verdict: 'only_base' | 'only_current'): CompareRow => ({
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
    p_adjusted: null,
    differs: null,
    verdict,
  });

  for (const [scenario, bg] of b) {
    const cg = c.get(scenario)!;
    for (const metric of metrics) {
      const row = compareMetric(scenario, labelsOf(bg), metric, bg, cg, opts);
      if (row) rows.push(row);
    }
  }
  // Scenarios found on one side only (runs of a matched scenario found on one side only are counted).
  for (const [scenario, g] of groupByScenario(base)) if (!b.has(scenario)) rows.push(missing(scenario, g, 'only_base'));
  for (const [scenario, g] of groupByScenario(current)) if (!c.has(scenario)) rows.push(missing(scenario, g, 'only_current'));
  judgeMeasured(rows, opts);
  for (const metric of metrics) {
    if (opts.skipMeasured || opts.skipMetrics?.[metric]) continue;
    const all = acrossScenarios(metric, rows, opts);
    if (all) rows.push(all);
  }

  const counts: Record<Verdict, number> = { better: 0, worse: 0, same: 0, changed: 0, only_base: 0, only_current: 0, not_compared: 0 };
  for (const r of rows) counts[r.verdict]++;
  const matched = [...c.values()].reduce((n, g) => n + g.length, 0);
  return { rows, metrics, counts, regression: counts.worse > 0, matched, onlyBase: base.length - matched, onlyCurrent: current.length - matched };
}

function compareMetric(scenario: string, labels: CompareRow['labels'], metric: string, bg: Row[], cg: Row[], opts: CompareOptions): CompareRow | null {
  const values = (g: Row[]): number[] => g.map((r) => numeric(r[metric])).filter((v): v is number => v !== null);
  const bv = values(bg);
  const cv = values(cg);
  if (bv.length === 0 && cv.length === 0) return null;
  const measured = isMeasured(metric, [...bg, ...cg]);
  const bm = bv.length ? mean(bv) : null;
  const cm = cv.length ? mean(cv) : null;
  const row: CompareRow = {
    scenario,
    labels,
    metric,
    kind: measured ? 'measured' : 'deterministic',
    better_when: direction(metric),
    base_n: bv.length,
    current_n: cv.length,
    base_mean: bm,
    current_mean: cm,
    change_pct: bm !== null && cm !== null && bm !== 0 ? 100 * (cm / bm - 1) : bm === 0 && cm === 0 ? 0 : null,
    p_value: null,
    p_adjusted: null,
    differs: null,
    verdict: 'same',
  };
  if (bm === null || cm === null) {
    row.verdict = bm === null ? 'only_current' : 'only_base';
    return row;
  }
  if (measured) {
    const skip = opts.skipMeasured ?? opts.skipMetrics?.[metric];
    // Judged by judgeMeasured once every p-value is known (the Holm adjustment needs them all).
    if (skip) {
      row.verdict = 'not_compared';
      row.note = skip;
    } else row.p_value = welch(bv, cv)?.p ?? null;
    return row;
  }
  const byRun = new Map(bg.map((r) => [String(r['run_id']), numeric(r[metric])]));
  row.differs = bv.length !== cv.length || cg.some((r) => byRun.get(String(r['run_id'])) !== numeric(r[metric]));
  row.verdict = row.differs && beyond(row, opts) ? judged(row) : 'same';
  return row;
}

/**
 * |relative change of the mean| > threshold (from a zero base any change is beyond it), and for a
 * discrete metric a move of the mean by at least one whole step.
 */
function beyond(r: CompareRow, opts: CompareOptions): boolean {
  const step = discreteStep(r.metric);
  if (step !== null && Math.abs(r.current_mean! - r.base_mean!) < step * (1 - 1e-9)) return false;
  return r.change_pct === null ? r.current_mean !== r.base_mean : Math.abs(r.change_pct) / 100 > opts.threshold;
}

function judged(r: CompareRow): Verdict {
  if (r.better_when === 'neutral') return 'changed';
  const up = r.current_mean! > r.base_mean!;
  return up === (r.better_when === 'higher') ? 'better' : 'worse';
}

/** Holm–Bonferroni: adjusted p of the i-th smallest of m p-values is max over j <= i of (m - j + 1) p(j). */
export function holm(ps: readonly number[]): number[] {
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(ps.length);
  let running = 0;
  order.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (ps.length - k) * p));
    out[i] = running;
  });
  return out;
}

function judgeMeasured(rows: CompareRow[], opts: CompareOptions): void {
  const tested = rows.filter((r) => r.kind === 'measured' && r.p_value !== null && r.verdict === 'same');
  const adjusted = opts.correction === 'none' ? tested.map((r) => r.p_value!) : holm(tested.map((r) => r.p_value!));
  tested.forEach((r, i) => {
    r.p_adjusted = adjusted[i]!;
    if (r.p_adjusted < opts.alpha && beyond(r, opts)) r.verdict = judged(r);
  });
}

/**
 * One measured metric over all scenarios: the log ratio of the current to the base mean in each scenario,
 * a one-sample t-test of their mean against 0 (n - 1 df), and the geometric mean ratio as the change.
 * Needs at least 3 scenarios. A metric measured by a coarse clock (a thread's CPU time moves in
 * scheduler ticks, so a short run can read 0) can have a mean of 0 in a scenario, whose log ratio does
 * not exist; dropping such scenarios would favour the side that read more. Consecutive scenarios are
 * then summed in blocks, the smallest block size (up to 16) that leaves no block at 0 on either side, and
 * the test runs over the blocks.
 */
function acrossScenarios(metric: string, rows: readonly CompareRow[], opts: CompareOptions): CompareRow | null {
  const pairs = rows.filter((r) => r.metric === metric && r.kind === 'measured' && r.verdict !== 'not_compared' && r.base_mean !== null && r.current_mean !== null && r.base_mean >= 0 && r.current_mean >= 0);
  let size = 1;
  let blocks: { base: number; current: number }[] = [];
  for (; size <= 16; size++) {
    blocks = [];
    for (let i = 0; i < pairs.length; i += size) {
      const chunk = pairs.slice(i, i + size);
      blocks.push({ base: chunk.reduce((t, r) => t + r.base_mean!, 0) / chunk.length, current: chunk.reduce((t, r) => t + r.current_mean!, 0) / chunk.length });
    }
    if (blocks.every((b) => b.base > 0 && b.current > 0)) break;
  }
  if (size > 16) {
    size = 16;
    blocks = blocks.filter((b) => b.base > 0 && b.current > 0);
  }
  if (blocks.length < 3) return null;
  const logs = blocks.map((b) => Math.log(b.current / b.base));
  const n = logs.length;
  const m = mean(logs);
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1));
  const p = sd === 0 ? (m === 0 ? 1 : 0) : Math.min(1, 2 * tCdf(-Math.abs(m / (sd / Math.sqrt(n))), n - 1));
  const geo = (xs: number[]): number => Math.exp(mean(xs.map(Math.log)));
  const row: CompareRow = {
    scenario: ALL_SCENARIOS,
    labels: { mode: '', network: '', transport: '', workload: '', vm_label: '', policy_label: '' },
    metric,
    kind: 'measured',
    better_when: direction(metric),
    base_n: n,
    current_n: n,
    base_mean: geo(blocks.map((b) => b.base)),
    current_mean: geo(blocks.map((b) => b.current)),
    change_pct: 100 * Math.expm1(m),
    p_value: p,
    p_adjusted: p,
    differs: null,
    verdict: 'same',
    ...(size > 1 ? { note: `${pairs.length} scenarios in ${n} blocks of ${size} consecutive scenarios (some scenario means read 0)` } : {}),
  };
  if (p < opts.alpha && beyond(row, { ...opts, threshold: opts.overallThreshold ?? opts.threshold })) row.verdict = judged(row);
  return row;
}
