// The nightly's history: one CSV that every night appends its figures to (long format: a row per night
// and metric), and a trend chart of it (history.html, one small chart per metric with its baseline and
// threshold). The nightly workflow keeps the CSV as an artifact that the next night downloads
// (docs/bench.md, "The nightly workflow").

import * as Plot from '@observablehq/plot';
import { parse } from 'csv-parse/sync';
import { InputError } from '../errors.js';
import { render } from './charts.js';
import { toCsv } from './csv.js';
import { escapeHtml } from './html.js';

/** One figure of one night. */
export interface HistoryRow {
  /** When the night's job ran (ISO 8601, UTC). */
  date: string;
  /** migbench's git revision the night built. */
  git_revision: string;
  /** The workflow run (GitHub's run id), or '' when run by hand. */
  run_id: string;
  /** `sim.cpu_ratio_change_pct`, `transport.ratio_vs_iperf3_4ch`, ... */
  metric: string;
  value: number | null;
  unit: string;
  /** The committed baseline value the metric is judged against (or empty). */
  baseline: number | null;
  /** The limit: a failure when the value is below it (`min`) or above it (`max`). */
  limit: number | null;
  limit_kind: 'min' | 'max' | '';
  /** `ok`, `fail` or `missing` (the figure could not be measured). */
  status: 'ok' | 'fail' | 'missing';
}

export const HISTORY_COLUMNS = ['date', 'git_revision', 'run_id', 'metric', 'value', 'unit', 'baseline', 'limit', 'limit_kind', 'status'] as const;

export function historyCsv(rows: readonly HistoryRow[]): string {
  return toCsv(HISTORY_COLUMNS, rows.map((r) => ({ ...r })));
}

const num = (s: string | undefined): number | null => (s === undefined || s === '' ? null : Number(s));

/** Read a history CSV (empty text: no rows). A file with other columns is refused, naming it. */
export function readHistory(text: string, source: string): HistoryRow[] {
  if (text.trim() === '') return [];
  const records = parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  const missing = HISTORY_COLUMNS.filter((c) => records.length > 0 && !(c in records[0]!));
  if (missing.length > 0) throw new InputError({ source, expected: `a history CSV with the columns ${HISTORY_COLUMNS.join(', ')}`, got: `no ${missing.join(', ')}` });
  return records.map((r) => ({
    date: r['date']!,
    git_revision: r['git_revision']!,
    run_id: r['run_id']!,
    metric: r['metric']!,
    value: num(r['value']),
    unit: r['unit']!,
    baseline: num(r['baseline']),
    limit: num(r['limit']),
    limit_kind: (r['limit_kind'] ?? '') as HistoryRow['limit_kind'],
    status: (r['status'] ?? 'ok') as HistoryRow['status'],
  }));
}

/** The history with a night's rows appended; a night already there (same run id and metric) is replaced. */
export function appendHistory(history: readonly HistoryRow[], night: readonly HistoryRow[]): HistoryRow[] {
  const key = (r: HistoryRow): string => `${r.run_id || r.date}\u0000${r.metric}`;
  const fresh = new Set(night.map(key));
  return [...history.filter((r) => !fresh.has(key(r))), ...night].sort((a, b) => a.date.localeCompare(b.date) || a.metric.localeCompare(b.metric));
}

/** history.html: one trend chart per metric (value per night, the baseline and the limit as lines). */
export function historyHtml(rows: readonly HistoryRow[], title = 'migbench nightly history'): { html: string; charts: number } {
  const metrics = [...new Set(rows.map((r) => r.metric))].sort();
  const parts: string[] = [];
  for (const m of metrics) {
    const mine = rows.filter((r) => r.metric === m && r.value !== null).map((r) => ({ ...r, when: new Date(r.date) }));
    if (mine.length === 0) continue;
    const last = mine[mine.length - 1]!;
    const marks: Plot.Markish[] = [
      Plot.line(mine, { x: 'when', y: 'value', stroke: '#4269d0' }),
      Plot.dot(mine, { x: 'when', y: 'value', fill: (r: HistoryRow) => (r.status === 'fail' ? '#b00020' : '#4269d0'), r: 3, title: (r: HistoryRow) => `${r.date} ${r.git_revision.slice(0, 10)}: ${r.value} ${r.unit} (${r.status})` }),
      Plot.frame({ stroke: '#ddd' }),
    ];
    if (last.baseline !== null) marks.push(Plot.ruleY([last.baseline], { stroke: '#3ca951', strokeDasharray: '4,3' }));
    if (last.limit !== null) marks.push(Plot.ruleY([last.limit], { stroke: '#b00020', strokeDasharray: '6,3' }));
    const svg = render({ width: 460, height: 200, marginLeft: 56, x: { type: 'utc', label: null }, y: { label: last.unit, grid: true, zero: false, nice: true }, marks });
    const lim = last.limit === null ? '' : `, ${last.limit_kind} ${last.limit}`;
    parts.push(
      `<figure class="chart" data-metric="${escapeHtml(m)}" data-marks="${mine.length}"><figcaption>${escapeHtml(m)}: ${escapeHtml(String(last.value))} ${escapeHtml(last.unit)} (baseline ${last.baseline ?? '-'}${escapeHtml(lim)}; ${last.status})</figcaption>${svg}</figure>`,
    );
  }
  const nights = new Set(rows.map((r) => r.run_id || r.date)).size;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; } .charts { display: flex; flex-wrap: wrap; gap: 8px 20px; }
figcaption { font-size: 13px; font-weight: 600; } .note { color: #555; font-size: 12px; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="note">${nights} night${nights === 1 ? '' : 's'}, ${parts.length} metrics. Blue: the nightly value (red dots: a failed threshold); dashed green: the baseline; dashed red: the limit. Data: history.csv.</p>
<div class="charts">${parts.join('\n')}</div>
</body></html>
`;
  return { html, charts: parts.length };
}
