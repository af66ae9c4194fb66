// What `migbench compare` prints: a text table for a person, Markdown for a CI job summary
// ($GITHUB_STEP_SUMMARY) or JSON for a program. Every value carries its unit ("6.78 s", "412 MiB",
// "75% of runs"); a regression names its scenario, metric, old and new value, change and p-value.

import { ALL_SCENARIOS, type Comparison, type CompareRow, type Verdict } from '../bench/compare.js';
import { discreteStep } from '../bench/columns.js';
import { formatBytes, formatDuration, formatRate } from '../units/index.js';
import { table } from './table.js';

export interface CompareContext {
  base: string;
  current: string;
  threshold: number;
  overallThreshold: number;
  alpha: number;
  correction: 'holm' | 'none';
  /** Things to say (shards, partial comparisons allowed, metrics not judged and why). */
  notes: string[];
  /** Every row, not only the ones that moved. */
  all: boolean;
  /** Where compare.csv went (empty: not written). */
  out: string;
}

/** Rows shown in text and Markdown before "... and N more (compare.csv)". */
export const SHOWN_ROWS = 50;

const BOOLEAN = new Set(['converged', 'memory_verified', 'verified', 'invariants_ok', 'cleanup_pending']);
const COUNT = /(^|_)(pings|rounds|writes|lost|left|removed|dropped|applied|count)(_|$)|^pings_sent$|^precopy_rounds$/;

/** The unit of a metric, from its name (docs/csv.md). */
export function unitOf(metric: string): string {
  if (BOOLEAN.has(metric)) return 'share of runs';
  if (metric === 'harness_wall_ratio') return 'ratio to the reference workload';
  if (/_s$/.test(metric)) return 's';
  if (/_ms$/.test(metric)) return 'ms';
  if (/_bps$/.test(metric)) return 'bit/s';
  if (/_bytes$|(^|_)bytes(_|$)/.test(metric)) return 'bytes';
  if (/(^|_)pages(_|$)/.test(metric)) return 'pages';
  if (COUNT.test(metric)) return 'count';
  return '';
}

const sig = (v: number, d = 3): string => Number(v.toPrecision(d)).toString();

/** A metric's value for a person, with its unit. */
export function formatValue(metric: string, v: number | null): string {
  if (v === null) return '';
  switch (unitOf(metric)) {
    case 'share of runs':
      return `${sig(v * 100)}% of runs`;
    case 'ratio to the reference workload':
      return `${sig(v)} x ref`;
    case 's':
      return formatDuration(v);
    case 'ms':
      return formatDuration(v / 1000);
    case 'bit/s':
      return formatRate(v / 8);
    case 'bytes':
      return formatBytes(v);
    case 'pages':
      return `${sig(v, 4)} pages`;
    default:
      return sig(v, 4);
  }
}

const pct = (f: number): string => `${sig(f * 100, 4)}%`;
const change = (r: CompareRow): string => (r.change_pct === null ? (r.base_mean === 0 && r.current_mean !== null && r.current_mean !== 0 ? 'from 0' : '') : `${r.change_pct >= 0 ? '+' : ''}${r.change_pct.toFixed(2)}%`);
const pValue = (r: CompareRow): string => (r.p_adjusted !== null ? r.p_adjusted.toPrecision(2) : r.kind === 'deterministic' ? 'n/a' : '');
const ORDER: Verdict[] = ['worse', 'better', 'changed', 'not_compared', 'only_base', 'only_current', 'same'];

function shownRows(cmp: Comparison, all: boolean): CompareRow[] {
  const rows = all ? cmp.rows : cmp.rows.filter((r) => r.verdict === 'worse' || r.verdict === 'better' || r.verdict === 'changed' || (r.verdict === 'not_compared' && r.scenario === ALL_SCENARIOS));
  return [...rows].sort((a, b) => ORDER.indexOf(a.verdict) - ORDER.indexOf(b.verdict));
}

function countsLine(cmp: Comparison): string {
  const c = cmp.counts;
  const extra = (['changed', 'only_base', 'only_current', 'not_compared'] as const).filter((k) => c[k] > 0).map((k) => `, ${c[k]} ${k.replace('_', ' ')}`);
  return `${c.worse} worse, ${c.better} better, ${c.same} same${extra.join('')}`;
}

function rules(ctx: CompareContext): string {
  return `threshold ${pct(ctx.threshold)}; discrete metrics by whole steps; measured metrics at p < ${ctx.alpha}${ctx.correction === 'holm' ? ' (Holm-adjusted)' : ''}, all scenarios together ${pct(ctx.overallThreshold)}`;
}

export function textReport(cmp: Comparison, ctx: CompareContext): string {
  const lines: string[] = [];
  lines.push(`comparing ${ctx.current} with ${ctx.base} (${rules(ctx)})`);
  lines.push(`${cmp.matched} runs matched by run_id${cmp.onlyBase || cmp.onlyCurrent ? `; ${cmp.onlyBase} only in BASE, ${cmp.onlyCurrent} only in CURRENT` : ''}; metrics: ${cmp.metrics.join(', ')}`);
  for (const n of ctx.notes) lines.push(`note: ${n}`);
  const shown = shownRows(cmp, ctx.all);
  if (shown.length > 0) {
    lines.push('');
    lines.push(table(['verdict', 'scenario', 'metric', 'old', 'new', 'change', 'p'], shown.slice(0, ctx.all ? shown.length : SHOWN_ROWS).map((r) => [r.verdict, r.scenario, r.metric || '-', formatValue(r.metric, r.base_mean), formatValue(r.metric, r.current_mean), change(r), pValue(r)])).trimEnd());
    if (!ctx.all && shown.length > SHOWN_ROWS) lines.push(`  ... and ${shown.length - SHOWN_ROWS} more rows in compare.csv`);
    lines.push('  (p: Holm-adjusted p-value of the t-test, measured metrics only; n/a for deterministic metrics)');
  }
  lines.push('');
  lines.push(`${countsLine(cmp)}${ctx.out ? `; wrote ${ctx.out}` : ''}`);
  return lines.join('\n') + '\n';
}

const md = (s: string): string => s.replace(/([|\\`*_[\]<>])/g, '\\$1').replace(/\n/g, ' ');

function mdTable(rows: readonly CompareRow[]): string {
  const head = '| scenario | metric | old | new | change | p-value |\n|---|---|---:|---:|---:|---:|\n';
  return head + rows.map((r) => `| ${md(r.scenario)} | \`${(r.metric || '-').replace(/`/g, '')}\` | ${md(formatValue(r.metric, r.base_mean))} | ${md(formatValue(r.metric, r.current_mean))} | ${change(r)} | ${pValue(r)} |`).join('\n') + '\n';
}

export function markdownReport(cmp: Comparison, ctx: CompareContext): string {
  const out: string[] = [];
  const worse = cmp.rows.filter((r) => r.verdict === 'worse');
  const head = cmp.regression ? `❌ ${worse.length} regression${worse.length === 1 ? '' : 's'}` : '✅ no regression';
  out.push(`### migbench compare: ${head}\n`);
  out.push(`\`${md(ctx.current)}\` against \`${md(ctx.base)}\`: ${cmp.matched} runs matched by run_id; ${rules(ctx)}.\n`);
  for (const n of ctx.notes) out.push(`> ${md(n)}\n`);
  const section = (title: string, rows: CompareRow[], open: boolean): void => {
    if (rows.length === 0) return;
    const body = mdTable(rows.slice(0, SHOWN_ROWS)) + (rows.length > SHOWN_ROWS ? `\n... and ${rows.length - SHOWN_ROWS} more in compare.csv\n` : '');
    out.push(open ? `#### ${title}\n\n${body}` : `<details><summary>${title}</summary>\n\n${body}\n</details>\n`);
  };
  section(`Worse (${worse.length})`, worse, true);
  section(`Better (${cmp.counts.better})`, cmp.rows.filter((r) => r.verdict === 'better'), false);
  section(`Changed, neutral metrics (${cmp.counts.changed})`, cmp.rows.filter((r) => r.verdict === 'changed'), false);
  const overall = cmp.rows.filter((r) => r.scenario === ALL_SCENARIOS);
  section(`All scenarios together (${overall.length})`, overall, !cmp.regression);
  out.push(`${countsLine(cmp)}.${ctx.out ? ` Every row: \`${md(ctx.out)}\`.` : ''}\n`);
  return out.join('\n');
}

export interface JsonRow {
  scenario: string;
  metric: string;
  unit: string;
  kind: string;
  verdict: Verdict;
  old: number | null;
  new: number | null;
  old_text: string;
  new_text: string;
  change_pct: number | null;
  p_value: number | null;
  p_adjusted: number | null;
  differs: boolean | null;
  base_n: number;
  current_n: number;
  discrete_step: number | null;
  note?: string;
}

export function jsonReport(cmp: Comparison, ctx: CompareContext): Record<string, unknown> {
  const row = (r: CompareRow): JsonRow => ({
    scenario: r.scenario,
    metric: r.metric,
    unit: unitOf(r.metric),
    kind: r.kind,
    verdict: r.verdict,
    old: r.base_mean,
    new: r.current_mean,
    old_text: formatValue(r.metric, r.base_mean),
    new_text: formatValue(r.metric, r.current_mean),
    change_pct: r.change_pct,
    p_value: r.p_value,
    p_adjusted: r.p_adjusted,
    differs: r.differs,
    base_n: r.base_n,
    current_n: r.current_n,
    discrete_step: discreteStep(r.metric),
    ...(r.note ? { note: r.note } : {}),
  });
  return {
    base: ctx.base,
    current: ctx.current,
    refused: false,
    regression: cmp.regression,
    rules: { threshold: ctx.threshold, overall_threshold: ctx.overallThreshold, alpha: ctx.alpha, correction: ctx.correction },
    matched_runs: cmp.matched,
    runs_only_base: cmp.onlyBase,
    runs_only_current: cmp.onlyCurrent,
    metrics: cmp.metrics,
    counts: cmp.counts,
    notes: ctx.notes,
    compare_csv: ctx.out || null,
    regressions: cmp.rows.filter((r) => r.verdict === 'worse').map(row),
    /** The all-scenarios rows of the measured metrics (wall and CPU time), whatever their verdict. */
    overall: cmp.rows.filter((r) => r.scenario === ALL_SCENARIOS).map(row),
    rows: (ctx.all ? cmp.rows : cmp.rows.filter((r) => r.verdict !== 'same' || r.scenario === ALL_SCENARIOS)).map(row),
  };
}

/** A refusal (exit 2) in the chosen format, for stdout; the reason also goes to stderr. */
export function refusal(format: 'text' | 'markdown' | 'json', reason: string, ctx: Pick<CompareContext, 'base' | 'current'>): string {
  if (format === 'json') return JSON.stringify({ base: ctx.base, current: ctx.current, refused: true, regression: null, reason }, null, 2) + '\n';
  if (format === 'markdown') return `### migbench compare: ⛔ not compared\n\n\`${md(ctx.current)}\` against \`${md(ctx.base)}\`: ${md(reason)}\n`;
  return '';
}
