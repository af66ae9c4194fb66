// The Evacuations section of the bench's report.html, when the matrix has evacuations: the planner's
// question first, the makespan against the live-migration limit (max-live) for each network and
// transport (one chart per VM count, with the figures in a table), then a Gantt chart of each evacuation
// scenario's first run (each VM from start to end, and the links' utilisation). Figures are the median of
// the repeats; evacuations.csv holds every run.

import * as Plot from '@observablehq/plot';
import { median } from 'simple-statistics';
import type { BenchEvacuation } from '../bench/runner.js';
import { formatDuration } from '../units/index.js';
import { render, TRANSPORT_COLORS } from './charts.js';
import { escapeHtml as e } from './escape.js';
import { evacuationData } from './evacuation.js';
import { ganttChart } from './gantt.js';

interface Point {
  series: string;
  network: string;
  transport: string;
  vms: number;
  max_live: number;
  makespan_s: number;
  min_s: number;
  max_s: number;
  runs: number;
}

/** Median makespan of each evacuation scenario over its finished repeats, in expansion order. */
export function makespanPoints(evacuations: readonly BenchEvacuation[]): Point[] {
  const by = new Map<string, BenchEvacuation[]>();
  for (const x of [...evacuations].sort((a, b) => a.planned.index - b.planned.index)) {
    const k = x.planned.scenario.key;
    by.set(k, [...(by.get(k) ?? []), x]);
  }
  return [...by.values()].map((runs) => {
    const l = runs[0]!.planned.scenario.labels;
    const m = runs.map((r) => r.result.makespan_s);
    return { series: `${l.network} ${l.transport}`, network: l.network, transport: l.transport, vms: l.vms, max_live: l.max_live, makespan_s: median(m), min_s: Math.min(...m), max_s: Math.max(...m), runs: m.length };
  });
}

export function evacuationSection(evacuations: readonly BenchEvacuation[]): string {
  if (evacuations.length === 0) return '';
  const points = makespanPoints(evacuations);
  const parts: string[] = [];
  parts.push('<h2 id="evacuations">Evacuations</h2>');
  parts.push(
    `<p class="note">Whole drains of one host: every VM alike, many moving at once on shared links. Makespan (first VM started to last VM ended) against the live migrations allowed at once per host, per network and transport; the median of the repeats (evacuations.csv has every run, evacuation-vms.csv every VM).</p>`,
  );
  const counts = [...new Set(points.map((p) => p.vms))];
  counts.forEach((vms, ci) => {
    const mine = points.filter((p) => p.vms === vms);
    const series = [...new Set(mine.map((p) => p.series))];
    const lives = [...new Set(mine.map((p) => p.max_live))].sort((a, b) => a - b);
    const svg = render({
      width: 560,
      height: 260,
      marginLeft: 56,
      x: { type: 'point', domain: lives, label: 'live migrations at once per host (max-live)' },
      y: { label: 'makespan (s)', grid: true, zero: true },
      color: { domain: series, range: TRANSPORT_COLORS, legend: true },
      marks: [
        Plot.ruleX(mine, { x: 'max_live', y1: 'min_s', y2: 'max_s', stroke: 'series' }),
        Plot.line(mine, { x: 'max_live', y: 'makespan_s', stroke: 'series', z: 'series', strokeWidth: 2 }),
        Plot.dot(mine, { x: 'max_live', y: 'makespan_s', fill: 'series', r: 4, title: (p: Point) => `${p.series}, max-live ${p.max_live}: ${formatDuration(p.makespan_s)} (median of ${p.runs})` }),
        Plot.frame({ stroke: '#ddd' }),
      ],
    });
    parts.push(
      `<figure class="chart" id="evacuation-makespan--${ci}" data-chart="evacuation-makespan" data-kind="lines" data-marks="${series.length}" data-vms="${vms}"><figcaption>${vms} VM${vms === 1 ? '' : 's'}: makespan against max-live</figcaption>${svg}</figure>`,
    );
    const head = `<tr><th>network</th><th>transport</th>${lives.map((l) => `<th>max-live ${l}</th>`).join('')}</tr>`;
    const rows = series.map((s) => {
      const first = mine.find((p) => p.series === s)!;
      const cells = lives.map((l) => {
        const p = mine.find((x) => x.series === s && x.max_live === l);
        return `<td class="n">${p ? e(formatDuration(p.makespan_s)) : '-'}</td>`;
      });
      return `<tr><td>${e(first.network)}</td><td>${e(first.transport)}</td>${cells.join('')}</tr>`;
    });
    parts.push(`<table class="makespan" id="evacuation-makespan-table--${ci}">${head}${rows.join('')}</table>`);
  });

  parts.push(`<h3>Each evacuation scenario (its first run)</h3><p class="note">Each VM's migration from start to end, coloured by outcome; below, each link's utilisation over the same time axis.</p>`);
  const seen = new Set<string>();
  for (const x of [...evacuations].sort((a, b) => a.planned.index - b.planned.index)) {
    if (seen.has(x.planned.scenario.key)) continue;
    seen.add(x.planned.scenario.key);
    const g = ganttChart(evacuationData(x.result), x.planned.runId);
    parts.push(`<figure class="chart" id="evacuation--${seen.size - 1}" data-chart="evacuation" data-kind="gantt" data-marks="${g.bars}" data-scenario="${e(x.planned.scenario.key)}">${g.svg}</figure>`);
  }
  return parts.join('\n');
}
