// report.html: one self-contained page (inline CSS and SVG, no script, no external resource) with the
// bench's facts, its charts (charts.ts), the excluded combinations with their reasons and a table of
// the main metrics per scenario. Numbers in the page are for reading; the CSV files hold full precision.

import type { SummaryRow } from '../bench/aggregate.js';
import type { BenchRun } from '../bench/runner.js';
import { formatBytes, formatDuration } from '../units/index.js';
import { buildCharts, type Chart } from './charts.js';
import type { BenchMeta } from './meta.js';

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; } h3 { font-size: 15px; margin: 20px 0 4px; }
table { border-collapse: collapse; font-size: 12px; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.facts td:first-child { color: #666; }
figure.chart { margin: 8px 0 24px; }
.warn { color: #a40; }
`;

export interface HtmlInput {
  meta: BenchMeta;
  summary: readonly SummaryRow[];
  runs: readonly BenchRun[];
}

export function reportHtml({ meta, summary, runs }: HtmlInput): { html: string; charts: Chart[] } {
  const charts = buildCharts(summary, runs);
  const e = escapeHtml;
  const facts: [string, string][] = [
    ['matrix', `${meta.matrix.name} (${meta.matrix.file}), sha256 ${meta.matrix.sha256.slice(0, 16)}…`],
    ['seed, repeats', `${meta.matrix.seed}, ${meta.matrix.repeats}`],
    ['scenarios', `${meta.matrix.scenarios}${meta.shard ? ` of ${meta.matrix.scenarios_total} (shard ${meta.shard})` : ''}`],
    ['runs', `${meta.runs_finished} of ${meta.runs_planned}${meta.interrupted ? ' (interrupted)' : ''}`],
    ['wall time', `${meta.wall_s.toFixed(1)} s on ${meta.threads} thread${meta.threads === 1 ? '' : 's'}`],
    ['migbench', `${meta.migbench_version}, git ${meta.git_revision ?? 'unknown'}${meta.git_dirty ? ' (modified)' : ''}`],
    ['Node, machine', `${meta.node_version}, ${meta.machine.cpus} x ${meta.machine.cpu_model}, ${formatBytes(meta.machine.memory_bytes)}`],
    ['started', meta.started_at],
  ];
  const parts: string[] = [];
  parts.push(`<h1>migbench report: ${e(meta.matrix.name)}</h1>`);
  parts.push(`<table class="facts">${facts.map(([k, v]) => `<tr><td>${e(k)}</td><td>${e(v)}</td></tr>`).join('')}</table>`);
  for (const w of meta.warnings) parts.push(`<p class="warn">${e(w)}</p>`);

  const groups = [...new Set(charts.map((c) => c.id.split('--')[1]))];
  for (const gi of groups) {
    const inGroup = charts.filter((c) => c.id.endsWith(`--${gi}`));
    const g = inGroup[0]!.group;
    parts.push(`<h2>${e(g.mode)} migration, VM ${e(g.vm)}, policy ${e(g.policy)}</h2>`);
    for (const c of inGroup) {
      parts.push(
        `<figure class="chart" id="${e(c.id)}" data-chart="${e(c.id.split('--')[0]!)}" data-kind="${c.kind}" data-marks="${c.marks}" data-mode="${e(g.mode)}">${c.svg}</figure>`,
      );
    }
  }

  parts.push('<h2>Excluded combinations</h2>');
  if (meta.matrix.excluded.length === 0) parts.push('<p>None.</p>');
  else {
    parts.push('<table><tr><th>combinations</th><th>scenarios</th><th>reason</th></tr>');
    for (const x of meta.matrix.excluded) {
      const what = Object.entries(x.match)
        .map(([k, v]) => `${k} ${v.join(' | ')}`)
        .join(', ');
      parts.push(`<tr><td>${e(what)}</td><td class="n">${x.scenarios}</td><td>${e(x.reason)}</td></tr>`);
    }
    parts.push('</table>');
  }

  parts.push('<h2>Scenarios</h2><p>Mean of the repeats [95% confidence interval]; full statistics in summary.csv.</p>');
  parts.push(scenarioTable(summary));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>migbench report: ${e(meta.matrix.name)}</title><style>${CSS}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
  return { html, charts };
}

const COLUMNS: { metric: string; title: string; fmt: (v: number) => string }[] = [
  { metric: 'total_time_s', title: 'total time', fmt: (v) => formatDuration(v) },
  { metric: 'downtime_ms', title: 'downtime', fmt: (v) => formatDuration(v / 1000) },
  { metric: 'total_bytes_sent', title: 'data sent', fmt: (v) => formatBytes(v) },
  { metric: 'missed_pings', title: 'missed pings', fmt: (v) => Number(v.toPrecision(3)).toString() },
  { metric: 'converged', title: 'converged', fmt: (v) => `${Math.round(v * 100)}%` },
];

function scenarioTable(summary: readonly SummaryRow[]): string {
  const by = new Map<string, Map<string, SummaryRow>>();
  for (const s of summary) {
    const m = by.get(s.scenario) ?? new Map<string, SummaryRow>();
    m.set(s.metric, s);
    by.set(s.scenario, m);
  }
  const e = escapeHtml;
  const rows = [...by].map(([scenario, m]) => {
    const cells = COLUMNS.map((c) => {
      const s = m.get(c.metric);
      if (!s) return '<td></td>';
      const ci = s.ci95_low !== null && s.ci95_high !== null && c.metric !== 'converged' ? ` [${c.fmt(s.ci95_low)}, ${c.fmt(s.ci95_high)}]` : '';
      return `<td class="n">${e(c.fmt(s.mean) + ci)}</td>`;
    });
    return `<tr><td>${e(scenario)}</td>${cells.join('')}</tr>`;
  });
  return `<table><tr><th>scenario</th>${COLUMNS.map((c) => `<th>${c.title}</th>`).join('')}</tr>${rows.join('')}</table>`;
}
