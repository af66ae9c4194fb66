// Per-scenario statistics of every metric (summary.csv): n, mean, median, p95, min, max, sample
// standard deviation and a 95% confidence interval of the mean (t distribution, n - 1 df), clipped to
// the values the metric can take: every metric of a run is a time, a size, a count or a ratio, never
// negative, and a boolean metric's mean is a share of runs, within 0..1.

import { isMeasured, LABEL_COLUMNS, numeric, type Row } from './columns.js';
import { describe, type Describe, type Range } from './stats.js';

export interface SummaryRow extends Describe {
  scenario: string;
  labels: Record<(typeof LABEL_COLUMNS)[number], string>;
  metric: string;
  kind: 'deterministic' | 'measured';
}

/** Group rows by their `scenario` column, keeping first-seen order. */
export function groupByScenario(rows: readonly Row[]): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = String(r['scenario']);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  return groups;
}

/** One row per scenario and metric; a metric with no value in a scenario (all null) is left out. */
export function summarize(rows: readonly Row[], metrics: readonly string[]): SummaryRow[] {
  const out: SummaryRow[] = [];
  for (const [scenario, group] of groupByScenario(rows)) {
    const first = group[0]!;
    const labels = Object.fromEntries(LABEL_COLUMNS.map((c) => [c, String(first[c] ?? '')])) as SummaryRow['labels'];
    for (const metric of metrics) {
      const values = group.map((r) => numeric(r[metric])).filter((v): v is number => v !== null);
      if (values.length === 0) continue;
      out.push({ scenario, labels, metric, kind: isMeasured(metric, group) ? 'measured' : 'deterministic', ...describe(values, rangeOf(metric, group)) });
    }
  }
  return out;
}

const NON_NEGATIVE: Range = { min: 0, max: Infinity };
const SHARE: Range = { min: 0, max: 1 };

/** The values a metric can take: a share of runs for a boolean column, otherwise [0, Infinity). */
export function rangeOf(metric: string, group: readonly Row[]): Range {
  return group.some((r) => typeof r[metric] === 'boolean') ? SHARE : NON_NEGATIVE;
}
