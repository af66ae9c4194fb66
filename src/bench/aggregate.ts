// Per-scenario statistics of every metric (summary.csv): n, mean, median, p95, min, max, sample
// standard deviation and a 95% confidence interval of the mean (t distribution, n - 1 df).

import { isMeasured, LABEL_COLUMNS, numeric, type Row } from './columns.js';
import { describe, type Describe } from './stats.js';

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
      out.push({ scenario, labels, metric, kind: isMeasured(metric, group) ? 'measured' : 'deterministic', ...describe(values) });
    }
  }
  return out;
}
