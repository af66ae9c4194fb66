// report.html: one self-contained page (inline CSS and SVG, no script, no external resource). First an
// overview a person can read at a glance (per network the best transport, its total time and downtime
// per workload, the downtime target, non-converged scenarios flagged), then the detail per mode, VM and
// policy (charts with a scale per workload, folded after the first group), the evacuations when the
// matrix has them (evacuation-section.ts), the excluded combinations and a table of every scenario. Every
// figure is the median of the repeats, the statistic the CLI table shows, with the runs' range. Numbers in
// the page are for reading; the CSV files hold the data.

import type { SummaryRow } from '../bench/aggregate.js';
import type { BenchEvacuation, BenchRun } from '../bench/runner.js';
import { formatBytes, formatDuration } from '../units/index.js';
import { BAR_CHARTS, buildCharts, domainsOf, DOWNTIME_TARGET_MS, groupsOf, legend, type Chart } from './charts.js';
import { escapeHtml } from './escape.js';
import { evacuationSection } from './evacuation-section.js';
import type { BenchMeta } from './meta.js';
import { notConvergedIn, overviewRows } from './overview.js';

export { escapeHtml };

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; } h3 { font-size: 15px; margin: 20px 0 4px; }
table { border-collapse: collapse; font-size: 12px; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.facts td:first-child { color: #666; }
.overview td.best { font-weight: 600; }
.over { color: #b00020; font-weight: 600; }
.nc { color: #b00020; font-weight: 600; white-space: nowrap; }
p.nclist { color: #b00020; }
.panels { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: flex-start; }
figure.chart { margin: 4px 0 12px; }
figure.chart figcaption, .gantt-caption { font-size: 13px; font-weight: 600; color: #333; margin: 2px 0; }
details.group > summary { font-size: 17px; font-weight: 600; margin: 24px 0 8px; cursor: pointer; border-bottom: 1px solid #ccc; }
.warn { color: #a40; }
.note { color: #555; font-size: 12px; }
`;

export interface HtmlInput {
  meta: BenchMeta;
  summary: readonly SummaryRow[];
  runs: readonly BenchRun[];
  /** The bench's evacuation runs (none: no Evacuations section). */
  evacuations?: readonly BenchEvacuation[];
}

const e = escapeHtml;
const ms = (v: number): string => (Number.isFinite(v) ? formatDuration(v / 1000) : '-');

export function reportHtml({ meta, summary, runs, evacuations = [] }: HtmlInput): { html: string; charts: Chart[] } {
  const charts = buildCharts(summary, runs);
  const groups = groupsOf(summary);
  const d = domainsOf(summary);
  const parts: string[] = [];
  parts.push(`<h1>migbench report: ${e(meta.matrix.name)}</h1>`);
  parts.push(facts(meta));
  for (const w of meta.warnings) parts.push(`<p class="warn">${e(w)}</p>`);

  // A matrix of evacuations only has no single-migration scenario to show.
  const onlyEvacuations = meta.matrix.scenarios_total === 0;
  // Overview
  if (!onlyEvacuations) {
    parts.push('<h2 id="overview">Overview</h2>');
    parts.push(
      `<p class="note">For each network, the transport with the shortest median total time over the workloads (geometric mean), and its median total time / downtime per workload. Downtime above the ${DOWNTIME_TARGET_MS} ms target is <span class="over">red</span>; <span class="nc">✕ not converged</span> marks scenarios where some run did not converge (pre-copy forced, throttled or aborted).</p>`,
    );
  }
  groups.forEach((g, gi) => {
    parts.push(`<h3>${e(g.mode)} migration, VM ${e(g.vm)}, policy ${e(g.policy)}</h3>`);
    const rows = overviewRows(summary, g);
    const workloads = rows[0]?.cells.map((c) => c.workload) ?? [];
    parts.push(`<table class="overview" id="overview--${gi}"><tr><th>network</th><th>best transport</th>${workloads.map((w) => `<th>${e(w)}: total / downtime</th>`).join('')}</tr>`);
    for (const r of rows) {
      const cells = r.cells.map((c) => {
        const down = `<span class="${c.downtime_ms > DOWNTIME_TARGET_MS ? 'over' : ''}">${e(ms(c.downtime_ms))}</span>`;
        const nc = c.notConverged ? ` <span class="nc" data-not-converged="${c.notConverged.runs}">✕ not converged (${c.notConverged.runs} of ${c.notConverged.of} runs)</span>` : '';
        return `<td class="n">${e(formatDuration(c.total_s))} / ${down}${nc}</td>`;
      });
      parts.push(`<tr><td>${e(r.network)}</td><td class="best">${e(r.best)}</td>${cells.join('')}</tr>`);
    }
    parts.push('</table>');
    const failing = notConvergedIn(summary, g);
    if (failing.length > 0) {
      parts.push(`<p class="nclist">Did not converge in some run (${failing.length} scenario${failing.length === 1 ? '' : 's'}, any transport): ${failing.map((f) => `${e(`${f.network}/${f.transport}/${f.workload}`)} (${f.runs} of ${f.of})`).join(', ')}</p>`);
    }
  });

  // Detail
  if (!onlyEvacuations) {
    parts.push('<h2 id="detail">Detail</h2>');
    parts.push(
      `<p class="note">Bars: the median of the repeats; black rule: the runs' range (min to max); red ✕: some run did not converge; dashed red line: the ${DOWNTIME_TARGET_MS} ms downtime target. Each workload has its own scale. Colours: transports.</p>${legend(d.transports)}`,
    );
  }
  groups.forEach((g, gi) => {
    parts.push(`<details class="group" id="group--${gi}"${gi === 0 ? ' open' : ''}><summary>${e(g.mode)} migration, VM ${e(g.vm)}, policy ${e(g.policy)}</summary>`);
    for (const spec of BAR_CHARTS) {
      const mine = charts.filter((c) => c.metric === spec.metric && c.id.startsWith(`${spec.metric}--${gi}--`));
      if (mine.length === 0) continue;
      parts.push(`<h3>${e(spec.title)} (${e(spec.unit)})</h3><div class="panels">`);
      for (const c of mine) parts.push(figure(c, g.mode));
      parts.push('</div>');
    }
    for (const c of charts.filter((c) => c.kind === 'lines' && c.id === `dirty_pages--${gi}`)) parts.push(`<h3>${e(c.title)}</h3>${figure(c, g.mode)}`);
    parts.push('</details>');
  });

  parts.push(evacuationSection(evacuations));
  if (!onlyEvacuations) {
    parts.push(excluded(meta));
    parts.push(`<h2 id="scenarios">Scenarios</h2><p class="note">Median of the repeats [min, max]; full statistics in summary.csv.</p>`);
    parts.push(scenarioTable(summary));
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>migbench report: ${e(meta.matrix.name)}</title><style>${CSS}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
  return { html, charts };
}

function figure(c: Chart, mode: string): string {
  const caption = c.kind === 'bars' ? `<figcaption>${e(c.workload)}</figcaption>` : '';
  return `<figure class="chart" id="${e(c.id)}" data-chart="${e(c.metric)}" data-kind="${c.kind}" data-marks="${c.marks}" data-mode="${e(mode)}" data-workload="${e(c.workload)}">${caption}${c.svg}</figure>`;
}

function facts(meta: BenchMeta): string {
  const rows: [string, string][] = [
    ['matrix', `${meta.matrix.name} (${meta.matrix.file}), sha256 ${meta.matrix.sha256.slice(0, 16)}…`],
    ['seed, repeats', `${meta.matrix.seed}, ${meta.matrix.repeats}`],
    ...(meta.matrix.scenarios_total > 0
      ? ([
          ['scenarios', `${meta.matrix.scenarios}${meta.shard ? ` of ${meta.matrix.scenarios_total} (shard ${meta.shard})` : ''}`],
          ['runs', `${meta.runs_finished} of ${meta.runs_planned}${meta.interrupted ? ' (interrupted)' : ''}`],
        ] as [string, string][])
      : []),
    ...(meta.evacuations ? [['evacuations', `${meta.evacuations.runs_finished} of ${meta.evacuations.runs_planned} (${meta.evacuations.scenarios} scenarios${meta.shard ? ` of ${meta.evacuations.scenarios_total} (shard ${meta.shard})` : ''} x ${meta.evacuations.repeats} repeats)${meta.interrupted ? ' (interrupted)' : ''}`] as [string, string]] : []),
    ['wall time', `${meta.wall_s.toFixed(1)} s on ${meta.threads} thread${meta.threads === 1 ? '' : 's'}${meta.reference_workload ? `; reference workload ${meta.reference_workload.median_ms.toFixed(1)} ms (median of ${meta.reference_workload.samples_ms.length})` : ''}`],
    ['migbench', `${meta.migbench_version}, git ${meta.git_revision ?? 'unknown'}${meta.git_dirty ? ' (modified)' : ''}`],
    ['Node, machine', `${meta.node_version}, ${meta.machine.cpus} x ${meta.machine.cpu_model}, ${formatBytes(meta.machine.memory_bytes)}`],
    ['started', meta.started_at],
  ];
  return `<table class="facts">${rows.map(([k, v]) => `<tr><td>${e(k)}</td><td>${e(v)}</td></tr>`).join('')}</table>`;
}

function excluded(meta: BenchMeta): string {
  if (meta.matrix.excluded.length === 0) return '<h2>Excluded combinations</h2><p>None.</p>';
  const rows = meta.matrix.excluded.map((x) => {
    const what = Object.entries(x.match)
      .map(([k, v]) => `${k} ${v.join(' | ')}`)
      .join(', ');
    return `<tr><td>${e(what)}</td><td class="n">${x.scenarios}</td><td>${e(x.reason)}</td></tr>`;
  });
  return `<h2>Excluded combinations</h2><table><tr><th>combinations</th><th>scenarios</th><th>reason</th></tr>${rows.join('')}</table>`;
}

const COLUMNS: { metric: string; title: string; fmt: (v: number) => string }[] = [
  { metric: 'total_time_s', title: 'total time', fmt: (v) => formatDuration(v) },
  { metric: 'downtime_ms', title: 'downtime', fmt: (v) => formatDuration(v / 1000) },
  { metric: 'total_bytes_sent', title: 'data sent', fmt: (v) => formatBytes(v) },
  { metric: 'missed_pings', title: 'missed pings', fmt: (v) => Number(v.toPrecision(3)).toString() },
];

function scenarioTable(summary: readonly SummaryRow[]): string {
  const by = new Map<string, Map<string, SummaryRow>>();
  for (const s of summary) {
    const m = by.get(s.scenario) ?? new Map<string, SummaryRow>();
    m.set(s.metric, s);
    by.set(s.scenario, m);
  }
  const rows = [...by].map(([scenario, m]) => {
    const cells = COLUMNS.map((c) => {
      const s = m.get(c.metric);
      if (!s) return '<td></td>';
      const range = s.n > 1 && s.min !== s.max ? ` [${c.fmt(s.min)}, ${c.fmt(s.max)}]` : '';
      return `<td class="n">${e(c.fmt(s.median) + range)}</td>`;
    });
    const conv = m.get('converged');
    const converged = conv ? (conv.mean < 1 ? `<td class="nc">✕ ${Math.round((1 - conv.mean) * conv.n)} of ${conv.n} runs not</td>` : '<td>all runs</td>') : '<td></td>';
    return `<tr><td>${e(scenario)}</td>${cells.join('')}${converged}</tr>`;
  });
  return `<table><tr><th>scenario</th>${COLUMNS.map((c) => `<th>${c.title}</th>`).join('')}<th>converged</th></tr>${rows.join('')}</table>`;
}
